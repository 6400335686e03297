//! The seed scenario end to end, against real local parts: moto for CloudWatch alarms
//! (PutMetricAlarm, SetAlarmState, DescribeAlarms) and EKS DescribeCluster, and the
//! Kubernetes API stand-in over HTTPS (CA from openssl, every request's EKS token
//! decoded and its SigV4 signature re-computed by botocore). The scaler runs
//! in-process on the events Lambda would pass it, at chosen times.

use test_support::kubernetes_stack as common;

use chrono::{DateTime, Duration, Utc};
use common::StandIn;
use common::*;
use scaler::{Config, Scaler};
use serde_json::{json, Value};

const ALARM: &str = "orders-queue-depth-high";

fn config(standin: &str, ca: &std::path::Path) -> String {
    format!(
        r#"
clusters:
  prod:
    endpoint: {standin}
    ca_file: {ca}
    token: {{eks: {{name: prod, region: us-east-1}}}}
policies:
  - name: orders-backlog
    triggers: {{alarms: [{ALARM}]}}
    target: {{cluster: prod, namespace: orders, kind: HorizontalPodAutoscaler, name: consumer}}
    while_firing: {{max_replicas: {{add: 5}}}}
    ceiling: 40
    cooldown: 15m
  - name: consumer-direct
    triggers: {{alarms: [{ALARM}]}}
    target: {{cluster: prod, namespace: orders, kind: Deployment, name: consumer}}
    while_firing: {{replicas: {{add: 2}}}}
    ceiling: 40
  - name: db-dry-run
    triggers: {{alarms: [{ALARM}]}}
    target: {{cluster: prod, namespace: orders, kind: StatefulSet, name: db}}
    while_firing: {{replicas: {{set: 5}}}}
    ceiling: 5
    dry_run: true
  - name: web-errors
    triggers: {{matchers: ['alertname="Web5xx"', 'severity=~"critical|page"']}}
    target: {{cluster: prod, namespace: web, kind: Deployment, name: web}}
    while_firing: {{replicas: {{multiply: 2}}}}
    ceiling: 8
    cooldown: 10m
"#,
        ca = ca.display()
    )
}

/// The objects every test starts with: the seed scenario's HPA (2..10) and the
/// Deployment it manages (8 of its 10), a StatefulSet and a standalone Deployment.
async fn seed(standin: &StandIn) -> Result<(), String> {
    standin
        .put(
            "horizontalpodautoscalers",
            "orders",
            "consumer",
            hpa("consumer", "orders", "consumer", 2, 10),
        )
        .await?;
    standin
        .put(
            "deployments",
            "orders",
            "consumer",
            workload("Deployment", "consumer", "orders", 8),
        )
        .await?;
    standin
        .put(
            "statefulsets",
            "orders",
            "db",
            workload("StatefulSet", "db", "orders", 3),
        )
        .await?;
    standin
        .put(
            "deployments",
            "web",
            "web",
            workload("Deployment", "web", "web", 3),
        )
        .await?;
    Ok(())
}

fn t0() -> DateTime<Utc> {
    Utc::now()
}

fn annotations(object: &Value) -> serde_json::Map<String, Value> {
    object["metadata"]["annotations"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

fn report<'a>(
    summary: &'a scaler::Summary,
    policy: &str,
) -> Option<&'a scaler::summary::PolicyReport> {
    summary.policies.iter().find(|p| p.policy == policy)
}

