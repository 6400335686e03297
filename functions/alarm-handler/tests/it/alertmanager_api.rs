//! The alarm-handler's Alertmanager v2 API (`alarm-handler --serve`) against the real
//! thing: Debian's amtool gets the same answers from it as from Debian's Alertmanager
//! 0.25 with the same routing; every body it sends and receives fits Alertmanager's
//! OpenAPI spec (`scripts/check_openapi.py`); bad input gets Alertmanager's status
//! codes and body shapes, and stores nothing.

use test_support::fake_http;
use test_support::services as support;
use test_support::sns_sqs as common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use fake_http::FakeServer;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::delivery_e2e::create_table;

const AMTOOL: &str = "/usr/bin/amtool";

/// The routing both servers run; ours adds the `alarm_handler:` block.
fn route_config(hook: &str) -> String {
    format!(
        "route: {{receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 2s, repeat_interval: 1h}}\n\
         receivers: [{{name: hook, webhook_configs: [{{url: '{hook}/hook'}}]}}]\n"
    )
}

/// `alarm-handler --serve` on a free loopback port, with its moto and table.
struct Ours {
    base: String,
    _child: Child,
    _moto: support::Service,
    _stderr: tempfile::NamedTempFile,
}

async fn start_ours(hook: &str) -> Ours {
    let moto = support::start_moto().await.expect("moto");
    let aws = common::aws_config_for(&moto.address).await;
    create_table(&aws, "ah").await;
    let config = format!(
        "{}alarm_handler: {{state_table: ah, idempotency_table: ah, timers: true}}\n",
        route_config(hook)
    );
    let stderr = tempfile::NamedTempFile::new().expect("stderr file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_alarm-handler"))
        .args(["--serve", "127.0.0.1:0", "--flush-every", "0.1"])
        .env("ALARM_HANDLER_CONFIG", config)
        .env("AWS_ENDPOINT_URL", &moto.address)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", common::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", common::SECRET_KEY)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().expect("stderr file"))
        .kill_on_drop(true)
        .spawn()
        .expect("alarm-handler starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(address) = line.strip_prefix("listening on ") {
                return Some(address.trim().to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| {
        panic!(
            "alarm-handler --serve did not print its address; stderr:\n{}",
            std::fs::read_to_string(stderr.path()).unwrap_or_default()
        )
    });
    // Keep reading stdout (flush summaries), so the pipe never fills up.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ours {
        base: format!("http://{address}"),
        _child: child,
        _moto: moto,
        _stderr: stderr,
    }
}

async fn start_alertmanager(hook: &str) -> support::Service {
    support::start_alertmanager(&route_config(hook), &[])
        .await
        .expect("alertmanager")
}

