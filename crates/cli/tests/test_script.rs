//! `scripts/test`, the one test command of the README and of CI: a program the
//! tests need that is missing stops it, named with what to install; it is never
//! skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_missing_test_program_stops_the_test_command_with_its_name() {
    // A PATH with the shell tools the script uses and cargo, and none of the
    // programs the tests need.
    let dir = std::env::temp_dir().join(format!("ast-locks-test-script-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for tool in ["bash", "sort", "sed", "id", "env", "dirname", "cargo"] {
        let found = Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .expect("bash");
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        assert!(!path.is_empty(), "{tool} is needed to run this test");
        std::os::unix::fs::symlink(&path, dir.join(tool)).expect("symlink");
    }
    let out = Command::new(dir.join("bash"))
        .arg(root().join("scripts/test"))
        .arg("--no-install")
        .env_clear()
        .env("PATH", &dir)
        .env("CHROMIUM", dir.join("no-chromium"))
        .output()
        .expect("script runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for (program, package) in [
        ("dot", "graphviz"),
        ("gdb", "gdb"),
        ("cc", "gcc"),
        ("chromium", "chromium"),
        ("node", "nodejs"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(&format!("  {program} — "))
                && l.contains(&format!("apt-get install {package}"))),
            "{program} not named:\n{err}"
        );
    }
    assert!(
        !err.contains("Rust tests"),
        "it went on to the tests:\n{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