/// An AlertBatch as the alarm-handler's scaler receiver publishes it.
fn alert_batch(status: &str, starts: DateTime<Utc>, ends: Option<DateTime<Utc>>) -> String {
    let mut alert = json!({
        "labels": {"alertname": "Web5xx", "severity": "critical", "service": "web", "source": "grafana"},
        "annotations": {"summary": "5xx above 5%"},
        "status": status,
        "startsAt": starts.to_rfc3339(),
        "fingerprint": alert_model::fingerprint(&[
            ("alertname".to_string(), "Web5xx".to_string()),
            ("service".to_string(), "web".to_string()),
            ("severity".to_string(), "critical".to_string()),
            ("source".to_string(), "grafana".to_string()),
        ].into_iter().collect()),
    });
    if let Some(ends) = ends {
        alert["endsAt"] = json!(ends.to_rfc3339());
    }
    json!({
        "schemaVersion": "1", "receiver": "scaler", "status": status,
        "groupLabels": {"alertname": "Web5xx"}, "commonLabels": {"alertname": "Web5xx"},
        "sourceFormat": "grafana_json", "alerts": [alert]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_alarm_raises_hpa_max_and_recovery_restores_it() -> Result<(), String> {
    let stack = start_stack().await?;
    let (standin, aws, cw, certs) = (&stack.standin, &stack.aws, &stack.cw, &stack.certs);
    put_alarm(cw, ALARM).await?;
    seed(standin).await?;
    let config = Config::parse(&config(&standin.url, &certs.ca())).map_err(|e| e.to_string())?;
    let scaler = Scaler::new(config, aws);
    let start = t0();

    // The queue grows: the alarm fires and its EventBridge event arrives.
    set_alarm(cw, ALARM, "ALARM").await?;
    let fired = scaler
        .handle(&alarm_event(ALARM, "ALARM", "OK"), start)
        .await
        .map_err(|e| format!("{e}: {:?}", e.summary))?;
    let hpa_now = standin
        .get("horizontalpodautoscalers", "orders", "consumer")
        .await?;
    assert_eq!(
        hpa_now["spec"]["maxReplicas"], 15,
        "10 + 5, within the ceiling 40"
    );
    assert_eq!(hpa_now["spec"]["minReplicas"], 2);
    let a = annotations(&hpa_now);
    assert_eq!(
        a["scaler.metrics-pipeline/original"],
        r#"{"maxReplicas":10,"minReplicas":2}"#
    );
    assert_eq!(a["scaler.metrics-pipeline/policy"], "orders-backlog");
    assert_eq!(a["scaler.metrics-pipeline/step"], "1");
    assert_eq!(fired.changes, 1, "{fired:?}");
    assert_eq!(fired.describe_alarms_calls, 1);
    // The Deployment the HPA manages is not scaled directly.
    let direct = report(&fired, "consumer-direct").ok_or("no report for consumer-direct")?;
    assert_eq!(direct.action, "skipped");
    assert!(
        direct.warnings.iter().any(|w| w.contains("orders-backlog")),
        "{direct:?}"
    );
    assert_eq!(
        standin.get("deployments", "orders", "consumer").await?["spec"]["replicas"],
        8
    );
    // Dry run: decided, reported, nothing written.
    let dry = report(&fired, "db-dry-run").ok_or("no report for db-dry-run")?;
    assert_eq!((dry.action.as_str(), dry.dry_run), ("apply", true));
    assert_eq!(fired.dry_run_changes, 1);
    let db = standin.get("statefulsets", "orders", "db").await?;
    assert_eq!(db["spec"]["replicas"], 3);
    assert!(
        annotations(&db).is_empty(),
        "dry run wrote annotations: {db}"
    );
    let writes = standin.writes().await?;
    assert!(
        writes
            .iter()
            .all(|w| !w["path"].as_str().unwrap_or("").contains("statefulsets")),
        "dry run patched: {writes:?}"
    );
    // Every request carried a valid EKS token (checked by botocore in the stand-in).
    let log = standin.requests().await?;
    assert!(!log.is_empty());
    assert!(log.iter().all(|r| r["auth_ok"] == true), "{log:?}");
    // A Kubernetes Event on the HPA says what happened.
    let events = standin.events().await?;
    assert!(
        events.iter().any(|e| e["reason"] == "ScalerApplied"
            && e["involvedObject"]["name"] == "consumer"
            && e["message"].as_str().is_some_and(|m| m.contains("15"))),
        "{events:?}"
    );

    // The same event again (SNS/EventBridge redelivery) and a reconcile: nothing written.
    assert!(assert_within_rbac(standin, "metrics-pipeline-scaler").await? > 5);
    // The checker itself: the role grants no more than the scaler's verbs.
    assert!(!rbac_allows(
        "metrics-pipeline-scaler",
        "delete",
        "apps",
        "deployments"
    )?);
    assert!(!rbac_allows(
        "metrics-pipeline-scaler",
        "update",
        "autoscaling",
        "horizontalpodautoscalers"
    )?);
    assert!(!rbac_allows(
        "metrics-pipeline-scaler",
        "list",
        "",
        "secrets"
    )?);
    // The scaler's group gets none of the scraper's discovery or proxy rights.
    assert!(!rbac_allows("metrics-pipeline-scaler", "list", "", "pods")?);
    assert!(!rbac_allows(
        "metrics-pipeline-scaler",
        "get",
        "",
        "nodes/proxy"
    )?);
    standin.clear_requests().await?;
    let again = scaler
        .handle(
            &alarm_event(ALARM, "ALARM", "OK"),
            start + Duration::minutes(1),
        )
        .await
        .map_err(|e| e.to_string())?;
    let reconcile = scaler
        .handle(&json!({"reconcile": true}), start + Duration::minutes(2))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!((again.changes, reconcile.changes), (0, 0));
    assert!(standin.writes().await?.is_empty(), "a repeated event wrote");
    assert_eq!(
        standin
            .get("horizontalpodautoscalers", "orders", "consumer")
            .await?["spec"]["maxReplicas"],
        15
    );

    // An old OK event arriving late, while the alarm is still ALARM: not acted on.
    let late_ok = scaler
        .handle(
            &alarm_event(ALARM, "OK", "ALARM"),
            start + Duration::minutes(3),
        )
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(late_ok.stale_alarm_events, 1);
    assert_eq!(late_ok.policies_run, 0);
    let a = annotations(
        &standin
            .get("horizontalpodautoscalers", "orders", "consumer")
            .await?,
    );
    assert!(!a.contains_key("scaler.metrics-pipeline/ok-since"));

    // The queue drains: the alarm goes OK; the OK event starts the cooldown.
    set_alarm(cw, ALARM, "OK").await?;
    let ok = scaler
        .handle(
            &alarm_event(ALARM, "OK", "ALARM"),
            start + Duration::minutes(5),
        )
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        report(&ok, "orders-backlog").map(|r| r.action.as_str()),
        Some("cooldown_started")
    );
    // A late ALARM event now disagrees with DescribeAlarms: not acted on.
    let late_alarm = scaler
        .handle(
            &alarm_event(ALARM, "ALARM", "OK"),
            start + Duration::minutes(6),
        )
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(late_alarm.stale_alarm_events, 1);
    let mid = scaler
        .handle(
            &json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
            start + Duration::minutes(19),
        )
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        report(&mid, "orders-backlog").map(|r| r.action.as_str()),
        Some("cooling")
    );
    assert_eq!(
        standin
            .get("horizontalpodautoscalers", "orders", "consumer")
            .await?["spec"]["maxReplicas"],
        15
    );

    // OK for the whole cooldown: the reconcile restores the original.
    let restored = scaler
        .handle(&json!({"reconcile": true}), start + Duration::minutes(21))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        report(&restored, "orders-backlog").map(|r| r.action.as_str()),
        Some("restore")
    );
    let hpa_now = standin
        .get("horizontalpodautoscalers", "orders", "consumer")
        .await?;
    assert_eq!(
        (
            hpa_now["spec"]["minReplicas"].clone(),
            hpa_now["spec"]["maxReplicas"].clone()
        ),
        (json!(2), json!(10))
    );
    let a = annotations(&hpa_now);
    assert!(!a.contains_key("scaler.metrics-pipeline/original"), "{a:?}");
    assert!(a.contains_key("scaler.metrics-pipeline/last-change"));
    assert!(standin
        .events()
        .await?
        .iter()
        .any(|e| e["reason"] == "ScalerRestored"));

    // Fires again while another writer edits the HPA between our read and write:
    // the 409 is retried on a fresh read and the scaler converges, keeping their edit.
    set_alarm(cw, ALARM, "ALARM").await?;
    standin
        .conflict(
            "horizontalpodautoscalers",
            "orders",
            "consumer",
            1,
            json!({"metadata": {"annotations": {"team": "orders"}}}),
        )
        .await?;
    let raced = scaler
        .handle(&json!({"reconcile": true}), start + Duration::minutes(30))
        .await
        .map_err(|e| e.to_string())?;
    let r = report(&raced, "orders-backlog").ok_or("no report")?;
    assert_eq!(r.conflicts, 1, "{r:?}");
    assert_eq!(r.error, None);
    let hpa_now = standin
        .get("horizontalpodautoscalers", "orders", "consumer")
        .await?;
    assert_eq!(hpa_now["spec"]["maxReplicas"], 15);
    assert_eq!(annotations(&hpa_now)["team"], "orders");
    let conflicts: Vec<Value> = standin
        .requests()
        .await?
        .into_iter()
        .filter(|r| r["status"] == 409)
        .collect();
    assert_eq!(conflicts.len(), 1, "the stand-in answered one 409");
    assert_within_rbac(standin, "metrics-pipeline-scaler").await?;
    Ok(())
}

