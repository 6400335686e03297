//! infra/template.yaml grants least privilege: no wildcard action anywhere, `*`
//! resources only for actions without resource-level permissions, in every branch of
//! the template and in what CloudFormation creates for real parameter values (every
//! role's grants compared with the exact list). The checker itself is tested on small
//! templates with one bad statement each.

use crate::{cfn, iam_check};

use std::collections::{BTreeMap, BTreeSet};

use cfn::{Resolver, ACCOUNT, REGION};
use serde_json::Value;

fn template() -> Value {
    let path = crate::repository_root().join("infra/template.yaml");
    cfn::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

const WORKSPACE: &str = "arn:aws:aps:us-east-1:123456789012:workspace/ws-1234abcd";

/// Every optional feature on.
const ALL_ON: &[(&str, &str)] = &[
    ("AmpWorkspaceArn", WORKSPACE),
    (
        "ScraperAssumeRoleArns",
        "arn:aws:iam::210987654321:role/cw-read, arn:aws:iam::123456789012:role/amp-writer",
    ),
    ("ScraperSubnetIds", "subnet-0a,subnet-0b"),
    ("ScraperSecurityGroupIds", "sg-01"),
    (
        "ExtraReceiverTopicArns",
        "arn:aws:sns:us-east-1:123456789012:team-db",
    ),
    (
        "GrafanaPublisherRoleArn",
        "arn:aws:iam::111122223333:role/grafana",
    ),
    ("EksClusterNames", "prod-a,stage_b"),
    ("ConfigParameterPrefix", "/pipe"),
    (
        "PipelineAlarmExtraTopicArn",
        "arn:aws:sns:us-east-1:123456789012:ops",
    ),
    ("EncryptionKey", "create"),
    ("ScraperAwsDiscovery", "true"),
    ("ScraperState", "true"),
];

/// The ARN the resolver gives the state bucket (S3 ARNs name no region or account).
const STATE_BUCKET_ARN: &str = "arn:aws:s3:::ScraperStateBucket";

/// Action -> resources over a role's resolved Allow statements.
fn grants(resolver: &Resolver, role: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in iam_check::role_statements(resolver, role).expect("statements") {
        assert_eq!(statement["Effect"], "Allow", "{statement}");
        let list = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().expect("string").to_string())
                    .collect(),
                other => panic!("unexpected {other}"),
            }
        };
        for action in list(&statement["Action"]) {
            out.entry(action)
                .or_default()
                .extend(list(&statement["Resource"]));
        }
    }
    out
}

/// Every role the template creates; the scraper's first.
const ROLES: &[&str] = &[
    "ScraperRole",
    "AlarmHandlerRole",
    "ScalerRole",
    "SchedulerRole",
    "AlarmHandlerFlushRole",
];

/// Asserts that none of `roles` is granted an action of the service `prefix` (`s3:`).
fn assert_no_grant_of(resolver: &Resolver, roles: &[&str], prefix: &str) {
    for &role in roles {
        let granted = grants(resolver, role);
        assert!(
            !granted.keys().any(|a| a.starts_with(prefix)),
            "{role}: no {prefix} grant expected: {granted:#?}"
        );
    }
}

fn expect(entries: &[(&[&str], &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (actions, resources) in entries {
        for action in *actions {
            out.entry(action.to_string())
                .or_default()
                .extend(resources.iter().map(|r| r.to_string()));
        }
    }
    out
}

fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}")
}

