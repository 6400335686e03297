//! infra/template.yaml wires what the functions expect: each function is an arm64
//! `provided.al2023` Cargo Lambda build of its crate with a failure queue, a log group
//! with the retention parameter and three alarms to the alerts topic; the events the
//! schedules and rules send are accepted by the functions' own event parsers; the
//! starter configs the stack writes to SSM pass the functions' own config validation;
//! every function can read exactly its own config parameters. infra/eks-rbac.yaml
//! holds exactly the scaler's and the scraper's verbs, each for its own group.

use crate::cfn;

use std::path::PathBuf;

use cfn::{Resolver, ACCOUNT, REGION};
use serde::Deserialize as _;
use serde_json::{json, Value};

const WORKSPACE: &str = "arn:aws:aps:eu-west-1:123456789012:workspace/ws-1234abcd";

fn root() -> PathBuf {
    crate::repository_root()
}

pub(crate) fn template() -> Value {
    cfn::load(&root().join("infra/template.yaml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Resolved resources for the default parameters (plus the required workspace).
pub(crate) fn resolved(template: &Value, overrides: &[(&str, &str)]) -> Vec<(String, Value)> {
    let mut all = vec![("AmpWorkspaceArn", WORKSPACE)];
    all.extend_from_slice(overrides);
    let resolver = Resolver::new(template, &all).expect("resolves");
    resolver
        .resources()
        .expect("resources")
        .into_iter()
        .map(|(id, r)| {
            let value = resolver
                .resolve(&r)
                .unwrap_or_else(|e| panic!("{id}: {e}"))
                .expect("value");
            (id, value)
        })
        .collect()
}

pub(crate) fn find<'a>(resources: &'a [(String, Value)], id: &str) -> &'a Value {
    resources
        .iter()
        .find(|(i, _)| i == id)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no resource {id}"))
}

fn of_type<'a>(resources: &'a [(String, Value)], kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// IAM resource matching (`*` matches any run of characters).
fn iam_matches(pattern: &str, arn: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == arn,
        Some((head, tail)) => {
            arn.starts_with(head)
                && (0..=arn.len() - head.len()).any(|i| iam_matches(tail, &arn[head.len() + i..]))
        }
    }
}

fn ssm_arn(name: &str) -> String {
    format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}")
}

