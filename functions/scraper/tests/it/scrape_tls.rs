//! A real TLS scrape: a Python HTTPS server with a throwaway self-signed certificate.
//! Checks that the TLS stack works at all (one crypto provider for the whole binary),
//! that `tls_config.ca_file` is used, and that an unknown CA is refused.

use crate::harness;
use test_support::fake_http;

use std::path::Path;
use std::process::Stdio;

use fake_http::FakeServer;
use tokio::io::{AsyncBufReadExt, BufReader};

const HTTPS_SERVER: &str = r#"
import http.server, ssl, sys, os
os.chdir(sys.argv[1])
server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("cert.pem", "key.pem")
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Makes, in `dir`, a throwaway CA (`{ca}.pem`) and, unless `leaf` is false, a server
/// certificate for 127.0.0.1 it signs (`cert.pem`, `key.pem`): webpki refuses a
/// self-signed certificate used directly as the server's.
pub fn make_ca(dir: &Path, ca: &str, leaf: bool) {
    let ca_key = format!("{ca}.key");
    let ca_pem = format!("{ca}.pem");
    let subject = format!("/CN=scraper-test-{ca}");
    let steps: [&[&str]; 3] = [
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", &ca_key,
            "-out", &ca_pem, "-subj", &subject,
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "cert.pem",
            "-extfile",
            "ext.cnf",
        ],
    ];
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("write ext.cnf");
    let steps = if leaf { &steps[..] } else { &steps[..1] };
    for args in steps {
        let status = std::process::Command::new("openssl")
            .args(*args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(status.success(), "openssl {args:?} failed");
    }
}

/// Serves the files of `dir` over HTTPS with its `cert.pem` and `key.pem`; the
/// server and its port.
pub async fn start_https_server(dir: &Path) -> (tokio::process::Child, u16) {
    let mut server = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(HTTPS_SERVER)
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python https server starts");
    let stdout = server.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .expect("server prints its port");
    let port: u16 = line.trim().parse().expect("port number");
    (server, port)
}

#[tokio::test]
async fn https_scrape_with_ca_file_and_refusal_without_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_ca(dir.path(), "ca", true);
    std::fs::write(
        dir.path().join("metrics"),
        "tls_test_metric{via=\"https\"} 42\n",
    )
    .expect("write metrics");
    let (_server, port) = start_https_server(dir.path()).await;

    let receiver = FakeServer::start().await;
    let ca = dir.path().join("ca.pem");
    let config = format!(
        r#"
scrape_configs:
  - job_name: trusted
    scheme: https
    tls_config: {{ca_file: "{ca}"}}
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: untrusted
    scheme: https
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
remote_write:
  - url: {base}/api/v1/write
"#,
        ca = ca.display(),
        base = receiver.base_url()
    );
    let run = harness::run_scraper(&config, 30.0).await;
    assert!(run.success, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.target("trusted")["up"], true, "{}", run.summary);
    let untrusted = run.target("untrusted");
    assert_eq!(untrusted["up"], false, "{}", run.summary);
    let error = untrusted["error"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        error.contains("certificate") || error.contains("unknownissuer"),
        "{error}"
    );
    let delivered = receiver.accepted_series_keys();
    assert!(
        delivered
            .iter()
            .any(|k| k.starts_with("tls_test_metric{") && k.contains("via=\"https\"")),
        "{delivered:?}"
    );
}
