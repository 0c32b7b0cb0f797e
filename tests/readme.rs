//! The README's two commands work on a minimal Debian 12 as root (no `sudo` there) and as a
//! user, and CI (`.ci/run`) installs the packages the README's test command installs and runs
//! the same test command.

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// The lines of the README's ```sh blocks.
fn shell_lines(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            inside = line == "```sh" && !inside;
            continue;
        }
        if inside {
            out.push(line.trim().to_string());
        }
    }
    out
}

/// The README's test command: the line of the "Test:" block, as (packages, cargo command).
fn readme_test_command() -> (Vec<String>, String) {
    let readme = read("README.md");
    let lines = shell_lines(&readme);
    let line = lines
        .iter()
        .find(|l| l.contains("apt-get install") && l.contains("cargo test"))
        .expect("a test command in the README");
    let (install, cargo) = line.split_once(" && ").unwrap();
    let packages = install
        .split_whitespace()
        .skip_while(|w| *w != "install")
        .skip(1)
        .filter(|w| !w.starts_with('-'))
        .map(String::from)
        .collect();
    (packages, cargo.trim().to_string())
}

#[test]
fn no_readme_command_needs_sudo_to_exist() {
    for line in shell_lines(&read("README.md")) {
        assert!(
            !line.starts_with("sudo ") && !line.contains("&& sudo "),
            "fails as root where sudo is not installed: {line}"
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let (packages, cargo) = readme_test_command();
    assert_eq!(cargo, "cargo test --locked");
    let ci = read(".ci/run");
    // The same command, alone on its line.
    assert!(
        ci.lines().any(|l| l.trim() == cargo),
        ".ci/run does not run `{cargo}`"
    );
    // The same packages.
    let install: String = {
        let start = ci.find("apt-get install").unwrap();
        let rest = &ci[start..];
        let end = rest.find(">/dev/null").unwrap_or(rest.len());
        rest[..end].replace('\\', " ")
    };
    let ci_packages: Vec<&str> = install
        .split_whitespace()
        .skip(2)
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(ci_packages, packages);
}
