//! What a benchmark measures of a release binary it runs: the child's own CPU time and
//! peak RSS, read with wait4(2) as it exits (not the harness's, which also serves the
//! child's exporters and receivers), and whether it succeeded.

use std::path::PathBuf;
use std::process::Child;
use std::time::Instant;

/// A finished child's figures.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// Peak resident set size.
    pub peak_rss_bytes: u64,
    /// From `started` to exit.
    pub wall_seconds: f64,
    /// Exited with status 0.
    pub success: bool,
}

/// Waits for `child` (started at `started`) and reads its usage. wait4 also reaps the
/// child, which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn wait_with_usage(child: Child, started: Instant) -> Usage {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, status and usage point to valid memory.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        wall_seconds: started.elapsed().as_secs_f64(),
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
    }
}

/// `target/release/<name>`, or the build named by `BENCH_BINARY` (to measure another
/// build side by side); panics with what to run when it is missing.
pub fn release_binary(name: &str) -> PathBuf {
    let path = std::env::var_os("BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            crate::services::workspace_root()
                .join("target/release")
                .join(name)
        });
    assert!(
        path.exists(),
        "{} missing: run `cargo build --release -p {name}` first",
        path.display()
    );
    path
}
