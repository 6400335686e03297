//! What a benchmark measures of a release binary it runs: the child's own CPU time and
//! peak RSS, read with wait4(2) as it exits (not the harness's, which also serves the
//! child's exporters and receivers), and whether it succeeded; and one measured run of
//! the release scraper on a config, for the discovery benchmarks.

use std::path::{Path, PathBuf};
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

/// One measured run of the release scraper.
pub struct Measured {
    /// Instructions, under callgrind (`BENCH_CALLGRIND`).
    pub instructions: Option<u64>,
    /// Its own CPU seconds.
    pub cpu_seconds: f64,
    /// Its peak RSS.
    pub peak_rss_bytes: u64,
    /// Exec to exit.
    pub wall_seconds: f64,
    /// Its run summary.
    pub summary: serde_json::Value,
}

/// Runs the release scraper once on `config` (written to `dir`): its own CPU time and
/// peak RSS (and its instructions under callgrind, with `BENCH_CALLGRIND`; profiles
/// kept with `BENCH_CALLGRIND_OUT`). Panics when the run fails.
pub fn run_scraper_measured(config: &str, dir: &Path) -> Measured {
    let path = dir.join("bench.yaml");
    std::fs::write(&path, config).unwrap();
    let event = dir.join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({ "config_file": path }).to_string(),
    )
    .unwrap();
    let out = dir.join("out.json");
    let started = Instant::now();
    let callgrind = std::env::var_os("BENCH_CALLGRIND").is_some();
    let errors = dir.join("stderr.txt");
    let mut command = if callgrind {
        let mut valgrind = std::process::Command::new("valgrind");
        valgrind
            .arg("--tool=callgrind")
            .arg(format!(
                "--callgrind-out-file={}",
                std::env::var("BENCH_CALLGRIND_OUT").unwrap_or_else(|_| "/dev/null".into())
            ))
            .arg(release_binary("scraper"));
        valgrind
    } else {
        std::process::Command::new(release_binary("scraper"))
    };
    let child = command
        .arg("--event")
        .arg(&event)
        .arg("--timeout")
        .arg("120")
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&errors).unwrap())
        .spawn()
        .unwrap();
    let usage = wait_with_usage(child, started);
    assert!(
        usage.success,
        "the scraper failed; see {}",
        errors.display()
    );
    let summary =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap_or(serde_json::Value::Null);
    // callgrind's summary line: "==PID== Collected : N".
    let instructions = std::fs::read_to_string(&errors)
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok());
    Measured {
        instructions,
        cpu_seconds: usage.cpu_seconds,
        peak_rss_bytes: usage.peak_rss_bytes,
        wall_seconds: usage.wall_seconds,
        summary,
    }
}

/// The median of `f` over the runs named `name` (NaN when there is none).
pub fn median_of(results: &[(&str, Measured)], name: &str, f: &dyn Fn(&Measured) -> f64) -> f64 {
    let mut values: Vec<f64> = results
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, m)| f(m))
        .collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
