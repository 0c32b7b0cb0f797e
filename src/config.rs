//! Configuration file (TOML). Every option also has a command-line flag; the file is for what a
//! tap host keeps: pinned templates, limits.
//!
//! ```toml
//! # Templates that win over learning. `host` is optional (every host when absent).
//! [[templates]]
//! host = "api.example.com"
//! path = "/users/{user_id}/avatar"
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A pinned template.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PinnedTemplate {
    /// Only for this host (all hosts when absent).
    pub host: Option<String>,
    /// The template, with `{name}` parameters.
    pub path: String,
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Pinned templates.
    #[serde(default)]
    pub templates: Vec<PinnedTemplate>,
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// It is not valid TOML or has unknown keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error.
        source: toml::de::Error,
    },
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pins_and_refuses_unknown_keys() {
        let c: Config = toml::from_str(
            "[[templates]]\nhost = \"a\"\npath = \"/x/{id}\"\n[[templates]]\npath = \"/y\"\n",
        )
        .unwrap();
        assert_eq!(c.templates.len(), 2);
        assert_eq!(c.templates[1].host, None);
        assert!(toml::from_str::<Config>("[[templates]]\npaht = \"/x\"\n").is_err());
    }
}
