//! Test parts for the scaler: the Kubernetes API stand-in (`tests/k8s_standin/`,
//! HTTPS with a CA made by openssl, EKS tokens verified with botocore), its control
//! API, moto for CloudWatch alarms and EKS, and event builders.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use serde_json::{json, Value};

pub use crate::services as support;

/// The fake static credentials both the scaler and the stand-in use.
pub const ACCESS_KEY: &str = "AKIDSCALERTEST";
pub const SECRET_KEY: &str = "scaler/secret/key/for/tests";
pub const SESSION_TOKEN: &str = "scaler-session-token";
pub const REGION: &str = "us-east-1";

/// CA and server certificates made by `tests/k8s_standin/make_certs.sh`.
pub struct Certs {
    pub dir: tempfile::TempDir,
}

impl Certs {
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

pub fn make_certs() -> Result<Certs, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let script = support::workspace_root().join("tests/k8s_standin/make_certs.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .output()
        .map_err(|e| format!("make_certs.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "make_certs.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(Certs { dir })
}

/// The running stand-in; killed on drop.
pub struct StandIn {
    _child: tokio::process::Child,
    pub url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts the stand-in for EKS cluster `cluster` with the test credentials.
pub async fn start_standin(certs: &Certs, cluster: &str) -> Result<StandIn, String> {
    start_standin_with(certs, cluster, &[]).await
}

/// [`start_standin`] with more command-line arguments (`--seed FILE`,
/// `--generate-pods N`...).
pub async fn start_standin_with(
    certs: &Certs,
    cluster: &str,
    extra: &[&str],
) -> Result<StandIn, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port_file = dir.path().join("port");
    let script = support::workspace_root().join("tests/k8s_standin/standin.py");
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).map_err(|e| e.to_string())?;
    let child = tokio::process::Command::new(support::venv_python())
        .arg(&script)
        .args(["--port", "0", "--port-file"])
        .arg(&port_file)
        .arg("--cert")
        .arg(certs.dir.path().join("server.pem"))
        .arg("--key")
        .arg(certs.dir.path().join("server-key.pem"))
        .args(["--cluster", cluster, "--region", REGION])
        .args([
            "--access-key-id",
            ACCESS_KEY,
            "--secret-access-key",
            SECRET_KEY,
        ])
        .args(["--session-token", SESSION_TOKEN])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the stand-in: {e}"))?;
    let started = Instant::now();
    let port = loop {
        if let Ok(text) = std::fs::read_to_string(&port_file) {
            if let Ok(port) = text.trim().parse::<u16>() {
                break port;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!(
                "stand-in did not start: {}",
                std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ca = std::fs::read(certs.ca()).map_err(|e| e.to_string())?;
    let certs = reqwest::Certificate::from_pem_bundle(&ca).map_err(|e| e.to_string())?;
    let http = reqwest::Client::builder()
        .tls_certs_only(certs)
        .build()
        .map_err(|e| e.to_string())?;
    let standin = StandIn {
        _child: child,
        url: format!("https://127.0.0.1:{port}"),
        http,
        _dir: dir,
    };
    // Ready when the control API answers.
    while standin.requests().await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err("stand-in control API did not answer".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(standin)
}

impl StandIn {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status}: {text}"));
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}: {text}"))
    }

    /// Creates or replaces an object (`horizontalpodautoscalers`, `deployments`,
    /// `statefulsets`).
    pub async fn put(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        object: Value,
    ) -> Result<Value, String> {
        self.call(
            reqwest::Method::PUT,
            &format!("/_standin/objects/{resource}/{ns}/{name}"),
            Some(object),
        )
        .await
    }

    /// Deletes an object (`pods`, `services`...; `ns` empty for cluster-scoped ones),
    /// as another client would: watches see it go.
    pub async fn delete(&self, resource: &str, ns: &str, name: &str) -> Result<Value, String> {
        let path = if ns.is_empty() {
            format!("/_standin/objects/{resource}/{name}")
        } else {
            format!("/_standin/objects/{resource}/{ns}/{name}")
        };
        self.call(reqwest::Method::DELETE, &path, None).await
    }

    /// Creates or replaces every object of a list (each with `kind`, `apiVersion`
    /// and metadata), as a `--seed` file does.
    pub async fn load(&self, objects: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, "/_standin/load", Some(objects))
            .await
    }

    pub async fn get(&self, resource: &str, ns: &str, name: &str) -> Result<Value, String> {
        self.call(
            reqwest::Method::GET,
            &format!("/_standin/objects/{resource}/{ns}/{name}"),
            None,
        )
        .await
    }

    /// The next `count` writes to the object first suffer a concurrent edit.
    pub async fn conflict(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
        count: u32,
        mutate: Value,
    ) -> Result<(), String> {
        self.call(
            reqwest::Method::POST,
            "/_standin/conflicts",
            Some(json!({"resource": resource, "namespace": ns, "name": name, "count": count, "mutate": mutate})),
        )
        .await
        .map(|_| ())
    }

    /// Arms a fault for writes to API path `path` (see the stand-in's README):
    /// `answer` is `conflict`, `internal_error`, `drop` or `drop_after_write`; the
    /// first `after` matching writes pass, the next `count` meet it.
    pub async fn fault(
        &self,
        path: &str,
        answer: &str,
        after: u32,
        count: u32,
    ) -> Result<(), String> {
        self.call(
            reqwest::Method::POST,
            "/_standin/faults",
            Some(json!({"path": path, "answer": answer, "after": after, "count": count})),
        )
        .await
        .map(|_| ())
    }

    /// The armed faults, with `fired` and `remaining`.
    pub async fn faults(&self) -> Result<Vec<Value>, String> {
        let faults = self
            .call(reqwest::Method::GET, "/_standin/faults", None)
            .await?;
        Ok(faults.as_array().cloned().unwrap_or_default())
    }

    /// Disarms every fault.
    pub async fn clear_faults(&self) -> Result<(), String> {
        self.call(reqwest::Method::DELETE, "/_standin/faults", None)
            .await
            .map(|_| ())
    }

    /// Every version of an object the stand-in stored since its last reset, oldest
    /// first: `{resourceVersion, object}` (`object` null for a deletion).
    pub async fn history(
        &self,
        resource: &str,
        ns: &str,
        name: &str,
    ) -> Result<Vec<Value>, String> {
        let history = self
            .call(
                reqwest::Method::GET,
                &format!("/_standin/history/{resource}/{ns}/{name}"),
                None,
            )
            .await?;
        Ok(history.as_array().cloned().unwrap_or_default())
    }

    /// The request log.
    pub async fn requests(&self) -> Result<Vec<Value>, String> {
        let log = self
            .call(reqwest::Method::GET, "/_standin/requests", None)
            .await?;
        Ok(log.as_array().cloned().unwrap_or_default())
    }

    pub async fn clear_requests(&self) -> Result<(), String> {
        self.call(reqwest::Method::DELETE, "/_standin/requests", None)
            .await
            .map(|_| ())
    }

    /// Events created through the API.
    pub async fn events(&self) -> Result<Vec<Value>, String> {
        let events = self
            .call(reqwest::Method::GET, "/_standin/events", None)
            .await?;
        Ok(match events {
            Value::Array(items) => items,
            Value::Object(map) => map
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        })
    }

    /// PATCH/PUT/POST requests in the log (writes).
    pub async fn writes(&self) -> Result<Vec<Value>, String> {
        Ok(self
            .requests()
            .await?
            .into_iter()
            .filter(|r| matches!(r["method"].as_str(), Some("PATCH" | "PUT" | "POST")))
            .collect())
    }
}

/// An autoscaling/v2 HPA scaling Deployment `target`.
pub fn hpa(name: &str, ns: &str, target: &str, min: i32, max: i32) -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min, "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
        },
        "status": {"currentReplicas": min, "desiredReplicas": min}
    })
}

