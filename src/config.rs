//! Configuration file (TOML). Every option also has a command-line flag; the file is for what a
//! tap host keeps: pinned templates, limits.
//!
//! ```toml
//! # Templates that win over learning. `host` is optional (every host when absent).
//! [[templates]]
//! host = "api.example.com"
//! path = "/users/{user_id}/avatar"
//!
//! # Call-sequence analysis (every key optional; defaults shown).
//! [sequences]
//! session_gap_secs = 1800   # silence that ends a principal's session
//! baseline_secs = 3600      # packet time per host that only builds the baseline
//! max_principals = 100000   # principals tracked at once (least recently active evicted)
//!
//! # Observed host names that stand for an API description's server host (the sensor often
//! # sees internal names): observed = "spec host".
//! [spec.hosts]
//! "orders.svc.cluster.local:8080" = "api.example.com"
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

/// The `[sequences]` section: call-sequence analysis.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SequencesSection {
    /// A principal silent this long starts a new session (seconds).
    pub session_gap_secs: Option<i64>,
    /// Packet time, from a host's first call, during which its traffic only builds the
    /// baseline of `novel_transition` (seconds).
    pub baseline_secs: Option<i64>,
    /// Principals tracked at once.
    pub max_principals: Option<usize>,
}

impl SequencesSection {
    /// Applies the options that are set.
    pub fn apply(&self, cfg: &mut crate::analyze::sequence::SequenceConfig) {
        if let Some(v) = self.session_gap_secs {
            cfg.session_gap_secs = v.max(1);
        }
        if let Some(v) = self.baseline_secs {
            cfg.baseline_secs = v.max(0);
        }
        if let Some(v) = self.max_principals {
            cfg.max_principals = v.max(1);
        }
    }
}

/// The `[spec]` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SpecSection {
    /// Observed host -> the host of a spec's `servers` it stands for.
    #[serde(default)]
    pub hosts: std::collections::BTreeMap<String, String>,
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Pinned templates.
    #[serde(default)]
    pub templates: Vec<PinnedTemplate>,
    /// Call-sequence analysis.
    #[serde(default)]
    pub sequences: SequencesSection,
    /// Matching observed hosts to imported API descriptions.
    #[serde(default)]
    pub spec: SpecSection,
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
        let c: Config = toml::from_str(
            "[sequences]\nbaseline_secs = 19\n[spec.hosts]\n\"api.internal:8080\" = \"api.example.com\"\n",
        )
        .unwrap();
        assert_eq!(c.sequences.baseline_secs, Some(19));
        assert_eq!(c.spec.hosts["api.internal:8080"], "api.example.com");
        assert!(toml::from_str::<Config>("[sequences]\nbaseline = 19\n").is_err());
    }
}
