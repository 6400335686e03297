//! Warm invocations: one scraper process serving several invocations through a real
//! Lambda Runtime API (cargo-lambda's emulator), as one Lambda container does. The
//! second run of an unchanged config reuses the parsed config and every client
//! (`prepared` in the response), while each run still has its own counters, reads
//! credential files afresh (a rotated secret is sent by the next run), rebuilds a
//! client whose CA file changed, and reparses a changed config.

use std::path::Path;

use crate::harness;
use crate::scrape_tls::{make_ca, start_https_server};
use test_support::fake_http::{Captured, FakeServer};
use test_support::services as support;

use tokio::process::{Child, Command};

/// A scraper process served by a Runtime API emulator; every [`Self::invoke`] is one
/// invocation of the same process.
struct WarmFunction {
    emulator: support::LambdaEmulator,
    _function: Child,
}

impl WarmFunction {
    async fn start() -> Self {
        let emulator = support::start_lambda_emulator(env!("CARGO_MANIFEST_DIR"))
            .await
            .expect("Lambda Runtime API emulator");
        let logs = emulator.logs.path();
        let stdout = std::fs::File::create(logs.join("stdout.log")).expect("log");
        let stderr = std::fs::File::create(logs.join("stderr.log")).expect("log");
        let function = Command::new(env!("CARGO_BIN_EXE_scraper"))
            .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", "scraper")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(harness::FAKE_ENV)
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("scraper starts");
        Self {
            emulator,
            _function: function,
        }
    }

    /// One invocation with `config` inline; the response.
    async fn invoke(&self, config: &str) -> serde_json::Value {
        let logs = self.emulator.logs.path();
        let event = logs.join("event.json");
        std::fs::write(&event, serde_json::json!({ "config": config }).to_string()).expect("event");
        let output = self
            .emulator
            .invoke(env!("CARGO_MANIFEST_DIR"), &event)
            .await
            .expect("cargo lambda invoke runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let read = |name: &str| std::fs::read_to_string(logs.join(name)).unwrap_or_default();
        assert!(
            output.status.success(),
            "invoke failed: {stdout}{}\nfunction stdout: {}\nfunction stderr: {}",
            String::from_utf8_lossy(&output.stderr),
            read("stdout.log"),
            read("stderr.log"),
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {stdout}"))
    }

    /// The `prepared` field of every summary line logged so far, in order.
    fn logged_prepared(&self) -> Vec<serde_json::Value> {
        let log = std::fs::read_to_string(self.emulator.logs.path().join("stdout.log"))
            .unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("\"invocation summary\""))
            .map(|l| {
                let line: serde_json::Value = serde_json::from_str(l).expect("JSON line");
                line["summary"]["prepared"].clone()
            })
            .collect()
    }
}

fn prepared(config: &str, built: u64, reused: u64) -> serde_json::Value {
    serde_json::json!({"config": config, "clients_built": built, "clients_reused": reused})
}

/// The last request to `path` the server received.
fn last_to(server: &FakeServer, path: &str) -> Captured {
    server
        .captured()
        .into_iter()
        .rev()
        .find(|c| c.path_and_query.starts_with(path))
        .unwrap_or_else(|| panic!("no request to {path}"))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write file");
}

#[tokio::test]
async fn an_unchanged_config_is_reused_and_rotated_credentials_are_read_each_run() {
    let dir = tempfile::tempdir().expect("dir");
    let token = dir.path().join("token");
    let password = dir.path().join("password");
    write(&token, "first-token\n");
    write(&password, "first-password\n");
    let server = FakeServer::start().await;
    server.serve("/metrics", "text/plain", "warm_metric 1\nwarm_other 2\n");
    let config = format!(
        "scrape_configs:\n  - job_name: warm\n    authorization: {{credentials_file: '{token}'}}\n    static_configs: [{{targets: ['{target}']}}]\nremote_write:\n  - url: {base}/api/v1/write\n    basic_auth: {{username: writer, password_file: '{password}'}}\n",
        token = token.display(),
        password = password.display(),
        target = server.target(),
        base = server.base_url(),
    );
    let function = WarmFunction::start().await;

    let first = function.invoke(&config).await;
    assert_eq!(first["prepared"], prepared("parsed", 2, 0), "{first}");
    assert_eq!(first["targets_up"], 1, "{first}");
    assert_eq!(
        last_to(&server, "/metrics").header("authorization"),
        Some("Bearer first-token")
    );

    let second = function.invoke(&config).await;
    assert_eq!(second["prepared"], prepared("reused", 0, 2), "{second}");
    assert_eq!(second["targets_up"], 1, "{second}");
    // Counters are the run's own, not the container's running total.
    assert_eq!(second["samples_sent"], first["samples_sent"], "{second}");
    assert_eq!(second["requests"], first["requests"], "{second}");
    assert!(first["samples_sent"].as_u64().unwrap_or(0) >= 2, "{first}");

    // Rotated secrets: the clients are kept, the new credentials are sent.
    write(&token, "second-token\n");
    write(&password, "second-password\n");
    let third = function.invoke(&config).await;
    assert_eq!(third["prepared"], prepared("reused", 0, 2), "{third}");
    assert_eq!(
        last_to(&server, "/metrics").header("authorization"),
        Some("Bearer second-token")
    );
    let basic = last_to(&server, "/api/v1/write");
    assert_eq!(
        basic.header("authorization"),
        // base64("writer:second-password")
        Some("Basic d3JpdGVyOnNlY29uZC1wYXNzd29yZA==")
    );

    // A changed config is parsed and its clients built again.
    let changed = config.replace("job_name: warm", "job_name: warmer");
    let fourth = function.invoke(&changed).await;
    assert_eq!(fourth["prepared"], prepared("parsed", 2, 0), "{fourth}");
    assert_eq!(fourth["target_reports"][0]["job"], "warmer", "{fourth}");

    // The summary line (what CloudWatch Logs keeps) says the same.
    assert_eq!(
        function.logged_prepared(),
        vec![
            prepared("parsed", 2, 0),
            prepared("reused", 0, 2),
            prepared("reused", 0, 2),
            prepared("parsed", 2, 0),
        ]
    );
}

#[tokio::test]
async fn a_changed_ca_file_rebuilds_only_that_client_and_unknown_cas_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    make_ca(dir.path(), "ca", true);
    write(&dir.path().join("metrics"), "tls_warm_metric 1\n");
    let (_server, port) = start_https_server(dir.path()).await;
    // Another CA, which did not sign the server's certificate.
    let other = tempfile::tempdir().expect("dir");
    make_ca(other.path(), "other", false);
    let trusted_ca = dir.path().join("trusted.pem");
    let ca_pem = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca");
    let other_pem = std::fs::read_to_string(other.path().join("other.pem")).expect("ca");
    write(&trusted_ca, &ca_pem);