#[test]
fn no_statement_in_any_branch_has_a_wildcard_action_or_an_unjustified_wildcard_resource() {
    let problems = iam_check::check_structure(&template());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn defaults_and_every_feature_on_resolve_to_least_privilege() {
    let template = template();
    for overrides in [&[("AmpWorkspaceArn", WORKSPACE)][..], ALL_ON] {
        let resolver = Resolver::new(&template, overrides).expect("resolves");
        let problems = iam_check::check_resolved(&resolver).expect("resolves");
        assert!(problems.is_empty(), "{overrides:?}: {problems:#?}");
    }
}

#[test]
fn each_role_gets_exactly_what_its_function_calls() {
    let template = template();
    let resolver = Resolver::new(&template, ALL_ON).expect("resolves");
    let logs = |group: &str| arn("logs", &format!("log-group:{group}:*"));
    let queue = |name: &str| arn("sqs", name);
    let write_logs: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

    let key = arn("kms", "key/PipelineKey");
    let messages: &[&str] = &["kms:GenerateDataKey", "kms:Decrypt"];
    let scraper_logs = logs("ScraperLogGroup");
    let scraper_queue = queue("ScraperFailureQueue");
    let prod = arn("eks", "cluster/prod-a");
    let stage = arn("eks", "cluster/stage_b");
    let scraper_configs = arn("ssm", "parameter/pipe/scraper/*");
    let eni = arn("ec2", "network-interface/*");
    let subnets = arn("ec2", "subnet/*");
    let groups = arn("ec2", "security-group/*");
    let state_objects = format!("{STATE_BUCKET_ARN}/scraper-state/*");
    assert_eq!(
        grants(&resolver, "ScraperRole"),
        expect(&[
            (write_logs, &[&scraper_logs]),
            (&["ssm:GetParameter"], &[&scraper_configs]),
            (&["aps:RemoteWrite"], &[WORKSPACE]),
            // Run state (ScraperState): its objects, and listing only their prefix.
            (&["s3:GetObject", "s3:PutObject"], &[&state_objects]),
            (&["s3:ListBucket"], &[STATE_BUCKET_ARN]),
            (
                &[
                    "cloudwatch:GetMetricData",
                    "cloudwatch:ListMetrics",
                    "tag:GetResources"
                ],
                &["*"]
            ),
            (&["sqs:SendMessage"], &[&scraper_queue]),
            (messages, &[&key]),
            (&["eks:DescribeCluster"], &[&prod, &stage]),
            (
                &["sts:AssumeRole"],
                &[
                    "arn:aws:iam::210987654321:role/cw-read",
                    "arn:aws:iam::123456789012:role/amp-writer"
                ]
            ),
            (&["ec2:CreateNetworkInterface"], &[&eni, &subnets, &groups]),
            (
                &[
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses"
                ],
                &[&eni]
            ),
            (
                &["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                &["*"]
            ),
            // ec2_sd_configs / aws_sd_configs (ScraperAwsDiscovery).
            (
                &[
                    "ec2:DescribeInstances",
                    "ec2:DescribeAvailabilityZones",
                    "ecs:ListClusters",
                    "ecs:ListTasks",
                    "ecs:DescribeTaskDefinition"
                ],
                &["*"]
            ),
            (
                &[
                    "ecs:DescribeClusters",
                    "ecs:DescribeServices",
                    "ecs:DescribeTasks",
                    "ecs:DescribeContainerInstances"
                ],
                &[
                    &format!("arn:aws:ecs:*:{ACCOUNT}:cluster/*"),
                    &format!("arn:aws:ecs:*:{ACCOUNT}:service/*"),
                    &format!("arn:aws:ecs:*:{ACCOUNT}:task/*"),
                    &format!("arn:aws:ecs:*:{ACCOUNT}:container-instance/*")
                ]
            ),
        ])
    );
    // Without ScraperAwsDiscovery the scraper lists nothing of EC2 or ECS.
    let without = Resolver::new(&template, &[("AmpWorkspaceArn", WORKSPACE)]).expect("resolves");
    let default_grants = grants(&without, "ScraperRole");
    for action in [
        "ec2:DescribeInstances",
        "ecs:ListTasks",
        "ecs:DescribeTasks",
    ] {
        assert!(
            !default_grants.contains_key(action),
            "{action} granted by default"
        );
    }
    // The subnet and security-group grants hold only for the configured ones.
    let statements = iam_check::role_statements(&resolver, "ScraperRole").expect("statements");
    let condition = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .map(|s| s["Condition"]["StringEquals"].clone())
            .unwrap_or_else(|| panic!("no {sid}"))
    };
    assert_eq!(
        condition("VpcOnlyTheseSubnets"),
        serde_json::json!({"ec2:SubnetID": ["subnet-0a", "subnet-0b"]})
    );
    assert_eq!(
        condition("VpcOnlyTheseSecurityGroups"),
        serde_json::json!({"ec2:SecurityGroupID": ["sg-01"]})
    );

    let handler_logs = logs("AlarmHandlerLogGroup");
    let handler_queue = queue("AlarmHandlerFailureQueue");
    let handler_params = arn("ssm", "parameter/pipe/alarm-handler/*");
    let table = arn("dynamodb", "table/IdempotencyTable");
    let notifications = arn("sns", "NotificationsTopic");
    let scaler_topic = arn("sns", "ScalerTopic");
    assert_eq!(
        grants(&resolver, "AlarmHandlerRole"),
        expect(&[
            (write_logs, &[&handler_logs]),
            (&["ssm:GetParameter"], &[&handler_params]),
            (
                &[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:UpdateItem"
                ],
                &[&table]
            ),
            (
                &["sns:Publish"],
                &[
                    &notifications,
                    &scaler_topic,
                    "arn:aws:sns:us-east-1:123456789012:team-db"
                ]
            ),
            (&["sqs:SendMessage"], &[&handler_queue]),
            (messages, &[&key]),
            (
                &[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey"
                ],
                &[&key]
            ),
        ])
    );
    // Every kms grant holds only through the service that uses the key.
    let via = |role: &str, sid: &str| {
        iam_check::role_statements(&resolver, role)
            .expect("statements")
            .into_iter()
            .find(|s| s["Sid"] == sid)
            .map(|s| s["Condition"].clone())
            .unwrap_or_else(|| panic!("{role}: no {sid}"))
    };
    let only = |services: &[&str]| {
        let services: Vec<String> = services
            .iter()
            .map(|s| format!("{s}.us-east-1.amazonaws.com"))
            .collect();
        let value = match services.as_slice() {
            [one] => serde_json::json!(one),
            many => serde_json::json!(many),
        };
        serde_json::json!({"StringEquals": {"kms:ViaService": value}})
    };
    assert_eq!(
        via("AlarmHandlerRole", "EncryptedTable"),
        only(&["dynamodb"])
    );
    assert_eq!(
        via("AlarmHandlerRole", "EncryptedMessages"),
        only(&["sns", "sqs"])
    );
    for role in ["ScraperRole", "ScalerRole"] {
        assert_eq!(via(role, "EncryptedMessages"), only(&["sqs"]), "{role}");
    }
    assert_eq!(via("SchedulerRole", "EncryptedDeadLetters"), only(&["sqs"]));

    let scaler_logs = logs("ScalerLogGroup");
    let scaler_queue = queue("ScalerFailureQueue");
    let scaler_config = arn("ssm", "parameter/pipe/scaler/config");
    assert_eq!(
        grants(&resolver, "ScalerRole"),
        expect(&[
            (write_logs, &[&scaler_logs]),
            (&["ssm:GetParameter"], &[&scaler_config]),
            (&["cloudwatch:DescribeAlarms"], &["*"]),
            (&["eks:DescribeCluster"], &[&prod, &stage]),
            (&["sqs:SendMessage"], &[&scaler_queue]),
            (messages, &[&key]),
        ])
    );

    let function = arn("lambda", "function:ScraperFunction");
    let versions = format!("{function}:*");
    assert_eq!(
        grants(&resolver, "SchedulerRole"),
        expect(&[
            (&["lambda:InvokeFunction"], &[&function, &versions]),
            (&["sqs:SendMessage"], &[&scraper_queue]),
            (messages, &[&key]),
        ])
    );
    // The alarm-handler's flush schedule (AlertTimers, default true) may invoke the
    // alarm-handler and nothing else.
    assert_eq!(
        grants(&resolver, "AlarmHandlerFlushRole"),
        expect(&[
            (
                &["lambda:InvokeFunction"],
                &[&arn("lambda", "function:AlarmHandlerFunction")]
            ),
            (&["sqs:SendMessage"], &[&handler_queue]),
            (messages, &[&key]),
        ])
    );
    assert_eq!(
        via("AlarmHandlerFlushRole", "EncryptedDeadLetters"),
        only(&["sqs"])
    );
}

#[test]
fn optional_grants_are_absent_by_default() {
    let template = template();
    let resolver = Resolver::new(&template, &[("AmpWorkspaceArn", WORKSPACE)]).expect("resolves");
    let scraper = grants(&resolver, "ScraperRole");
    assert!(
        !scraper
            .keys()
            .any(|a| a.starts_with("sts:") || a.starts_with("ec2:") || a.starts_with("eks:")),
        "{scraper:#?}"
    );
    let handler = grants(&resolver, "AlarmHandlerRole");
    assert_eq!(handler["sns:Publish"].len(), 2, "{handler:#?}");
    assert_no_grant_of(&resolver, ROLES, "kms:");
    assert!(
        !resolver
            .resources()
            .expect("resources")
            .iter()
            .any(|(_, r)| r["Type"] == "AWS::KMS::Key"),
        "no key is created by default"
    );
    let scaler = grants(&resolver, "ScalerRole");
    assert!(!scaler.contains_key("eks:DescribeCluster"), "{scaler:#?}");
    // The default prefix.
    assert!(handler["ssm:GetParameter"]
        .contains(&arn("ssm", "parameter/serverless-pipeline/alarm-handler/*")));
}

#[test]
fn cluster_names_become_exact_arns_up_to_five() {
    let template = template();
    for (names, expected) in [
        ("solo", vec!["solo"]),
        ("a,b,c,d,e", vec!["a", "b", "c", "d", "e"]),
        // Documented limit: a sixth name is not granted.
        ("a,b,c,d,e,f", vec!["a", "b", "c", "d", "e"]),
    ] {
        let resolver = Resolver::new(
            &template,
            &[("AmpWorkspaceArn", WORKSPACE), ("EksClusterNames", names)],
        )
        .expect("resolves");
        let expected: BTreeSet<String> = expected
            .iter()
            .map(|n| arn("eks", &format!("cluster/{n}")))
            .collect();
        assert_eq!(
            grants(&resolver, "ScalerRole")["eks:DescribeCluster"],
            expected,
            "{names}"
        );
        assert_eq!(
            grants(&resolver, "ScraperRole")["eks:DescribeCluster"],
            expected,
            "{names}"
        );
    }
}

#[test]
fn the_alerts_topic_policy_admits_amp_cloudwatch_and_an_optional_grafana_role_only() {
    let template = template();
    let resolver = Resolver::new(&template, ALL_ON).expect("resolves");
    let (_, policy) = resolver
        .resources()
        .expect("resources")
        .into_iter()
        .find(|(id, _)| id == "AlertsTopicPolicy")
        .expect("policy");
    let policy = resolver.resolve(&policy).expect("resolves").expect("value");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements")
        .clone();
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap_or_else(|| panic!("no {sid}"))
    };
    let amp = by_sid("AmpAlertManagerPublish");
    assert_eq!(
        amp["Principal"],
        serde_json::json!({"Service": "aps.amazonaws.com"})
    );
    assert_eq!(
        amp["Condition"],
        serde_json::json!({"ArnEquals": {"aws:SourceArn": WORKSPACE}, "StringEquals": {"aws:SourceAccount": ACCOUNT}})
    );
    let cloudwatch = by_sid("CloudWatchAlarmsPublish");
    assert_eq!(
        cloudwatch["Principal"],
        serde_json::json!({"Service": "cloudwatch.amazonaws.com"})
    );
    assert_eq!(
        cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"],
        arn("cloudwatch", "alarm:*")
    );
    let grafana = by_sid("GrafanaPublish");
    assert_eq!(
        grafana["Principal"]["AWS"],
        "arn:aws:iam::111122223333:role/grafana"
    );
    assert_eq!(grafana["Action"], "sns:Publish");
    assert_eq!(statements.len(), 3);

    let defaults = Resolver::new(&template, &[("AmpWorkspaceArn", WORKSPACE)]).expect("resolves");
    let (_, policy) = defaults
        .resources()
        .expect("resources")
        .into_iter()
        .find(|(id, _)| id == "AlertsTopicPolicy")
        .expect("policy");
    let policy = defaults.resolve(&policy).expect("resolves").expect("value");
    assert_eq!(
        policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "no Grafana statement without a Grafana role"
    );
}