/// The resources a role's resolved policies grant `action` on.
fn granted(resources: &[(String, Value)], role: &str, action: &str) -> Vec<String> {
    let mut out = Vec::new();
    for policy in find(resources, role)["Properties"]["Policies"]
        .as_array()
        .expect("policies")
    {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
        {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if actions.contains(&action) {
                match &statement["Resource"] {
                    Value::String(r) => out.push(r.clone()),
                    Value::Array(r) => {
                        out.extend(r.iter().filter_map(Value::as_str).map(str::to_string))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

const FUNCTIONS: [(&str, &str, &str); 3] = [
    ("ScraperFunction", "scraper", "Scraper"),
    ("AlarmHandlerFunction", "alarm-handler", "AlarmHandler"),
    ("ScalerFunction", "scaler", "Scaler"),
];

#[test]
fn three_arm64_cargo_lambda_functions_built_from_their_crates() {
    let template = template();
    let resources = resolved(&template, &[]);
    let functions = of_type(&resources, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 3);
    for (id, package, _) in FUNCTIONS {
        let function = find(&resources, id);
        let p = &function["Properties"];
        assert_eq!(
            function["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{id}"
        );
        assert_eq!(p["Runtime"], "provided.al2023", "{id}");
        assert_eq!(p["Architectures"], json!(["arm64"]), "{id}");
        assert_eq!(p["Handler"], "bootstrap", "{id}");
        // CodeUri is relative to the template; the crate there is the function's
        // package with a binary of the same name.
        let code = root()
            .join("infra")
            .join(p["CodeUri"].as_str().expect("CodeUri"));
        let manifest = std::fs::read_to_string(code.join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{id}: {}: {e}", code.display()));
        assert!(
            manifest.contains(&format!("name = \"{package}\"\n")) && manifest.contains("[[bin]]"),
            "{id}: {manifest}"
        );
        let memory: u32 = p["MemorySize"]
            .as_str()
            .map(|s| s.parse().expect("number"))
            .or(p["MemorySize"].as_u64().map(|n| n as u32))
            .expect("MemorySize");
        assert!((128..=10240).contains(&memory), "{id}: {memory}");
        assert!(p["Timeout"].is_string() || p["Timeout"].is_u64(), "{id}");
    }
}

#[test]
fn each_function_has_a_failure_queue_a_log_group_and_three_alarms_to_the_alerts_topic() {
    let template = template();
    let resources = resolved(&template, &[("LogRetentionDays", "14")]);
    let alerts_topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:AlertsTopic");
    for (id, _, prefix) in FUNCTIONS {
        let function = find(&resources, id);
        let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{prefix}FailureQueue");
        // Async invocations that fail all retries go to the queue.
        let invoke = of_type(&resources, "AWS::Lambda::EventInvokeConfig")
            .into_iter()
            .find(|(_, r)| r["Properties"]["FunctionName"] == id)
            .unwrap_or_else(|| panic!("{id}: no EventInvokeConfig"))
            .1;
        assert_eq!(
            invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"],
            queue_arn.as_str(),
            "{id}"
        );
        // Its role may send there.
        let role = function["Properties"]["Role"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .expect("role");
        assert!(
            granted(&resources, role, "sqs:SendMessage").contains(&queue_arn),
            "{id}"
        );
        // Logs go to a group with the retention parameter.
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]
            .as_str()
            .expect("log group");
        assert_eq!(
            find(&resources, group)["Properties"]["RetentionInDays"],
            "14",
            "{id}"
        );
        // Errors, Throttles and the queue depth alarm to the alerts topic.
        let alarms: Vec<&Value> = of_type(&resources, "AWS::CloudWatch::Alarm")
            .into_iter()
            .map(|(_, a)| &a["Properties"])
            .filter(|a| {
                a["Dimensions"][0]["Value"] == id
                    || a["Dimensions"][0]["Value"] == format!("{prefix}FailureQueue")
            })
            .collect();
        let mut metrics: Vec<&str> = alarms
            .iter()
            .filter_map(|a| a["MetricName"].as_str())
            .collect();
        metrics.sort();
        assert_eq!(
            metrics,
            vec!["ApproximateNumberOfMessagesVisible", "Errors", "Throttles"],
            "{id}"
        );
        for alarm in alarms {
            assert_eq!(alarm["AlarmActions"], json!([alerts_topic]), "{id}");
            assert_eq!(alarm["OKActions"], json!([alerts_topic]), "{id}");
        }
    }
}

#[test]
fn the_scraper_schedule_sends_an_event_the_scraper_reads() {
    let template = template();
    let resources = resolved(&template, &[("ConfigParameterPrefix", "/pipe")]);
    let schedule = &find(&resources, "ScraperDefaultSchedule")["Properties"];
    assert_eq!(schedule["ScheduleExpression"], "rate(1 minute)");
    assert_eq!(schedule["FlexibleTimeWindow"]["Mode"], "OFF");
    let target = &schedule["Target"];
    assert_eq!(
        target["Arn"],
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:ScraperFunction")
    );
    assert_eq!(
        target["DeadLetterConfig"]["Arn"],
        format!("arn:aws:sqs:{REGION}:{ACCOUNT}:ScraperFailureQueue")
    );
    // EventBridge Scheduler replaces the context attribute with the scheduled time,
    // e.g. 2022-03-22T18:59:43Z (its documentation's example).
    let input = target["Input"]
        .as_str()
        .expect("input")
        .replace("<aws.scheduler.scheduled-time>", "2026-11-23T10:05:00Z");
    let event: Value = serde_json::from_str(&input).expect("the input is JSON");
    assert_eq!(
        scraper::event::config_source(&event).expect("source"),
        config_source::ConfigSource::SsmParameter("/pipe/scraper/default".into())
    );
    assert_eq!(scraper::event::scheduled_time(&event, 0), 1_795_428_300);
    // The environment fallback names the same parameter.
    assert_eq!(
        find(&resources, "ScraperFunction")["Properties"]["Environment"]["Variables"]
            ["SCRAPER_CONFIG_SSM_PARAMETER"],
        "/pipe/scraper/default"
    );
}

#[test]
fn the_scaler_rules_send_events_the_scaler_accepts() {
    let template = template();
    let resources = resolved(&template, &[]);
    let function_arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:ScalerFunction");
    let alarm_rule = &find(&resources, "ScalerAlarmStateRule")["Properties"];
    assert_eq!(
        alarm_rule["EventPattern"],
        json!({"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]})
    );
    assert_eq!(alarm_rule["Targets"][0]["Arn"], function_arn.as_str());
    let reconcile = &find(&resources, "ScalerReconcileRule")["Properties"];
    assert_eq!(reconcile["ScheduleExpression"], "rate(1 minute)");
    assert_eq!(reconcile["Targets"][0]["Arn"], function_arn.as_str());
    assert!(
        reconcile["Targets"][0].get("Input").is_none(),
        "the scaler gets the Scheduled Event itself"
    );
    // What an EventBridge schedule rule delivers.
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": ACCOUNT, "time": "2026-11-23T10:05:00Z", "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/ScalerReconcileRule")],
        "detail": {}
    });
    assert!(matches!(
        scaler::event::parse_invocation(&scheduled).expect("accepted"),
        scaler::event::Invocation::Reconcile
    ));
    // Each trigger may invoke the function, from its own source only.
    let permissions: Vec<(String, String)> = of_type(&resources, "AWS::Lambda::Permission")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["FunctionName"] == "ScalerFunction")
        .map(|(_, p)| {
            (
                p["Properties"]["Principal"]
                    .as_str()
                    .expect("principal")
                    .to_string(),
                p["Properties"]["SourceArn"]
                    .as_str()
                    .expect("source")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        permissions,
        vec![
            (
                "events.amazonaws.com".to_string(),
                format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/ScalerAlarmStateRule")
            ),
            (
                "events.amazonaws.com".to_string(),
                format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/ScalerReconcileRule")
            ),
            (
                "sns.amazonaws.com".to_string(),
                format!("arn:aws:sns:{REGION}:{ACCOUNT}:ScalerTopic")
            ),
        ]
    );
    let subscription = &find(&resources, "ScalerSubscription")["Properties"];
    assert_eq!(subscription["Protocol"], "lambda");
    assert_eq!(subscription["Endpoint"], function_arn.as_str());
}

#[test]
fn the_starter_configs_pass_the_functions_own_validation() {
    let template = template();
    let resources = resolved(&template, &[("ConfigParameterPrefix", "/pipe")]);
    let value = |id: &str| {
        let p = &find(&resources, id)["Properties"];
        (
            p["Name"].as_str().expect("name").to_string(),
            p["Value"].as_str().expect("value").to_string(),
        )
    };
    let (name, text) = value("ScraperConfigParameter");
    assert_eq!(name, "/pipe/scraper/default");
    let loaded =
        scraper::config::Config::from_yaml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let write = &loaded.config.remote_write[0];
    assert_eq!(
        write.url,
        "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234abcd/api/v1/remote_write"
    );
    // Run state (ScraperState, default true) in the stack's bucket, under a prefix
    // the scraper's role may read and write.
    let state = loaded
        .config
        .scraper
        .state
        .as_ref()
        .unwrap_or_else(|| panic!("no scraper.state\n{text}"));
    assert_eq!(state.s3.bucket, "ScraperStateBucket");
    assert_eq!(state.s3.prefix, "scraper-state/default/");
    let object = format!(
        "arn:aws:s3:::{}/{}shard-0-of-1.state",
        state.s3.bucket, state.s3.prefix
    );
    for action in ["s3:GetObject", "s3:PutObject"] {
        let allowed = granted(&resources, "ScraperRole", action);
        assert!(
            allowed.iter().any(|p| iam_matches(p, &object)),
            "{action} on {object}: {allowed:?}"
        );
    }
    // Without ScraperState: no state block, and still a valid config.
    let stateless = resolved(
        &template,
        &[
            ("ConfigParameterPrefix", "/pipe"),
            ("ScraperState", "false"),
        ],
    );
    let text = find(&stateless, "ScraperConfigParameter")["Properties"]["Value"]
        .as_str()
        .expect("value");
    let loaded = scraper::config::Config::from_yaml(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(loaded.config.scraper.state.is_none(), "{text}");

    let (name, text) = value("AlarmHandlerConfigParameter");
    assert_eq!(name, "/pipe/alarm-handler/config");
    let config =
        alarm_handler::Config::parse(&text, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let settings = &config.file.alarm_handler;
    assert_eq!(
        settings.idempotency_table.as_deref(),
        Some("IdempotencyTable")
    );
    assert_eq!(settings.state_table.as_deref(), Some("IdempotencyTable"));
    // Every topic it routes to may be published to by its role.
    let publish = granted(&resources, "AlarmHandlerRole", "sns:Publish");
    for receiver in &config.file.receivers {
        for sns in &receiver.sns_configs {
            let topic = sns.topic_arn.as_deref().expect("topic");
            assert!(
                publish.iter().any(|p| p == topic),
                "{topic} not in {publish:?}"
            );
        }
    }

    let (name, text) = value("ScalerConfigParameter");
    assert_eq!(name, "/pipe/scaler/config");
    scaler::Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    for id in [
        "ScraperConfigParameter",
        "AlarmHandlerConfigParameter",
        "ScalerConfigParameter",
    ] {
        let resource = find(&resources, id);
        assert_eq!(resource["DeletionPolicy"], "Retain", "{id}");
        assert_eq!(resource["UpdateReplacePolicy"], "Retain", "{id}");
        assert_eq!(
            resource["Properties"]["Tier"], "Intelligent-Tiering",
            "{id}"
        );
    }
    // Not created when the user manages them.
    let unmanaged = resolved(&template, &[("CreateConfigParameters", "false")]);
    assert!(of_type(&unmanaged, "AWS::SSM::Parameter").is_empty());
}

#[test]
fn every_function_reads_its_own_config_parameters_and_no_others() {
    let template = template();
    let resources = resolved(&template, &[("ConfigParameterPrefix", "/pipe")]);
    let env = |id: &str, var: &str| {
        find(&resources, id)["Properties"]["Environment"]["Variables"][var]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no {var}"))
            .to_string()
    };
    let own = [
        (
            "ScraperRole",
            env("ScraperFunction", "SCRAPER_CONFIG_SSM_PARAMETER"),
        ),
        (
            "AlarmHandlerRole",
            env("AlarmHandlerFunction", "ALARM_HANDLER_CONFIG_SSM_PARAMETER"),
        ),
        (
            "ScalerRole",
            env("ScalerFunction", "SCALER_CONFIG_SSM_PARAMETER"),
        ),
    ];
    // Further scraper configs (other schedules) and the handler's secrets.
    let extra = [
        ("ScraperRole", "/pipe/scraper/cloudwatch-5m".to_string()),
        (
            "AlarmHandlerRole",
            "/pipe/alarm-handler/slack-url".to_string(),
        ),
    ];
    let all: Vec<&(&str, String)> = own.iter().chain(extra.iter()).collect();
    for (role, _) in &own {
        let readable = granted(&resources, role, "ssm:GetParameter");
        for (owner, name) in &all {
            let can = readable.iter().any(|p| iam_matches(p, &ssm_arn(name)));
            assert_eq!(
                can,
                owner == role,
                "{role} reading {name} (owned by {owner}): {readable:?}"
            );
        }
    }
}

#[test]
fn the_alerts_topic_name_starts_with_grafana_unless_given() {
    let template = template();
    let resources = resolved(&template, &[]);
    assert_eq!(
        find(&resources, "AlertsTopic")["Properties"]["TopicName"],
        "grafana-metrics-pipeline-alerts"
    );
    let named = resolved(&template, &[("AlertsTopicName", "grafana-prod")]);
    assert_eq!(
        find(&named, "AlertsTopic")["Properties"]["TopicName"],
        "grafana-prod"
    );
    let subscription = &find(&resources, "AlertsSubscription")["Properties"];
    assert_eq!(
        subscription["TopicArn"],
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:AlertsTopic")
    );
    assert_eq!(
        subscription["Endpoint"],
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:AlarmHandlerFunction")
    );
    let table = &find(&resources, "IdempotencyTable")["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
}

#[test]
fn the_outputs_name_topics_functions_and_the_role_to_map_into_eks() {
    let template = template();
    let outputs = template["Outputs"].as_object().expect("outputs");
    for key in [
        "AlertsTopicArn",
        "NotificationsTopicArn",
        "ScalerTopicArn",
        "ScraperFunctionArn",
        "AlarmHandlerFunctionArn",
        "ScalerFunctionArn",
        "ScalerRoleArn",
        "SchedulerRoleArn",
    ] {
        assert!(outputs.contains_key(key), "no output {key}");
    }
    assert_eq!(
        outputs["ScalerRoleArn"]["Value"],
        json!({"Fn::GetAtt": ["ScalerRole", "Arn"]})
    );
    // The state bucket's name, for further configs' scraper.state, when there is one.
    let bucket = &outputs["ScraperStateBucketName"];
    assert_eq!(bucket["Condition"], "KeepScraperState");
    assert_eq!(bucket["Value"], json!({"Ref": "ScraperStateBucket"}));
    assert_eq!(
        template["Resources"]["ScraperStateBucket"]["Condition"],
        "KeepScraperState"
    );
}

#[test]
fn the_reserved_concurrency_parameters_can_turn_reservation_off() {
    let template = template();
    let defaults = resolved(&template, &[]);
    let reserved = |resources: &[(String, Value)], id: &str| {
        find(resources, id)["Properties"]
            .get("ReservedConcurrentExecutions")
            .cloned()
    };
    assert_eq!(reserved(&defaults, "ScalerFunction"), Some(json!("1")));
    assert_eq!(
        reserved(&defaults, "AlarmHandlerFunction"),
        Some(json!("5"))
    );
    assert_eq!(reserved(&defaults, "ScraperFunction"), Some(json!("10")));
    let off = resolved(
        &template,
        &[
            ("ScalerReservedConcurrency", "0"),
            ("AlarmHandlerReservedConcurrency", "0"),
            ("ScraperReservedConcurrency", "0"),
        ],
    );
    assert_eq!(reserved(&off, "ScalerFunction"), None);
    assert_eq!(reserved(&off, "AlarmHandlerFunction"), None);
    assert_eq!(reserved(&off, "ScraperFunction"), None);
}

/// Every checkov finding the template suppresses carries its reason where it applies:
/// `Metadata.checkov.skip` entries with a check id and a comment of some substance.
#[test]
fn every_checkov_suppression_says_why() {
    let template = template();
    let resources = template["Resources"].as_object().expect("resources");
    let mut skipped = Vec::new();
    for (id, resource) in resources {
        let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() else {
            continue;
        };
        for skip in skips {
            let check = skip["id"].as_str().unwrap_or_default();
            let comment = skip["comment"].as_str().unwrap_or_default();
            assert!(
                check.starts_with("CKV_AWS_"),
                "{id}: skip without a check id: {skip}"
            );
            assert!(
                comment.split_whitespace().count() >= 12,
                "{id} {check}: the reason must say why, not only that: {comment:?}"
            );
            skipped.push(format!("{id} {check}"));
        }
    }
    // The findings justified rather than fixed (docs/security.md lists them).
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "AlarmHandlerFailureQueue CKV_AWS_27",
            "AlarmHandlerFunction CKV_AWS_116",
            "AlarmHandlerFunction CKV_AWS_117",
            "AlarmHandlerFunction CKV_AWS_173",
            "AlarmHandlerLogGroup CKV_AWS_158",
            "AlertsTopic CKV_AWS_26",
            "IdempotencyTable CKV_AWS_119",
            "ScalerFailureQueue CKV_AWS_27",
            "ScalerFunction CKV_AWS_116",
            "ScalerFunction CKV_AWS_117",
            "ScalerFunction CKV_AWS_173",
            "ScalerLogGroup CKV_AWS_158",
            "ScalerTopic CKV_AWS_26",
            "ScraperFailureQueue CKV_AWS_27",
            "ScraperFunction CKV_AWS_116",
            "ScraperFunction CKV_AWS_173",
            "ScraperLogGroup CKV_AWS_158",
            "ScraperStateBucket CKV_AWS_18",
            "ScraperStateBucket CKV_AWS_21",
        ]
    );
}

#[test]
fn eks_rbac_grants_each_function_exactly_its_verbs() {
    let text = std::fs::read_to_string(root().join("infra/eks-rbac.yaml")).expect("read");
    let documents: Vec<Value> = yaml_serde::Deserializer::from_str(&text)
        .map(|d| yaml_serde::Value::deserialize(d).expect("YAML document"))
        .map(|v| serde_json::to_value(v).expect("JSON"))
        .collect();
    let role = |name: &str| {
        documents
            .iter()
            .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("ClusterRole {name}"))
    };
    let binding_subjects = |role_name: &str| {
        let binding = documents
            .iter()
            .find(|d| d["kind"] == "ClusterRoleBinding" && d["roleRef"]["name"] == role_name)
            .unwrap_or_else(|| panic!("binding of {role_name}"));
        assert_eq!(
            binding["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name})
        );
        binding["subjects"].clone()
    };
    assert_eq!(
        documents
            .iter()
            .map(|d| d["kind"].as_str().unwrap_or_default())
            .collect::<Vec<_>>(),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRole",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRoleBinding"
        ]
    );
    assert!(documents
        .iter()
        .all(|d| d["apiVersion"] == "rbac.authorization.k8s.io/v1"));
    // The scaler: read and patch HPAs, patch workloads and their scale, create Events.
    assert_eq!(
        role("metrics-pipeline-scaler")["rules"],
        json!([
            {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "patch"]},
            {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "deployments/scale", "statefulsets/scale"], "verbs": ["get", "patch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
        ])
    );
    assert_eq!(
        binding_subjects("metrics-pipeline-scaler"),
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "metrics-pipeline-scaler"}])
    );
    // The scraper: list only (no watch, get, or secrets), and the proxy in a role of
    // its own, both bound to the scraper's group and never to the scaler's.
    assert_eq!(
        role("metrics-pipeline-scraper")["rules"],
        json!([
            {"apiGroups": [""], "resources": ["nodes", "pods", "services", "endpoints", "namespaces"], "verbs": ["list"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["list"]},
            {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["list"]}
        ])
    );
    assert_eq!(
        role("metrics-pipeline-scraper-proxy")["rules"],
        json!([{"apiGroups": [""], "resources": ["nodes/proxy", "pods/proxy"], "verbs": ["get"]}])
    );
    for name in ["metrics-pipeline-scraper", "metrics-pipeline-scraper-proxy"] {
        assert_eq!(
            binding_subjects(name),
            json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "metrics-pipeline-scraper"}])
        );
    }
    // The access entry commands in the file map each role into its group.
    assert!(text.contains("--kubernetes-groups metrics-pipeline-scaler"));
    assert!(text.contains("--kubernetes-groups metrics-pipeline-scraper"));
}

/// The scraper's health alarms watch figures its summary line really carries: a run
/// whose samples went unsent and whose targets were down, printed as the Lambda
/// prints it, gives values over both alarms' thresholds under the alarms' namespace
/// and dimension. They do not depend on AMP, which may be what is down.
#[test]
fn the_scraper_health_alarms_watch_the_emf_figures_of_its_summary_line() {
    use scraper::summary::{CountersSnapshot, RunSummary};

    let template = template();
    let resources = resolved(
        &template,
        &[
            ("ScraperAlarmPeriod", "300"),
            ("ScraperTargetsDownRuns", "4"),
        ],
    );
    let run = RunSummary {
        targets: 10,
        counters: CountersSnapshot {
            targets_up: 7,
            targets_down: 3,
            samples_scraped: 900,
            samples_unsent: 900,
            requests_failed: 2,
            ..CountersSnapshot::default()
        },
        duration_seconds: 1.5,
        deadline_seconds: 60.0,
        deadline_hit: false,
        target_reports: Vec::new(),
        discovery: Vec::new(),
        config_warnings: Vec::new(),
        cloudwatch: None,
        state: None,
    };
    let lines = function_cli::summary_line_with_figures(true, "scraper", &run, 1_700_000_000_000);
    let line: Value = serde_json::from_str(&lines[0]).expect("JSON");
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let alerts_topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:AlertsTopic");
    for (id, metric, expected) in [
        ("ScraperSamplesUnsentAlarm", "SamplesUnsent", 900.0),
        ("ScraperTargetsDownAlarm", "TargetsDown", 3.0),
    ] {
        let alarm = &find(&resources, id)["Properties"];
        assert_eq!(alarm["Namespace"], directive["Namespace"], "{id}");
        assert_eq!(alarm["MetricName"], metric, "{id}");
        assert!(
            directive["Metrics"]
                .as_array()
                .is_some_and(|m| m.iter().any(|d| d["Name"] == metric)),
            "{id}: the summary line declares {metric}: {line}"
        );
        assert_eq!(line[metric], expected, "{id}");
        let threshold = alarm["Threshold"].as_f64().expect("threshold");
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold", "{id}");
        assert!(expected > threshold, "{id}: the run breaches the alarm");
        let dimensions = alarm["Dimensions"].as_array().expect("dimensions");
        assert_eq!(dimensions.len(), 1, "{id}");
        assert_eq!(
            line[dimensions[0]["Name"].as_str().expect("name")],
            dimensions[0]["Value"],
            "{id}: the alarm's dimension is the line's"
        );
        assert_eq!(directive["Dimensions"], json!([["Function"]]), "{id}");
        assert_eq!(alarm["Period"], "300", "{id}");
        assert_eq!(alarm["AlarmActions"], json!([alerts_topic]), "{id}");
        assert_eq!(alarm["OKActions"], json!([alerts_topic]), "{id}");
    }
    let down = &find(&resources, "ScraperTargetsDownAlarm")["Properties"];
    assert_eq!(down["EvaluationPeriods"], "4");
    assert_eq!(down["DatapointsToAlarm"], "4");
    let with_extra = resolved(
        &template,
        &[(
            "PipelineAlarmExtraTopicArn",
            "arn:aws:sns:eu-west-1:123456789012:ops",
        )],
    );
    assert_eq!(
        find(&with_extra, "ScraperSamplesUnsentAlarm")["Properties"]["AlarmActions"],
        json!([alerts_topic, "arn:aws:sns:eu-west-1:123456789012:ops"]),
        "the extra topic bypasses the alarm-handler"
    );
}