/// Grafana/AMP alerts come through the alarm-handler as AlertBatch messages; the
/// policy selects them with matchers and scales a Deployment through `scale`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_batches_scale_a_deployment_and_late_ones_change_nothing() -> Result<(), String> {
    let stack = start_stack().await?;
    let (standin, aws, certs) = (&stack.standin, &stack.aws, &stack.certs);
    seed(standin).await?;
    let config = Config::parse(&config(&standin.url, &certs.ca())).map_err(|e| e.to_string())?;
    let scaler = Scaler::new(config, aws);
    let start = t0();
    let began = start - Duration::minutes(2);

    let firing = sns_event(&alert_batch("firing", began, None), None);
    let s = scaler
        .handle(&firing, start)
        .await
        .map_err(|e| format!("{e}: {:?}", e.summary))?;
    assert_eq!(s.formats, ["alert_batch"]);
    assert_eq!(
        s.describe_alarms_calls, 0,
        "matcher-only policies need no DescribeAlarms"
    );
    let web = standin.get("deployments", "web", "web").await?;
    assert_eq!(web["spec"]["replicas"], 6, "3 x 2");
    assert_eq!(
        annotations(&web)["scaler.metrics-pipeline/original"],
        r#"{"replicas":3}"#
    );
    let writes = standin.writes().await?;
    assert!(
        writes.iter().any(|w| w["method"] == "PATCH"
            && w["path"] == "/apis/apps/v1/namespaces/web/deployments/web/scale"),
        "replicas not written through the scale subresource: {writes:?}"
    );

    let resolved_at = start + Duration::minutes(3);
    let resolved = sns_event(&alert_batch("resolved", began, Some(resolved_at)), None);
    let s = scaler
        .handle(&resolved, start + Duration::minutes(4))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        report(&s, "web-errors").map(|r| r.action.as_str()),
        Some("cooldown_started")
    );
    // The firing notification redelivered late: older than the resolution, ignored.
    let s = scaler
        .handle(&firing, start + Duration::minutes(5))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(s.stale_alerts, 1);
    assert_eq!(
        report(&s, "web-errors").map(|r| r.signal.as_str()),
        Some("ok")
    );
    // Past the 10m cooldown, the scheduled reconcile restores, through a concurrent
    // edit of the Deployment (a real 409 on the first write, then converged).
    standin
        .conflict(
            "deployments",
            "web",
            "web",
            1,
            json!({"metadata": {"labels": {"edited": "yes"}}}),
        )
        .await?;
    let s = scaler
        .handle(&json!({"reconcile": true}), start + Duration::minutes(15))
        .await;
    // The alarm-triggered policies' alarm does not exist in this moto: they hold
    // and say so, and the web policy restores.
    let s = s.map_err(|e| e.to_string())?;
    assert!(
        s.warnings.iter().any(|w| w.contains(ALARM)),
        "{:?}",
        s.warnings
    );
    assert_eq!(
        report(&s, "web-errors").map(|r| r.action.as_str()),
        Some("restore")
    );
    assert_eq!(
        standin.get("deployments", "web", "web").await?["spec"]["replicas"],
        3
    );
    assert_eq!(report(&s, "web-errors").map(|r| r.conflicts), Some(1));
    let web = standin.get("deployments", "web", "web").await?;
    assert_eq!(web["metadata"]["labels"]["edited"], "yes");
    assert!(!annotations(&web).contains_key("scaler.metrics-pipeline/original"));
    assert_within_rbac(standin, "metrics-pipeline-scaler").await?;
    Ok(())
}