/// The resolved statements of `PipelineKey`'s policy.
fn key_policy(resolver: &Resolver) -> Vec<Value> {
    resolved_property(resolver, "PipelineKey", "KeyPolicy")["Statement"]
        .as_array()
        .expect("statements")
        .clone()
}

#[test]
fn the_created_key_admits_exactly_the_services_that_write_into_what_it_encrypts() {
    let template = template();
    let resolver = Resolver::new(&template, ALL_ON).expect("resolves");
    let statements = key_policy(&resolver);
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .cloned()
            .unwrap_or_else(|| panic!("no {sid}"))
    };
    let publish = serde_json::json!(["kms:GenerateDataKey", "kms:Decrypt"]);
    let cloudwatch = by_sid("CloudWatchAlarmsPublish");
    assert_eq!(
        cloudwatch["Principal"],
        serde_json::json!({"Service": "cloudwatch.amazonaws.com"})
    );
    assert_eq!(cloudwatch["Action"], publish);
    assert_eq!(
        cloudwatch["Condition"],
        serde_json::json!({"ArnLike": {"aws:SourceArn": arn("cloudwatch", "alarm:*")}, "StringEquals": {"aws:SourceAccount": ACCOUNT}})
    );
    let amp = by_sid("AmpAlertManagerPublish");
    assert_eq!(
        amp["Principal"],
        serde_json::json!({"Service": "aps.amazonaws.com"})
    );
    assert_eq!(amp["Action"], publish);
    assert_eq!(
        amp["Condition"],
        serde_json::json!({"ArnEquals": {"aws:SourceArn": WORKSPACE}, "StringEquals": {"aws:SourceAccount": ACCOUNT}})
    );
    let sns = by_sid("SnsDeadLetters");
    assert_eq!(
        sns["Principal"],
        serde_json::json!({"Service": "sns.amazonaws.com"})
    );
    assert_eq!(
        sns["Condition"],
        serde_json::json!({"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    );
    let events = by_sid("EventBridgeDeadLetters");
    assert_eq!(
        events["Principal"],
        serde_json::json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(events["Action"], publish);
    let logs = by_sid("LogsEncryptsTheLogGroups");
    assert_eq!(
        logs["Principal"],
        serde_json::json!({"Service": "logs.us-east-1.amazonaws.com"})
    );
    assert_eq!(
        logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"],
        serde_json::json!(["scraper", "alarm-handler", "scaler"]
            .iter()
            .map(|f| arn(
                "logs",
                &format!("log-group:/aws/lambda/metrics-pipeline-{f}")
            ))
            .collect::<Vec<_>>())
    );
    assert_eq!(
        logs["Action"],
        serde_json::json!([
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:DescribeKey"
        ])
    );
    assert_eq!(sns["Action"], publish);
    assert!(
        events.get("Condition").is_none(),
        "EventBridge sends no source keys to KMS: {events}"
    );
    let grafana = by_sid("GrafanaPublish");
    assert_eq!(
        grafana["Principal"]["AWS"],
        "arn:aws:iam::111122223333:role/grafana"
    );
    assert_eq!(grafana["Action"], publish);
    let account = by_sid("AccountAdministersAndDelegatesToIam");
    assert_eq!(
        account["Principal"],
        serde_json::json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")})
    );
    let administers: BTreeSet<&str> = account["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // It must keep the key manageable (no lockout) and delegate use to IAM.
    for needed in [
        "kms:PutKeyPolicy",
        "kms:GetKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:CreateAlias",
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    ] {
        assert!(administers.contains(needed), "{needed}: {account}");
    }
    assert!(grafana.get("Condition").is_none(), "{grafana}");
    assert_eq!(statements.len(), 7);
    for statement in &statements {
        assert_eq!(statement["Resource"], "*", "{statement}");
    }
    let problems = iam_check::check_resolved(&resolver).expect("resolves");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_state_bucket_is_private_expires_orphans_and_the_role_lists_only_its_prefix() {
    let template = template();
    let resolver = Resolver::new(&template, &[("AmpWorkspaceArn", WORKSPACE)]).expect("resolves");
    assert_eq!(resolver.condition_value("KeepScraperState"), Some(true));
    let resources = resolver.resources().expect("resources");
    let raw = |id: &str| {
        resources
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no {id}"))
    };
    let bucket = raw("ScraperStateBucket");
    assert_eq!(bucket["Type"], "AWS::S3::Bucket");
    // A bucket with objects cannot be deleted by CloudFormation: kept, not failed.
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    assert_eq!(bucket["UpdateReplacePolicy"], "Retain");
    let property = |name: &str| resolved_property(&resolver, "ScraperStateBucket", name);
    assert_eq!(
        property("BucketEncryption"),
        serde_json::json!({"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]})
    );
    assert_eq!(
        property("PublicAccessBlockConfiguration"),
        serde_json::json!({
            "BlockPublicAcls": true,
            "BlockPublicPolicy": true,
            "IgnorePublicAcls": true,
            "RestrictPublicBuckets": true
        })
    );
    assert_eq!(
        property("OwnershipControls"),
        serde_json::json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    );
    // Live objects are rewritten every run; only orphaned shard objects age out.
    let rules = property("LifecycleConfiguration")["Rules"].clone();
    let rules = rules.as_array().expect("rules");
    let expiry = rules
        .iter()
        .find(|r| r.get("ExpirationInDays").is_some())
        .expect("an expiration rule");
    assert_eq!(expiry["Status"], "Enabled");
    assert_eq!(expiry["Prefix"], "scraper-state/");
    let days = expiry["ExpirationInDays"].as_u64().expect("days");
    assert!((2..=7).contains(&days), "{days} days");
    assert!(
        rules.iter().any(|r| r["Status"] == "Enabled"
            && r["AbortIncompleteMultipartUpload"]
                == serde_json::json!({"DaysAfterInitiation": 1})),
        "{rules:?}"
    );

    // The bucket policy refuses plain HTTP for everyone and allows nothing.
    let policy = resolved_property(&resolver, "ScraperStateBucketPolicy", "PolicyDocument");
    assert_eq!(
        resolved_property(&resolver, "ScraperStateBucketPolicy", "Bucket"),
        "ScraperStateBucket"
    );
    assert_eq!(
        policy["Statement"],
        serde_json::json!([{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [STATE_BUCKET_ARN, format!("{STATE_BUCKET_ARN}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }])
    );

    // The role: objects under scraper-state/ only, and ListBucket only for that
    // prefix (S3 evaluates it with the missing object's key as s3:prefix).
    let statements = iam_check::role_statements(&resolver, "ScraperRole").expect("statements");
    let s3: Vec<&Value> = statements
        .iter()
        .filter(|s| {
            serde_json::to_string(&s["Action"])
                .expect("json")
                .contains("s3:")
        })
        .collect();
    assert_eq!(
        s3,
        [
            &serde_json::json!({
                "Sid": "RunState",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": format!("{STATE_BUCKET_ARN}/scraper-state/*")
            }),
            &serde_json::json!({
                "Sid": "RunStateMissingObjects",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": STATE_BUCKET_ARN,
                "Condition": {"StringLike": {"s3:prefix": "scraper-state/*"}}
            }),
        ]
    );
    // No other role touches the bucket.
    assert_no_grant_of(&resolver, &ROLES[1..], "s3:");
    let problems = iam_check::check_resolved(&resolver).expect("resolves");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn without_scraper_state_there_is_no_bucket_and_no_s3_grant() {
    let template = template();
    let mut overrides = ALL_ON.to_vec();
    overrides.retain(|(name, _)| *name != "ScraperState");
    overrides.push(("ScraperState", "false"));
    let resolver = Resolver::new(&template, &overrides).expect("resolves");
    let resources = resolver.resources().expect("resources");
    assert!(
        !resources.iter().any(|(_, r)| r["Type"]
            .as_str()
            .is_some_and(|t| t.starts_with("AWS::S3::"))),
        "no bucket, no bucket policy"
    );
    assert_no_grant_of(&resolver, ROLES, "s3:");
    // Everything else stays as with every feature on.
    let on = Resolver::new(&template, ALL_ON).expect("resolves");
    let mut expected = grants(&on, "ScraperRole");
    expected.retain(|action, _| !action.starts_with("s3:"));
    assert_eq!(grants(&resolver, "ScraperRole"), expected);
    let problems = iam_check::check_resolved(&resolver).expect("resolves");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Property `name` of resource `id` as CloudFormation would create it.
fn resolved_property(resolver: &Resolver, id: &str, name: &str) -> Value {
    let (_, resource) = resolver
        .resources()
        .expect("resources")
        .into_iter()
        .find(|(i, _)| i == id)
        .unwrap_or_else(|| panic!("no {id}"));
    let resource = resolver
        .resolve(&resource)
        .expect("resolves")
        .expect("value");
    resource["Properties"][name].clone()
}

#[test]
fn a_given_key_is_used_as_it_is_and_encrypts_topics_queues_table_and_logs() {
    let template = template();
    let given = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let resolver = Resolver::new(
        &template,
        &[("AmpWorkspaceArn", WORKSPACE), ("EncryptionKey", given)],
    )
    .expect("resolves");
    let resources = resolver.resources().expect("resources");
    assert!(
        !resources.iter().any(|(_, r)| r["Type"] == "AWS::KMS::Key"),
        "a given key: none created"
    );
    for &role in ROLES {
        let granted = grants(&resolver, role);
        assert_eq!(
            granted["kms:GenerateDataKey"],
            BTreeSet::from([given.to_string()]),
            "{role}"
        );
    }
    let property = |id: &str, name: &str| resolved_property(&resolver, id, name);
    for topic in ["AlertsTopic", "NotificationsTopic", "ScalerTopic"] {
        assert_eq!(property(topic, "KmsMasterKeyId"), given, "{topic}");
    }
    for queue in [
        "ScraperFailureQueue",
        "AlarmHandlerFailureQueue",
        "ScalerFailureQueue",
    ] {
        assert_eq!(property(queue, "KmsMasterKeyId"), given, "{queue}");
        assert_eq!(property(queue, "SqsManagedSseEnabled"), false, "{queue}");
    }
    for group in ["ScraperLogGroup", "AlarmHandlerLogGroup", "ScalerLogGroup"] {
        assert_eq!(property(group, "KmsKeyId"), given, "{group}");
    }
    assert_eq!(
        property("IdempotencyTable", "SSESpecification"),
        serde_json::json!({"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": given})
    );

    // Without a key: SSE-SQS on the queues, the AWS managed key on the notifications
    // topic, and the topics CloudWatch and AMP publish to left as they must be.
    let defaults = Resolver::new(&template, &[("AmpWorkspaceArn", WORKSPACE)]).expect("resolves");
    let property = |id: &str, name: &str| resolved_property(&defaults, id, name);
    assert_eq!(
        property("ScraperFailureQueue", "SqsManagedSseEnabled"),
        true
    );
    assert_eq!(
        property("NotificationsTopic", "KmsMasterKeyId"),
        "alias/aws/sns"
    );
    assert_eq!(property("AlertsTopic", "KmsMasterKeyId"), Value::Null);
    assert_eq!(
        property("IdempotencyTable", "PointInTimeRecoverySpecification"),
        serde_json::json!({"PointInTimeRecoveryEnabled": "true"})
    );
}

#[test]
fn the_checker_refuses_key_policy_statements_that_name_other_resources() {
    let template = cfn::parse(
        r#"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - {Sid: Other, Effect: Allow, Principal: {Service: sns.amazonaws.com}, Action: kms:Decrypt, Resource: "arn:aws:kms:us-east-1:123456789012:key/other"}
          - {Sid: Open, Effect: Allow, Principal: {AWS: '*'}, Action: kms:Decrypt, Resource: "*"}
          - {Sid: Wild, Effect: Allow, Principal: {Service: sns.amazonaws.com}, Action: "kms:*", Resource: "*"}
          - {Sid: Fine, Effect: Allow, Principal: {Service: sns.amazonaws.com}, Action: kms:Decrypt, Resource: "*"}
"#,
    )
    .expect("parses");
    assert_eq!(
        iam_check::check_structure(&template),
        vec![
            "Key key policy statement Other: a key policy statement's Resource must be \"*\" (this key), not \"arn:aws:kms:us-east-1:123456789012:key/other\"".to_string(),
            "Key key policy statement Open: Principal is everyone (*)".to_string(),
            "Key key policy statement Wild: wildcard action kms:*".to_string(),
        ]
    );
}

// ------------------------------------------------------------------ the checker itself

/// A template with one role whose policy has `statement` (YAML, indented for a list
/// item under `Statement:`).
fn role_with(statement: &str) -> Value {
    cfn::parse(&format!(
        r#"
Parameters:
  Flag: {{Type: String, Default: "no"}}
Conditions:
  On: !Equals [!Ref Flag, "yes"]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}]
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {{Sid: Fine, Effect: Allow, Action: sns:Publish, Resource: !Ref Topic}}
{statement}
  Topic:
    Type: AWS::SNS::Topic
"#
    ))
    .expect("parses")
}

fn structure_problems(statement: &str) -> Vec<String> {
    iam_check::check_structure(&role_with(statement))
}

#[test]
fn the_checker_passes_a_clean_template() {
    assert_eq!(structure_problems(""), Vec::<String>::new());
    assert_eq!(
        structure_problems(
            "              - {Sid: Metrics, Effect: Allow, Action: [cloudwatch:GetMetricData, tag:GetResources], Resource: '*'}\n              - {Sid: Deny, Effect: Deny, Action: '*', Resource: '*'}"
        ),
        Vec::<String>::new(),
        "no-resource-level actions on * and a Deny are fine"
    );
}

#[test]
fn the_checker_refuses_wildcard_actions() {
    for (action, shown) in [
        ("'*'", "*"),
        ("sns:*", "sns:*"),
        ("s3:Get*", "s3:Get*"),
        (
            "[sqs:SendMessage, 'ssm:GetParameter?']",
            "ssm:GetParameter?",
        ),
    ] {
        let problems = structure_problems(&format!(
            "              - {{Sid: Bad, Effect: Allow, Action: {action}, Resource: !Ref Topic}}"
        ));
        assert_eq!(
            problems,
            vec![format!(
                "Role policy p statement Bad: wildcard action {shown}"
            )],
            "{action}"
        );
    }
}

#[test]
fn the_checker_refuses_star_resources_for_scoped_actions() {
    let problems = structure_problems(
        "              - {Sid: Bad, Effect: Allow, Action: [cloudwatch:GetMetricData, sns:Publish], Resource: '*'}",
    );
    assert_eq!(
        problems,
        vec!["Role policy p statement Bad: resource * for actions that support resource-level permissions: sns:Publish".to_string()]
    );
    let problems = structure_problems(
        "              - {Sid: Any, Effect: Allow, Action: dynamodb:GetItem, Resource: 'arn:aws:dynamodb:us-east-1:123456789012:*'}",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("dynamodb:GetItem"), "{problems:?}");
}

#[test]
fn the_checker_looks_into_both_branches_of_fn_if() {
    // Off by default, so only the structural check (every branch) sees it.
    let template = role_with(
        "              - !If [On, {Sid: Hidden, Effect: Allow, Action: 'ec2:*', Resource: '*'}, !Ref AWS::NoValue]",
    );
    let problems = iam_check::check_structure(&template);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("statement Hidden: wildcard action ec2:*")),
        "{problems:?}"
    );
    let off = Resolver::new(&template, &[]).expect("resolves");
    assert!(iam_check::check_resolved(&off).expect("ok").is_empty());
    let on = Resolver::new(&template, &[("Flag", "yes")]).expect("resolves");
    let problems = iam_check::check_resolved(&on).expect("ok");
    assert!(
        problems.iter().any(|p| p.contains("statement Hidden")),
        "{problems:?}"
    );
}

#[test]
fn the_checker_refuses_what_it_cannot_see_or_what_inverts() {
    for (statement, expected) in [
        (
            "              - {Sid: Inverse, Effect: Allow, NotAction: iam:CreateUser, Resource: !Ref Topic}",
            "NotAction allows everything it does not list",
        ),
        (
            "              - {Sid: Computed, Effect: Allow, Action: !Ref Flag, Resource: !Ref Topic}",
            "actions must be literal strings",
        ),
        (
            "              - {Sid: NoResource, Effect: Allow, Action: sns:Publish}",
            "no Resource",
        ),
    ] {
        let problems = structure_problems(statement);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{statement}: {problems:?}"
        );
    }
    let managed = cfn::parse(
        "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {Statement: []}\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]\n",
    )
    .expect("parses");
    assert_eq!(
        iam_check::check_structure(&managed),
        vec!["R: ManagedPolicyArns cannot be checked here; write the statements out".to_string()]
    );
    let sam = cfn::parse(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n        - AWSLambdaBasicExecutionRole\n        - SQSSendMessagePolicy: {QueueName: q}\n        - Statement: [{Effect: Allow, Action: 'logs:*', Resource: '*'}]\n",
    )
    .expect("parses");
    let problems = iam_check::check_structure(&sam);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("managed policy AWSLambdaBasicExecutionRole"));
    assert!(problems[1].contains("SAM policy template SQSSendMessagePolicy"));
    assert!(problems[2].contains("wildcard action logs:*"));
    assert!(problems[3]
        .contains("resource * for actions that support resource-level permissions: logs:*"));
}

#[test]
fn the_checker_refuses_resource_policies_open_to_everyone() {
    let template = cfn::parse(
        r#"
Resources:
  Topic: {Type: AWS::SNS::Topic}
  TopicPolicy:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [!Ref Topic]
      PolicyDocument:
        Statement:
          - {Sid: Open, Effect: Allow, Principal: '*', Action: sns:Publish, Resource: !Ref Topic}
          - {Sid: OpenAws, Effect: Allow, Principal: {AWS: ['*']}, Action: sns:Subscribe, Resource: !Ref Topic}
          - {Sid: Service, Effect: Allow, Principal: {Service: cloudwatch.amazonaws.com}, Action: sns:Publish, Resource: !Ref Topic}
"#,
    )
    .expect("parses");
    assert_eq!(
        iam_check::check_structure(&template),
        vec![
            "TopicPolicy statement Open: Principal is everyone (*)".to_string(),
            "TopicPolicy statement OpenAws: Principal is everyone (*)".to_string(),
        ]
    );
}

#[test]
fn wildcard_resources_are_recognised() {
    for (resource, wildcard) in [
        ("*", true),
        ("arn:aws:sns:us-east-1:123456789012:*", true),
        ("arn:aws:*:us-east-1:123456789012:thing", true),
        (
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*",
            false,
        ),
        (
            "arn:aws:ssm:us-east-1:123456789012:parameter/p/scraper/*",
            false,
        ),
        ("arn:aws:eks:us-east-1:123456789012:cluster/prod", false),
    ] {
        assert_eq!(
            iam_check::is_wildcard_resource(resource),
            wildcard,
            "{resource}"
        );
    }
}