/// An apps/v1 Deployment or StatefulSet with `replicas`.
pub fn workload(kind: &str, name: &str, ns: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
        },
        "status": {"replicas": replicas}
    })
}

/// An SDK config for moto with the test credentials.
pub async fn aws_for(moto: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            Some(SESSION_TOKEN.to_string()),
            None,
            "tests",
        ))
        .load()
        .await
}

/// Creates a metric alarm in moto and sets its state.
pub async fn put_alarm(cw: &aws_sdk_cloudwatch::Client, name: &str) -> Result<(), String> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(1)
        .threshold(30.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .map_err(|e| aws_sdk_cloudwatch::error::DisplayErrorContext(e).to_string())?;
    Ok(())
}

pub async fn set_alarm(
    cw: &aws_sdk_cloudwatch::Client,
    name: &str,
    state: &str,
) -> Result<(), String> {
    cw.set_alarm_state()
        .alarm_name(name)
        .state_value(aws_sdk_cloudwatch::types::StateValue::from(state))
        .state_reason("test")
        .send()
        .await
        .map_err(|e| aws_sdk_cloudwatch::error::DisplayErrorContext(e).to_string())?;
    Ok(())
}

/// An EventBridge `CloudWatch Alarm State Change` event.
pub fn alarm_event(name: &str, state: &str, previous: &str) -> Value {
    json!({
        "version": "0", "id": format!("ev-{name}-{state}"), "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": "2026-12-01T10:00:00Z",
        "region": REGION,
        "resources": [format!("arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}")],
        "detail": {
            "alarmName": name,
            "state": {"value": state, "reason": "test", "timestamp": "2026-12-01T10:00:00.000+0000"},
            "previousState": {"value": previous, "reason": "test", "timestamp": "2026-12-01T09:00:00.000+0000"},
            "configuration": {"metrics": []}
        }
    })
}

