//! The Kubernetes API stand-in is test equipment; its own unittest suite (real HTTPS,
//! token checks against botocore, patch semantics, 409s, Status bodies) runs with the
//! scaler's tests so a broken stand-in cannot make the scaler's tests pass.

use test_support::kubernetes_stack as common;

use common::support;

#[test]
fn standin_unittests_pass() -> Result<(), String> {
    let root = support::workspace_root();
    let out = std::process::Command::new(support::venv_python())
        .args(["-m", "unittest", "discover", "-s"])
        .arg(root.join("tests/k8s_standin"))
        .arg("-v")
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run the stand-in's unittests: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stand-in unittests failed:\n{stderr}");
    // unittest reports "Ran N tests"; the suite has dozens.
    let ran = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(0);
    assert!(ran >= 40, "only {ran} stand-in tests ran:\n{stderr}");
    Ok(())
}