/// Raw CloudWatch alarm notifications through SNS are understood too, and the
/// failure paths are errors that say what and where: wrong credentials (401 from
/// the token check), a CA that did not sign the server (TLS refused), an EKS cluster
/// whose DescribeCluster CA is unusable (moto's is random bytes), an unknown event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_cloudwatch_sns_and_failures_are_clear() -> Result<(), String> {
    let stack = start_stack().await?;
    let (standin, aws, cw, certs) = (&stack.standin, &stack.aws, &stack.cw, &stack.certs);
    put_alarm(cw, ALARM).await?;
    set_alarm(cw, ALARM, "ALARM").await?;
    seed(standin).await?;
    let text = config(&standin.url, &certs.ca());
    let scaler = Scaler::new(Config::parse(&text).map_err(|e| e.to_string())?, aws);
    let notification = json!({
        "AlarmName": ALARM, "AlarmDescription": null, "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed", "OldStateValue": "OK",
        "StateChangeTime": "2026-12-01T10:00:00.000+0000", "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:{REGION}:123456789012:alarm:{ALARM}"),
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                    "Statistic": "AVERAGE", "Period": 60, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 30.0, "Dimensions": []}
    });
    let s = scaler
        .handle(
            &sns_event(&notification.to_string(), Some("ALARM: orders")),
            t0(),
        )
        .await
        .map_err(|e| format!("{e}: {:?}", e.summary))?;
    assert_eq!(s.formats, ["cloudwatch_alarm"]);
    assert_eq!(
        standin
            .get("horizontalpodautoscalers", "orders", "consumer")
            .await?["spec"]["maxReplicas"],
        15
    );

    // Wrong secret: the stand-in refuses the token; the error carries the Status.
    let wrong = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&stack.moto.address)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            ACCESS_KEY,
            "not-the-secret",
            Some(SESSION_TOKEN.into()),
            None,
            "t",
        ))
        .load()
        .await;
    let bad = Scaler::new(Config::parse(&text).map_err(|e| e.to_string())?, &wrong);
    let err = match bad.handle(&json!({"reconcile": true}), t0()).await {
        Err(e) => e,
        Ok(s) => return Err(format!("wrong credentials succeeded: {s:?}")),
    };
    let r = report(&err.summary, "orders-backlog").ok_or("no report")?;
    let message = r.error.clone().unwrap_or_default();
    assert!(
        message.contains("401") && message.contains("Unauthorized"),
        "{message}"
    );
    assert!(
        message.contains("prod/orders/HorizontalPodAutoscaler/consumer"),
        "{message}"
    );

    // A CA that did not sign the stand-in's certificate: TLS fails, nothing is sent.
    let other = make_certs()?;
    let untrusted = Scaler::new(
        Config::parse(&config(&standin.url, &other.ca())).map_err(|e| e.to_string())?,
        aws,
    );
    standin.clear_requests().await?;
    let err = match untrusted.handle(&json!({"reconcile": true}), t0()).await {
        Err(e) => e,
        Ok(s) => return Err(format!("untrusted CA succeeded: {s:?}")),
    };
    let message = report(&err.summary, "orders-backlog")
        .and_then(|r| r.error.clone())
        .unwrap_or_default();
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(
        standin.requests().await?.is_empty(),
        "a request got through"
    );

    // EKS by name: DescribeCluster (moto) once per warm container; moto's CA data is
    // not a certificate, which is reported as such.
    let eks = aws_sdk_eks::Client::new(aws);
    eks.create_cluster()
        .name("moto-eks")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
        .send()
        .await
        .map_err(|e| aws_sdk_eks::error::DisplayErrorContext(e).to_string())?;
    let eks_config = text.replacen(
        &format!("    endpoint: {}\n    ca_file: {}\n    token: {{eks: {{name: prod, region: us-east-1}}}}", standin.url, certs.ca().display()),
        "    eks: {name: moto-eks, region: us-east-1}",
        1,
    );
    let by_name = Scaler::new(Config::parse(&eks_config).map_err(|e| e.to_string())?, aws);
    for _ in 0..2 {
        let err = match by_name.handle(&json!({"reconcile": true}), t0()).await {
            Err(e) => e,
            Ok(s) => return Err(format!("moto's fake CA accepted: {s:?}")),
        };
        let message = report(&err.summary, "orders-backlog")
            .and_then(|r| r.error.clone())
            .unwrap_or_default();
        assert!(
            message.contains("cluster prod: CA certificate"),
            "{message}"
        );
    }
    assert_eq!(
        by_name.describe_cluster_calls(),
        1,
        "DescribeCluster is cached"
    );

    // An alarm no policy names: nothing runs, nothing is called stale, and it says so.
    let unrelated = scaler
        .handle(&alarm_event("someone-elses-alarm", "ALARM", "OK"), t0())
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        (unrelated.policies_run, unrelated.stale_alarm_events),
        (0, 0)
    );
    assert_eq!(unrelated.describe_alarms_calls, 0);
    assert!(
        unrelated
            .warnings
            .iter()
            .any(|w| w.contains("none of the 1 alerts")),
        "{:?}",
        unrelated.warnings
    );

    // An event nobody sends the scaler: an error naming what arrived.
    let err = match scaler.handle(&json!({"hello": "world"}), t0()).await {
        Err(e) => e,
        Ok(s) => return Err(format!("unknown event accepted: {s:?}")),
    };
    assert!(
        err.to_string().contains("unrecognised event") && err.to_string().contains("hello"),
        "{err}"
    );
    assert_eq!(err.summary.errors, 1);
    Ok(())
}