/// A Lambda SNS event with one record carrying `message`.
pub fn sns_event(message: &str, subject: Option<&str>) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": format!("arn:aws:sns:{REGION}:123456789012:scaler:1"),
        "Sns": {
            "Type": "Notification", "MessageId": "m-1",
            "TopicArn": format!("arn:aws:sns:{REGION}:123456789012:scaler"),
            "Subject": subject, "Message": message,
            "Timestamp": "2026-12-01T10:00:00.000Z", "SignatureVersion": "1",
            "Signature": "x", "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x",
            "MessageAttributes": {}
        }
    }]})
}

/// Writes `text` to a file in `dir` and returns its path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

/// moto, certificates, the stand-in for EKS cluster `prod` and AWS clients: what
/// every scaler test starts from.
pub struct Stack {
    pub moto: support::Service,
    pub certs: Certs,
    pub standin: StandIn,
    pub aws: SdkConfig,
    pub cw: aws_sdk_cloudwatch::Client,
}

pub async fn start_stack() -> Result<Stack, String> {
    let moto = support::start_moto().await?;
    let certs = make_certs()?;
    let standin = start_standin(&certs, "prod").await?;
    let aws = aws_for(&moto.address).await;
    let cw = aws_sdk_cloudwatch::Client::new(&aws);
    Ok(Stack {
        moto,
        certs,
        standin,
        aws,
        cw,
    })
}

impl Stack {
    /// Creates metric alarm `name` in moto and sets it to `state`.
    pub async fn alarm(&self, name: &str, state: &str) -> Result<(), String> {
        put_alarm(&self.cw, name).await?;
        set_alarm(&self.cw, name, state).await
    }

    /// Deployment `web/web` with 3 replicas, alarm `web-5xx` in ALARM.
    pub async fn web_firing(&self) -> Result<(), String> {
        self.standin
            .put(
                "deployments",
                "web",
                "web",
                workload("Deployment", "web", "web", 3),
            )
            .await?;
        self.alarm("web-5xx", "ALARM").await
    }

    /// A config with cluster `prod` pointing at the stand-in and `policies` (YAML
    /// list items, indented by two spaces).
    pub fn config_with(&self, policies: &str) -> String {
        format!(
            "clusters:\n  prod:\n    endpoint: {}\n    ca_file: {}\n    token: {{eks: {{name: prod, region: {REGION}}}}}\npolicies:\n{policies}",
            self.standin.url,
            self.certs.ca().display()
        )
    }
}

/// Policy `web`: alarm `web-5xx` adds 2 replicas to Deployment `web/web`.
pub fn web_policy(dry_run: bool, ceiling: &str) -> String {
    format!(
        "  - name: web\n    triggers: {{alarms: [web-5xx]}}\n    \
         target: {{cluster: prod, namespace: web, kind: Deployment, name: web}}\n    \
         while_firing: {{replicas: {{add: 2}}}}\n    ceiling: {ceiling}\n    dry_run: {dry_run}\n"
    )
}

/// The Kubernetes authorization attributes of a request the stand-in logged:
/// `(verb, API group, resource[/subresource])`, as the API server derives them
/// (a GET of a collection is `list`, in one namespace or across all; everything
/// after `proxy` is the proxied path).
pub fn rbac_attributes(method: &str, path: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // /api/v1/... or /apis/group/version/...
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => return None,
    };
    let rest = match rest {
        ["namespaces", _ns, resource, tail @ ..] => {
            let mut v = vec![*resource];
            v.extend_from_slice(tail);
            v
        }
        other => other.to_vec(),
    };
    let (resource, name, sub) = match rest.as_slice() {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(*name), None),
        [resource, name, "proxy", ..] => (*resource, Some(*name), Some("proxy")),
        [resource, name, sub] => (*resource, Some(*name), Some(*sub)),
        _ => return None,
    };
    let verb = match (method, name) {
        ("GET", None) => "list",
        ("GET", Some(_)) => "get",
        ("POST", None) => "create",
        ("PATCH", Some(_)) => "patch",
        ("PUT", Some(_)) => "update",
        ("DELETE", Some(_)) => "delete",
        _ => return None,
    };
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_string(),
    };
    Some((verb.to_string(), group, resource))
}