/// amtool's exit code, stdout and stderr.
async fn amtool(base: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(AMTOOL)
        .arg(format!("--alertmanager.url={base}"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("amtool runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// amtool's JSON output, which must succeed.
async fn amtool_json(base: &str, args: &[&str]) -> Value {
    let (code, out, err) = amtool(base, args).await;
    assert_eq!(code, 0, "amtool {args:?} against {base}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("amtool {args:?}: {e}: {out}"))
}

fn time_in(seconds: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The alerts both servers get: `Foo` in dev is matched by the first silence.
fn posted_alerts() -> Value {
    json!([
        {"labels": {"alertname": "Foo", "env": "dev", "severity": "warning"},
         "annotations": {"summary": "foo is failing"},
         "generatorURL": "http://prometheus.example/graph?g0.expr=up"},
        {"labels": {"alertname": "Bar", "env": "prod", "severity": "critical"},
         "annotations": {"summary": "bar is down", "runbook": "https://runbooks.example/bar"}},
        {"labels": {"alertname": "Baz", "env": "test", "instance": "db-1:9100"},
         "annotations": {},
         "generatorURL": "http://prometheus.example/graph?g0.expr=node_up"}
    ])
}

/// Silences without their ids (replaced by `ids`' names) and times.
fn normalise_silences(silences: &Value, ids: &HashMap<String, String>) -> Value {
    let mut silences = silences.as_array().expect("silences array").clone();
    for silence in &mut silences {
        let object = silence.as_object_mut().expect("silence object");
        for key in ["startsAt", "endsAt", "updatedAt"] {
            assert!(object.remove(key).is_some(), "{key} missing: {object:?}");
        }
        let id = object["id"].as_str().expect("id").to_string();
        object.insert(
            "id".into(),
            json!(ids.get(&id).cloned().unwrap_or(format!("unknown {id}"))),
        );
    }
    Value::Array(silences)
}

/// Alerts without their times, with receivers sorted and silence ids replaced.
fn normalise_alerts(alerts: &Value, ids: &HashMap<String, String>) -> Value {
    let mut alerts = alerts.as_array().expect("alerts array").clone();
    for alert in &mut alerts {
        let object = alert.as_object_mut().expect("alert object");
        for key in ["startsAt", "endsAt", "updatedAt"] {
            assert!(object.remove(key).is_some(), "{key} missing: {object:?}");
        }
        if let Some(Value::Array(receivers)) = object.get_mut("receivers") {
            receivers.sort_by_key(|r| r.to_string());
        }
        if let Some(Value::Array(silenced_by)) = object
            .get_mut("status")
            .and_then(|s| s.get_mut("silencedBy"))
        {
            for id in silenced_by.iter_mut() {
                let raw = id.as_str().expect("silence id").to_string();
                *id = json!(ids.get(&raw).cloned().unwrap_or(format!("unknown {raw}")));
            }
            silenced_by.sort_by_key(|id| id.to_string());
        }
    }
    Value::Array(alerts)
}

/// `generatorURL` is compared only where both sides have it (it is optional, and
/// senders may leave it out); returns what was dropped, printed by the test.
fn drop_one_sided_generator_urls(am: &mut Value, ours: &mut Value) -> Vec<String> {
    let mut dropped = Vec::new();
    let (Some(am), Some(ours)) = (am.as_array_mut(), ours.as_array_mut()) else {
        return dropped;
    };
    for (a, o) in am.iter_mut().zip(ours.iter_mut()) {
        let (a, o) = (a.as_object_mut().unwrap(), o.as_object_mut().unwrap());
        if a.contains_key("generatorURL") != o.contains_key("generatorURL") {
            let labels = a["labels"].to_string();
            dropped.push(format!(
                "generatorURL of {labels}: alertmanager {:?}, ours {:?}",
                a.remove("generatorURL"),
                o.remove("generatorURL")
            ));
        }
    }
    dropped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_gives_the_same_answers_as_alertmanager() {
    let hook = FakeServer::start().await;
    let ours = start_ours(&hook.base_url()).await;
    let alertmanager = start_alertmanager(&hook.base_url()).await;
    let servers = [
        ("alertmanager", alertmanager.address.clone()),
        ("ours", ours.base.clone()),
    ];

    // The same silences on both, ids named by creation order.
    let adds: [&[&str]; 3] = [
        &[
            "silence",
            "add",
            "alertname=Foo",
            "env=~\"dev|test\"",
            "--comment=foo in dev and test",
            "--author=tester",
            "-d",
            "1h",
        ],
        &[
            "silence",
            "add",
            "team=ops",
            "severity!=info",
            "--comment=ops maintenance",
            "--author=tester",
            "-d",
            "2h",
        ],
        &[
            "silence",
            "add",
            "alertname=Old",
            "--comment=to be expired",
            "--author=someone",
            "-d",
            "30m",
        ],
    ];
    let mut ids: Vec<HashMap<String, String>> = vec![HashMap::new(), HashMap::new()];
    let mut raw_ids: Vec<Vec<String>> = vec![Vec::new(), Vec::new()];
    for (side, (name, base)) in servers.iter().enumerate() {
        for (i, args) in adds.iter().enumerate() {
            let (code, out, err) = amtool(base, args).await;
            assert_eq!(code, 0, "{name}: amtool {args:?}: {out}{err}");
            let id = out.trim().to_string();
            assert!(
                uuid::Uuid::parse_str(&id).is_ok(),
                "{name}: not a UUID: {out:?}"
            );
            ids[side].insert(id.clone(), format!("silence-{i}"));
            raw_ids[side].push(id);
        }
        let (code, out, err) = amtool(base, &["silence", "expire", &raw_ids[side][2]]).await;
        assert_eq!(code, 0, "{name}: amtool silence expire: {out}{err}");
    }

    // Silence queries.
    let silence_queries: [&[&str]; 4] = [
        &["silence", "query", "-o", "json"],
        &["silence", "query", "-o", "json", "alertname=Foo"],
        &["silence", "query", "-o", "json", "team=ops"],
        &["silence", "query", "--expired", "-o", "json"],
    ];
    let expected_counts = [2, 1, 1, 1];
    for (args, count) in silence_queries.iter().zip(expected_counts) {
        let am = normalise_silences(&amtool_json(&servers[0].1, args).await, &ids[0]);
        let got = normalise_silences(&amtool_json(&servers[1].1, args).await, &ids[1]);
        assert_eq!(
            am.as_array().unwrap().len(),
            count,
            "alertmanager, amtool {args:?}: {am:#}"
        );
        assert_eq!(
            got, am,
            "amtool {args:?}: ours (left) vs Alertmanager (right)"
        );
    }
    let all = normalise_silences(
        &amtool_json(&servers[1].1, &["silence", "query", "-o", "json"]).await,
        &ids[1],
    );
    assert_eq!(all[0]["id"], "silence-0", "active ones by endsAt: {all:#}");
    assert_eq!(all[0]["status"]["state"], "active");
    assert_eq!(
        all[0]["matchers"][1],
        json!({"name": "env", "value": "dev|test", "isRegex": true, "isEqual": true})
    );
    let expired = normalise_silences(
        &amtool_json(
            &servers[1].1,
            &["silence", "query", "--expired", "-o", "json"],
        )
        .await,
        &ids[1],
    );
    assert_eq!(expired[0]["id"], "silence-2");
    assert_eq!(expired[0]["status"]["state"], "expired");
    assert_eq!(expired[0]["createdBy"], "someone");

    // Matchers the server refuses (amtool leaves compiling a regex to the server; a
    // bare first word is `alertname=<word>`, so `{foo` alone is a valid filter). Exit
    // code, stdout and stderr must be Alertmanager's, except amtool's warning that
    // the server's version is not its own.
    let without_version_warning = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with("Warning: amtool version"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (args, am_exit) in [
        (&["silence", "query", "foo=~\"(\""][..], 1),
        (&["silence", "query", "env=~\"dev|test\"", "{foo"][..], 1),
        (&["silence", "query", "{foo"][..], 0),
        (&["alert", "query", "foo=\"a\"b\""][..], 1),
    ] {
        let (am_code, am_out, am_err) = amtool(&servers[0].1, args).await;
        let (code, out, err) = amtool(&servers[1].1, args).await;
        assert_eq!(
            am_code, am_exit,
            "alertmanager, amtool {args:?}: {am_out}{am_err}"
        );
        assert_eq!(
            (code, out.trim(), without_version_warning(&err).trim()),
            (
                am_code,
                am_out.trim(),
                without_version_warning(&am_err).trim()
            ),
            "amtool {args:?}: ours (left) vs Alertmanager (right)"
        );
    }

    // The same alerts posted to both.
    let client = reqwest::Client::new();
    for (name, base) in &servers {
        let response = client
            .post(format!("{base}/api/v2/alerts"))
            .header("content-type", "application/json")
            .body(posted_alerts().to_string())
            .send()
            .await
            .expect("POST alerts");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "{name}: POST /api/v2/alerts: {body}");
    }

    let alert_queries: [(&[&str], usize); 5] = [
        (&["alert", "query", "-o", "json"], 2),
        (&["alert", "query", "-s", "-o", "json"], 1),
        (&["alert", "query", "-a", "-s", "-o", "json"], 3),
        (&["alert", "query", "alertname=Bar", "-o", "json"], 1),
        (
            &[
                "alert",
                "query",
                "-a",
                "-s",
                "env=~\"dev|test\"",
                "-o",
                "json",
            ],
            2,
        ),
    ];
    let mut notes = Vec::new();
    for (args, count) in alert_queries {
        let mut am = normalise_alerts(&amtool_json(&servers[0].1, args).await, &ids[0]);
        let mut got = normalise_alerts(&amtool_json(&servers[1].1, args).await, &ids[1]);
        assert_eq!(
            am.as_array().unwrap().len(),
            count,
            "alertmanager, amtool {args:?}: {am:#}"
        );
        notes.extend(drop_one_sided_generator_urls(&mut am, &mut got));
        assert_eq!(
            got, am,
            "amtool {args:?}: ours (left) vs Alertmanager (right)"
        );
    }
    let with_silenced = normalise_alerts(
        &amtool_json(&servers[1].1, &["alert", "query", "-a", "-s", "-o", "json"]).await,
        &ids[1],
    );
    let foo = with_silenced
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "Foo")
        .expect("Foo listed");
    assert_eq!(
        foo["status"],
        json!({"state": "suppressed", "silencedBy": ["silence-0"], "inhibitedBy": []})
    );
    assert_eq!(foo["receivers"], json!([{"name": "hook"}]));
    if !notes.is_empty() {
        println!(
            "generatorURL present on one side only:\n{}",
            notes.join("\n")
        );
    }
}

/// One recorded exchange for the checker.
struct Recorder {
    client: reqwest::Client,
    base: String,
    lines: Vec<String>,
}

impl Recorder {
    /// Sends `method path_and_query` (with `body`), records the request body and the
    /// response under `template`, and returns the status and JSON body.
    async fn call(
        &mut self,
        method: &str,
        template: &str,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> (u16, Option<Value>) {
        let method_value = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .client
            .request(method_value, format!("{}{path_and_query}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
            self.lines
                .push(json!({"method": method, "path": template, "request": body}).to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let parsed = if text.is_empty() {
            None
        } else {
            Some(serde_json::from_str::<Value>(&text).unwrap_or_else(|e| {
                panic!("{method} {path_and_query}: {status} body is not JSON ({e}): {text:?}")
            }))
        };
        let mut line = json!({"method": method, "path": template, "status": status});
        if let Some(parsed) = &parsed {
            line["body"] = parsed.clone();
        }
        self.lines.push(line.to_string());
        (status, parsed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_bodies_match_the_openapi_spec() {
    let hook = FakeServer::start().await;
    let ours = start_ours(&hook.base_url()).await;
    let mut r = Recorder {
        client: reqwest::Client::new(),
        base: ours.base.clone(),
        lines: Vec::new(),
    };
    const SILENCES: &str = "/api/v2/silences";
    const SILENCE: &str = "/api/v2/silence/{silenceID}";
    const ALERTS: &str = "/api/v2/alerts";
    const GROUPS: &str = "/api/v2/alerts/groups";

    let (status, body) = r
        .call("GET", "/api/v2/status", "/api/v2/status", None)
        .await;
    assert_eq!(status, 200, "{body:?}");
    let (status, body) = r.call("GET", SILENCES, SILENCES, None).await;
    assert_eq!((status, body), (200, Some(json!([]))));

    let first = json!({
        "matchers": [
            {"name": "alertname", "value": "Foo", "isRegex": false, "isEqual": true},
            {"name": "env", "value": "dev|test", "isRegex": true}
        ],
        "startsAt": time_in(0), "endsAt": time_in(3600),
        "createdBy": "tester", "comment": "foo in dev and test"
    });
    let (status, body) = r.call("POST", SILENCES, SILENCES, Some(&first)).await;
    assert_eq!(status, 200, "{body:?}");
    let first_id = body.unwrap()["silenceID"]
        .as_str()
        .expect("silenceID")
        .to_string();
    let pending = json!({
        "matchers": [
            {"name": "alertname", "value": "Maintenance", "isRegex": false},
            {"name": "team", "value": "ops", "isRegex": false, "isEqual": false}
        ],
        "startsAt": time_in(600), "endsAt": time_in(7200),
        "createdBy": "tester", "comment": "later"
    });
    let (status, body) = r.call("POST", SILENCES, SILENCES, Some(&pending)).await;
    assert_eq!(status, 200, "{body:?}");
    let pending_id = body.unwrap()["silenceID"]
        .as_str()
        .expect("silenceID")
        .to_string();
    // Update the pending one in place (same matchers, later start).
    let mut update = pending.clone();
    update["id"] = json!(pending_id);
    update["startsAt"] = json!(time_in(900));
    let (status, body) = r.call("POST", SILENCES, SILENCES, Some(&update)).await;
    assert_eq!(status, 200, "{body:?}");
    // Refused by the handler: a 400 with a string body.
    let backwards = json!({
        "matchers": [{"name": "alertname", "value": "Foo", "isRegex": false}],
        "startsAt": time_in(3600), "endsAt": time_in(60),
        "createdBy": "tester", "comment": "ends before it starts"
    });
    let (status, body) = r.call("POST", SILENCES, SILENCES, Some(&backwards)).await;
    assert_eq!(status, 400, "{body:?}");
    assert!(matches!(body, Some(Value::String(_))), "{body:?}");
    let past = json!({
        "matchers": [{"name": "alertname", "value": "Foo", "isRegex": false}],
        "startsAt": time_in(-7200), "endsAt": time_in(-3600),
        "createdBy": "tester", "comment": "over already"
    });
    let (status, _) = r.call("POST", SILENCES, SILENCES, Some(&past)).await;
    assert_eq!(status, 400);
    let unknown = uuid::Uuid::new_v4().to_string();
    let mut unknown_update = first.clone();
    unknown_update["id"] = json!(unknown);
    let (status, body) = r
        .call("POST", SILENCES, SILENCES, Some(&unknown_update))
        .await;
    assert_eq!(status, 404, "{body:?}");

    let (status, body) = r.call("GET", SILENCES, SILENCES, None).await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap().as_array().unwrap().len(), 2);
    let filtered = format!("{SILENCES}?filter={}", encode("alertname=\"Foo\""));
    let (status, body) = r.call("GET", SILENCES, &filtered, None).await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap().as_array().unwrap().len(), 1);
    let (status, body) = r
        .call("GET", SILENCE, &format!("/api/v2/silence/{first_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap()["status"]["state"], "active");
    let (status, body) = r
        .call(
            "GET",
            SILENCE,
            &format!("/api/v2/silence/{pending_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap()["status"]["state"], "pending");
    let (status, body) = r
        .call("GET", SILENCE, &format!("/api/v2/silence/{unknown}"), None)
        .await;
    assert_eq!((status, body), (404, None));

    // Alerts, one silenced.
    let (status, body) = r.call("POST", ALERTS, ALERTS, Some(&posted_alerts())).await;
    assert_eq!((status, body), (200, None));
    let resolved = json!([{"labels": {"alertname": "Gone"}, "startsAt": time_in(-600), "endsAt": time_in(-60)}]);
    let (status, _) = r.call("POST", ALERTS, ALERTS, Some(&resolved)).await;
    assert_eq!(status, 200);
    let (status, body) = r.call("GET", ALERTS, ALERTS, None).await;
    assert_eq!(status, 200);
    let listed = body.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed:#}");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["status"]["silencedBy"] == json!([first_id])),
        "{listed:#}"
    );
    for query in [
        "?active=true&silenced=false&inhibited=false&unprocessed=false".to_string(),
        "?active=false".to_string(),
        format!(
            "?filter={}&filter={}",
            encode("env=~\"dev|test\""),
            encode("alertname!=\"Baz\"")
        ),
        "?receiver=hook".to_string(),
        "?receiver=nobody".to_string(),
    ] {
        let (status, body) = r
            .call("GET", ALERTS, &format!("{ALERTS}{query}"), None)
            .await;
        assert_eq!(status, 200, "{query}: {body:?}");
    }
    let (status, body) = r
        .call(
            "GET",
            ALERTS,
            &format!("{ALERTS}?filter={}", encode("{foo")),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body:?}");
    let (status, body) = r
        .call(
            "GET",
            ALERTS,
            &format!("{ALERTS}?receiver={}", encode("(")),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body:?}");
    let (status, body) = r.call("GET", GROUPS, GROUPS, None).await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap().as_array().unwrap().len(), 3);
    for query in [
        format!("?filter={}", encode("alertname=\"Foo\"")),
        "?silenced=false&active=true".to_string(),
        "?receiver=nobody".to_string(),
    ] {
        let (status, body) = r
            .call("GET", GROUPS, &format!("{GROUPS}{query}"), None)
            .await;
        assert_eq!(status, 200, "{query}: {body:?}");
    }
    let (status, _) = r
        .call(
            "GET",
            GROUPS,
            &format!("{GROUPS}?filter={}", encode("{foo")),
            None,
        )
        .await;
    assert_eq!(status, 400);

    // Expiry.
    let (status, body) = r
        .call(
            "DELETE",
            SILENCE,
            &format!("/api/v2/silence/{first_id}"),
            None,
        )
        .await;
    assert_eq!((status, body), (200, None));
    let (status, body) = r
        .call("GET", SILENCE, &format!("/api/v2/silence/{first_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap()["status"]["state"], "expired");
    let (status, body) = r
        .call(
            "DELETE",
            SILENCE,
            &format!("/api/v2/silence/{unknown}"),
            None,
        )
        .await;
    assert_eq!(status, 500, "{body:?}");
    let (status, body) = r.call("GET", SILENCES, SILENCES, None).await;
    assert_eq!(status, 200);
    assert_eq!(body.unwrap().as_array().unwrap().len(), 2);

    let file = tempfile::NamedTempFile::new().expect("jsonl");
    std::fs::write(file.path(), r.lines.join("\n") + "\n").expect("write jsonl");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let output = Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/scripts/check_openapi.py"))
        .arg("check")
        .arg(file.path())
        .output()
        .await
        .expect("check_openapi.py runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "check_openapi.py:\n{report}");
    let checked = report.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(checked, r.lines.len(), "every line checked:\n{report}");
}

/// What kind of body came back: `empty`, `string`, `object {code, message}` (an
/// object with its keys), `array`, ...
fn body_kind(text: &str) -> String {
    if text.trim().is_empty() {
        return "empty".into();
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::String(_)) => "string".into(),
        Ok(Value::Object(object)) => format!(
            "object {{{}}}",
            object.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Ok(Value::Array(_)) => "array".into(),
        Ok(_) => "other JSON".into(),
        Err(_) => "not JSON".into(),
    }
}

async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut request = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        url,
    );
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_like_alertmanager_and_nothing_is_stored() {
    let hook = FakeServer::start().await;
    let ours = start_ours(&hook.base_url()).await;
    let alertmanager = start_alertmanager(&hook.base_url()).await;
    let client = reqwest::Client::new();

    let silence = |matchers: Value, starts: i64, ends: i64| {
        json!({"matchers": matchers, "startsAt": time_in(starts), "endsAt": time_in(ends),
               "createdBy": "tester", "comment": "bad"})
        .to_string()
    };
    let unknown = uuid::Uuid::new_v4();
    let cases: Vec<(&str, &str, String, Option<String>)> = vec![
        (
            "malformed JSON",
            "POST",
            "/api/v2/silences".into(),
            Some("{\"matchers\": [".into()),
        ),
        (
            "broken filter matcher",
            "GET",
            format!("/api/v2/silences?filter={}", encode("{foo")),
            None,
        ),
        (
            "endsAt before startsAt",
            "POST",
            "/api/v2/silences".into(),
            Some(silence(
                json!([{"name": "alertname", "value": "Foo", "isRegex": false}]),
                3600,
                60,
            )),
        ),
        (
            "empty matchers",
            "POST",
            "/api/v2/silences".into(),
            Some(silence(json!([]), 0, 3600)),
        ),
        (
            "regex that does not compile",
            "POST",
            "/api/v2/silences".into(),
            Some(silence(
                json!([{"name": "alertname", "value": "Foo(", "isRegex": true}]),
                0,
                3600,
            )),
        ),
        (
            "GET unknown silence",
            "GET",
            format!("/api/v2/silence/{unknown}"),
            None,
        ),
        (
            "DELETE unknown silence",
            "DELETE",
            format!("/api/v2/silence/{unknown}"),
            None,
        ),
        (
            "GET silence id that is not a UUID",
            "GET",
            "/api/v2/silence/not-a-uuid".into(),
            None,
        ),
    ];
    let mut differences = Vec::new();
    for (what, method, path, body) in &cases {
        let (am_status, am_body) = send(
            &client,
            method,
            &format!("{}{path}", alertmanager.address),
            body.as_deref(),
        )
        .await;
        let (status, got_body) = send(
            &client,
            method,
            &format!("{}{path}", ours.base),
            body.as_deref(),
        )
        .await;
        println!(
            "{what}: {method} {path}\n  alertmanager: {am_status} {am_body:?}\n  ours:         {status} {got_body:?}"
        );
        assert!(
            am_status >= 400,
            "{what}: Alertmanager accepted it: {am_status} {am_body}"
        );
        if (status, body_kind(&got_body)) != (am_status, body_kind(&am_body)) {
            differences.push(format!(
                "{what}: {method} {path} {}: alertmanager {am_status} {} {am_body:?}, ours {status} {} {got_body:?}",
                body.as_deref().unwrap_or(""),
                body_kind(&am_body),
                body_kind(&got_body)
            ));
        }
    }
    for (name, base) in [
        ("alertmanager", &alertmanager.address),
        ("ours", &ours.base),
    ] {
        let (status, body) = send(&client, "GET", &format!("{base}/api/v2/silences"), None).await;
        assert_eq!(
            (status, body_kind(&body), body.trim()),
            (200, "array".to_string(), "[]"),
            "{name} stored something"
        );
    }
    assert!(
        differences.is_empty(),
        "status or body shape differs from Alertmanager:\n{}",
        differences.join("\n")
    );
}