    let receiver = FakeServer::start().await;
    let config = format!(
        "scrape_configs:\n  - job_name: private-ca\n    scheme: https\n    tls_config: {{ca_file: '{ca}'}}\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n  - job_name: compiled-in-roots\n    scheme: https\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\nremote_write:\n  - url: {base}/api/v1/write\n",
        ca = trusted_ca.display(),
        base = receiver.base_url(),
    );
    let function = WarmFunction::start().await;
    let target = |response: &serde_json::Value, job: &str| {
        response["target_reports"]
            .as_array()
            .and_then(|reports| reports.iter().find(|r| r["job"] == job))
            .cloned()
            .unwrap_or_else(|| panic!("no report for {job}: {response}"))
    };

    let first = function.invoke(&config).await;
    assert_eq!(first["prepared"], prepared("parsed", 3, 0), "{first}");
    assert_eq!(target(&first, "private-ca")["up"], true, "{first}");
    let refused = target(&first, "compiled-in-roots");
    assert_eq!(refused["up"], false, "{first}");
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(
        error.to_lowercase().contains("unknownissuer"),
        "the refusal names the unknown issuer: {error}"
    );

    let second = function.invoke(&config).await;
    assert_eq!(second["prepared"], prepared("reused", 0, 3), "{second}");
    assert_eq!(target(&second, "private-ca")["up"], true, "{second}");

    // The CA file now holds a CA that did not sign the server's certificate: only
    // that job's client is rebuilt, and it trusts the new file's CA alone.
    write(&trusted_ca, &other_pem);
    let third = function.invoke(&config).await;
    assert_eq!(third["prepared"], prepared("reused", 1, 2), "{third}");
    let now_refused = target(&third, "private-ca");
    assert_eq!(now_refused["up"], false, "{third}");
    assert!(
        now_refused["error"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("unknownissuer"),
        "{third}"
    );

    write(&trusted_ca, &ca_pem);
    let fourth = function.invoke(&config).await;
    assert_eq!(fourth["prepared"], prepared("reused", 1, 2), "{fourth}");
    assert_eq!(target(&fourth, "private-ca")["up"], true, "{fourth}");
    assert!(
        receiver
            .accepted_series_keys()
            .iter()
            .any(|k| k.starts_with("tls_warm_metric{") && k.contains("job=\"private-ca\"")),
        "the https samples reach the receiver"
    );
}