/// Whether the ClusterRoles of `infra/eks-rbac.yaml` (the RBAC that
/// `docs/deploy.md#letting-the-scaler-into-eks` tells users to apply) bound to
/// Kubernetes group `subject` allow `(verb, group, resource)`.
pub fn rbac_allows(subject: &str, verb: &str, group: &str, resource: &str) -> Result<bool, String> {
    let path = support::workspace_root().join("infra/eks-rbac.yaml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut documents = Vec::new();
    for document in yaml_serde::Deserializer::from_str(&text) {
        let value = <yaml_serde::Value as serde::Deserialize>::deserialize(document)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        documents.push(value);
    }
    let bound: Vec<&str> = documents
        .iter()
        .filter(|d| d["kind"].as_str() == Some("ClusterRoleBinding"))
        .filter(|d| {
            d["subjects"].as_sequence().is_some_and(|subjects| {
                subjects.iter().any(|s| {
                    s["kind"].as_str() == Some("Group") && s["name"].as_str() == Some(subject)
                })
            })
        })
        .filter_map(|d| d["roleRef"]["name"].as_str())
        .collect();
    if bound.is_empty() {
        return Err(format!(
            "{}: no ClusterRoleBinding for group {subject}",
            path.display()
        ));
    }
    let has = |rule: &yaml_serde::Value, key: &str, want: &str| {
        rule[key]
            .as_sequence()
            .is_some_and(|items| items.iter().any(|i| i.as_str() == Some(want)))
    };
    Ok(documents
        .iter()
        .filter(|d| d["kind"].as_str() == Some("ClusterRole"))
        .filter(|d| {
            d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| bound.contains(&n))
        })
        .flat_map(|d| d["rules"].as_sequence().cloned().unwrap_or_default())
        .any(|rule| {
            has(&rule, "apiGroups", group)
                && has(&rule, "resources", resource)
                && has(&rule, "verbs", verb)
        }))
}

/// Checks every request the stand-in logged against `infra/eks-rbac.yaml` for
/// Kubernetes group `subject`: the RBAC we tell users to grant is exactly enough.
/// Returns how many requests were checked.
pub async fn assert_within_rbac(standin: &StandIn, subject: &str) -> Result<usize, String> {
    let requests = standin.requests().await?;
    for r in &requests {
        let method = r["method"].as_str().unwrap_or_default();
        let path = r["path"].as_str().unwrap_or_default();
        let (verb, group, resource) = rbac_attributes(method, path)
            .ok_or_else(|| format!("unexpected request {method} {path}"))?;
        if !rbac_allows(subject, &verb, &group, &resource)? {
            return Err(format!(
                "{method} {path} needs {verb} on {group}/{resource}, which infra/eks-rbac.yaml does not grant"
            ));
        }
    }
    Ok(requests.len())
}

/// moto whose EKS DescribeCluster answers cluster `name` with `endpoint` and the CA of
/// `certs` (through `tests/moto/launcher.py`'s `MOTO_EKS_CLUSTERS` patch), the cluster
/// created, and an SDK config for it: how a test reaches the stand-in the way the
/// functions reach EKS. The returned directory holds the patch's file; keep it.
pub async fn moto_with_eks_cluster(
    certs: &Certs,
    endpoint: &str,
    name: &str,
) -> Result<(support::Service, SdkConfig, tempfile::TempDir), String> {
    use base64::Engine as _;
    let overrides = tempfile::tempdir().map_err(|e| e.to_string())?;
    let clusters = overrides.path().join("eks-clusters.json");
    let ca = std::fs::read(certs.ca()).map_err(|e| e.to_string())?;
    std::fs::write(
        &clusters,
        json!({name: {
            "endpoint": endpoint,
            "ca_data": base64::engine::general_purpose::STANDARD.encode(ca),
        }})
        .to_string(),
    )
    .map_err(|e| e.to_string())?;
    let moto = support::start_moto_with_env(&[(
        "MOTO_EKS_CLUSTERS",
        clusters.to_string_lossy().into_owned(),
    )])
    .await?;
    let aws = aws_for(&moto.address).await;
    // The patch changes DescribeCluster's answer for a cluster moto knows.
    aws_sdk_eks::Client::new(&aws)
        .create_cluster()
        .name(name)
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
        .send()
        .await
        .map_err(|e| format!("create cluster {name}: {e}"))?;
    Ok((moto, aws, overrides))
}
