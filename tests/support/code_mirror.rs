//! Real applications as route fixtures (tests/fixtures/code/<dir>/), shared by tests/code.rs
//! and tests/code_compiled.rs. Each fixture holds its `SOURCE.md` (repository, commit,
//! licence, language and the files used) and the routes written by hand from that code
//! (`routes.expected.tsv`). The upstream files are not committed: they are read, at the
//! commit named, from a local mirror of the repository (`SHADOWTAP_CODE_MIRROR`, default
//! `/work/.mirror`), and a fixture whose mirror is absent is skipped by its test.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One real application.
pub struct Fixture {
    /// Its directory under tests/fixtures/code.
    pub dir: PathBuf,
    /// `owner/name` on GitHub.
    pub repo: String,
    /// The commit its files are read at.
    pub commit: String,
    /// The language of its scanner (`go`, `java`, `python`, `javascript`, ...).
    pub language: String,
    /// Its files, relative to the repository.
    pub files: Vec<String>,
}

/// Every fixture, by directory name.
pub fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/code");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("SOURCE.md").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let text = std::fs::read_to_string(dir.join("SOURCE.md")).unwrap();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("- {key}: ")))
                .unwrap_or_else(|| panic!("{}: no {key}", dir.display()))
                .trim()
                .to_string()
        };
        let (repo, commit, language) = (field("repo"), field("commit"), field("language"));
        let files = text
            .split("## Files")
            .nth(1)
            .unwrap_or("")
            .lines()
            .filter_map(|l| l.strip_prefix("- "))
            .map(|l| l.trim().to_string())
            .collect();
        out.push(Fixture {
            dir,
            repo,
            commit,
            language,
            files,
        });
    }
    out
}

/// The upstream files of a fixture, from the mirror, written under a temporary directory
/// with their relative paths; `None` when the mirror does not have the repository.
pub fn materialise(f: &Fixture) -> Option<tempfile::TempDir> {
    let mirror = std::env::var_os("SHADOWTAP_CODE_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/.mirror"));
    let base = mirror.join(f.repo.replace('/', "+")).join("repo");
    let git_dir = [base.join(".git"), base.clone()]
        .into_iter()
        .find(|d| d.join("HEAD").is_file())?;
    let dir = tempfile::tempdir().unwrap();
    for path in &f.files {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&git_dir)
            .arg("show")
            .arg(format!("{}:{path}", f.commit))
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, out.stdout).unwrap();
    }
    Some(dir)
}

/// The fixture in directory `name`.
pub fn fixture(name: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.dir.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("no fixture {name}"))
}