/// Two warm containers handling the same alarm at the same moment (SNS and
/// EventBridge both deliver it): exactly one change lands, the other invocation sees
/// it (directly or after a 409) and writes nothing more, and the recorded original
/// is the real one, not the other invocation's raised value.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_invocations_converge_on_one_change() -> Result<(), String> {
    let stack = start_stack().await?;
    let (standin, aws) = (&stack.standin, &stack.aws);
    seed(standin).await?;
    stack.alarm(ALARM, "ALARM").await?;
    for round in 0..5 {
        standin
            .put(
                "horizontalpodautoscalers",
                "orders",
                "consumer",
                hpa("consumer", "orders", "consumer", 2, 10),
            )
            .await?;
        let text = config(&standin.url, &stack.certs.ca());
        let a = Scaler::new(Config::parse(&text).map_err(|e| e.to_string())?, aws);
        let b = Scaler::new(Config::parse(&text).map_err(|e| e.to_string())?, aws);
        let now = t0();
        let event = alarm_event(ALARM, "ALARM", "OK");
        let (ra, rb) = tokio::join!(a.handle(&event, now), b.handle(&event, now));
        let (ra, rb) = (
            ra.map_err(|e| e.to_string())?,
            rb.map_err(|e| e.to_string())?,
        );
        let hpa_changes = |s: &scaler::Summary| {
            report(s, "orders-backlog").is_some_and(|r| r.to.is_some() && r.action == "apply")
        };
        let applied = usize::from(hpa_changes(&ra)) + usize::from(hpa_changes(&rb));
        assert_eq!(applied, 1, "round {round}: {ra:?} {rb:?}");
        let hpa_now = standin
            .get("horizontalpodautoscalers", "orders", "consumer")
            .await?;
        assert_eq!(hpa_now["spec"]["maxReplicas"], 15, "round {round}");
        assert_eq!(
            annotations(&hpa_now)["scaler.metrics-pipeline/original"],
            r#"{"maxReplicas":10,"minReplicas":2}"#,
            "round {round}"
        );
    }
    Ok(())
}
