//! Least-privilege checks on every IAM policy statement in a CloudFormation / SAM
//! template: role policies (inline, `AWS::IAM::Policy`, `ManagedPolicy`,
//! `RolePolicy`), trust policies, resource policies (SNS topic, SQS queue, S3 bucket)
//! and SAM function `Policies`.
//!
//! An `Allow` statement fails when
//! - an action is `*` or a pattern (`sns:*`, `s3:Get*`), or it uses `NotAction`,
//!   `NotResource` or `NotPrincipal`;
//! - a resource is `*` (or an ARN whose service or resource part is `*`) while one of
//!   its actions is not in [`STAR_ONLY_ACTIONS`];
//! - a resource policy's principal is everyone (`*`);
//! - a KMS key policy's statement names a resource other than `*` (in a key policy `*`
//!   means the key itself, and only that), or its principal is everyone;
//! - a policy cannot be seen: managed policies (`ManagedPolicyArns`, a SAM managed
//!   policy name) and SAM policy templates must be written out as statements.
//!
//! [`check_structure`] looks at every statement in every `Fn::If` branch without
//! parameter values (an intrinsic resource names something specific); [`check_resolved`]
//! looks at the statements CloudFormation would create for one set of parameters.
#![allow(dead_code)]

use serde_json::Value;

use crate::cfn::{is_intrinsic, Resolver};

/// Actions allowed with `Resource: "*"`, each with the page that says why.
pub const STAR_ONLY_ACTIONS: &[(&str, &str)] = &[
    // The Service Authorization Reference lists no resource type for these: the
    // policy must use "*".
    (
        "cloudwatch:GetMetricData",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html",
    ),
    (
        "cloudwatch:ListMetrics",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html",
    ),
    (
        "tag:GetResources",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_resourcegroupstaggingapi.html",
    ),
    (
        "ec2:DescribeNetworkInterfaces",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html",
    ),
    (
        "ec2:DescribeSubnets",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html",
    ),
    (
        "ec2:DescribeInstances",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html",
    ),
    (
        "ec2:DescribeAvailabilityZones",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html",
    ),
    (
        "ecs:ListClusters",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html",
    ),
    (
        "ecs:DescribeTaskDefinition",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html",
    ),
    // The reference names container-instance as its resource type, but a Fargate-only
    // cluster has no container instance to authorize against; users report that only
    // "*" works (awsdocs/amazon-ecs-developer-guide#211).
    (
        "ecs:ListTasks",
        "https://github.com/awsdocs/amazon-ecs-developer-guide/issues/211",
    ),
    // Has an `alarm` resource type, but DescribeAlarms returns composite alarms only
    // when the permission is scoped to "*" (CloudWatch API Reference, DescribeAlarms);
    // the scaler's policies may name composite alarms.
    (
        "cloudwatch:DescribeAlarms",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html",
    ),
];

/// What kind of document a statement is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Identity policy: `Resource` required, no `Principal`.
    Identity,
    /// Trust policy of a role: `Principal`, no `Resource`.
    Trust,
    /// Resource policy: `Principal` and `Resource`.
    ResourcePolicy,
    /// KMS key policy: `Principal`, and `Resource: "*"`, which means this key.
    KeyPolicy,
}

/// One policy document found in a template, with where it is.
struct Document<'v> {
    location: String,
    kind: Kind,
    document: &'v Value,
}

/// Problems with every statement in every branch of `template`.
pub fn check_structure(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return vec!["the template has no Resources".into()];
    };
    for (id, resource) in resources {
        for doc in documents(id, resource, &mut problems) {
            for statement in statements(doc.document) {
                check_statement(&doc.location, doc.kind, statement, &mut problems);
            }
        }
    }
    problems
}

/// Problems with the statements CloudFormation creates for `resolver`'s parameters.
pub fn check_resolved(resolver: &Resolver) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for (id, resource) in resolver.resources()? {
        let resolved = resolver
            .resolve(&resource)?
            .ok_or_else(|| format!("{id} resolves to nothing"))?;
        for doc in documents(&id, &resolved, &mut problems) {
            for statement in statements(doc.document) {
                check_statement(&doc.location, doc.kind, statement, &mut problems);
            }
        }
    }
    Ok(problems)
}

/// `(location, statement)` for every resolved identity-policy statement of the role
/// `role` (inline policies and policies attached to it by other resources).
pub fn role_statements(resolver: &Resolver, role: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (id, resource) in resolver.resources()? {
        let resolved = resolver
            .resolve(&resource)?
            .ok_or_else(|| format!("{id} resolves to nothing"))?;
        let kind = resolved.get("Type").and_then(Value::as_str).unwrap_or("");
        let properties = resolved.get("Properties").cloned().unwrap_or(Value::Null);
        let docs: Vec<Value> = if id == role && kind == "AWS::IAM::Role" {
            properties
                .get("Policies")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .filter_map(|p| p.get("PolicyDocument").cloned())
                        .collect()
                })
                .unwrap_or_default()
        } else if matches!(
            kind,
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy"
        ) && attached_to(&properties, role)
        {
            properties
                .get("PolicyDocument")
                .cloned()
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        for doc in &docs {
            out.extend(statements(doc).into_iter().cloned());
        }
    }
    Ok(out)
}

fn attached_to(properties: &Value, role: &str) -> bool {
    properties.get("RoleName").and_then(Value::as_str) == Some(role)
        || properties
            .get("Roles")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|r| r.as_str() == Some(role)))
}

/// The policy documents of one resource; unseeable policies are problems.
fn documents<'v>(id: &str, resource: &'v Value, problems: &mut Vec<String>) -> Vec<Document<'v>> {
    let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
    let Some(properties) = resource.get("Properties") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |location: String, kind: Kind, document: Option<&'v Value>| {
        if let Some(document) = document {
            out.push(Document {
                location,
                kind,
                document,
            });
        }
    };
    match kind {
        "AWS::IAM::Role" => {
            push(
                format!("{id} trust policy"),
                Kind::Trust,
                properties.get("AssumeRolePolicyDocument"),
            );
            for policy in branches(properties.get("Policies").unwrap_or(&Value::Null))
                .into_iter()
                .flat_map(|p| match p {
                    Value::Array(items) => items.iter().flat_map(branches).collect::<Vec<_>>(),
                    other => vec![other],
                })
            {
                let name = policy
                    .get("PolicyName")
                    .map(|n| {
                        n.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| n.to_string())
                    })
                    .unwrap_or_else(|| "?".into());
                push(
                    format!("{id} policy {name}"),
                    Kind::Identity,
                    policy.get("PolicyDocument"),
                );
            }
            if properties.get("ManagedPolicyArns").is_some() {
                problems.push(format!(
                    "{id}: ManagedPolicyArns cannot be checked here; write the statements out"
                ));
            }
        }
        "AWS::IAM::Policy"
        | "AWS::IAM::ManagedPolicy"
        | "AWS::IAM::RolePolicy"
        | "AWS::IAM::UserPolicy"
        | "AWS::IAM::GroupPolicy" => {
            push(
                id.to_string(),
                Kind::Identity,
                properties.get("PolicyDocument"),
            );
        }
        "AWS::SNS::TopicPolicy" | "AWS::SQS::QueuePolicy" | "AWS::S3::BucketPolicy" => {
            push(
                id.to_string(),
                Kind::ResourcePolicy,
                properties.get("PolicyDocument"),
            );
        }
        "AWS::KMS::Key" => {
            push(
                format!("{id} key policy"),
                Kind::KeyPolicy,
                properties.get("KeyPolicy"),
            );
        }
        "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
            let policies = properties.get("Policies");
            let items: Vec<&Value> = match policies {
                None => Vec::new(),
                Some(Value::Array(items)) => items.iter().flat_map(branches).collect(),
                Some(other) => branches(other),
            };
            for (i, policy) in items.into_iter().enumerate() {
                match policy {
                    Value::String(name) => problems.push(format!(
                        "{id} Policies[{i}]: managed policy {name} cannot be checked here; write the statements out"
                    )),
                    Value::Object(map) if map.contains_key("Statement") => {
                        push(format!("{id} Policies[{i}]"), Kind::Identity, Some(policy));
                    }
                    Value::Object(map) => problems.push(format!(
                        "{id} Policies[{i}]: SAM policy template {} cannot be checked here; write the statements out",
                        map.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                    other => problems.push(format!("{id} Policies[{i}]: unexpected {other}")),
                }
            }
        }
        "AWS::Lambda::Permission"
            if properties.get("Principal").and_then(Value::as_str) == Some("*") =>
        {
            problems.push(format!(
                "{id}: the function may be invoked by anyone (Principal *)"
            ));
        }
        "AWS::Lambda::Permission" => {}
        other if other.contains("Policy") => {
            problems.push(format!("{id}: policy resource type {other} is not checked"));
        }
        _ => {}
    }
    out
}

/// A value and, for `Fn::If`, both branches (`AWS::NoValue` is nothing).
fn branches(value: &Value) -> Vec<&Value> {
    if let Some(args) = value.get("Fn::If").and_then(Value::as_array) {
        if args.len() == 3 && value.as_object().is_some_and(|m| m.len() == 1) {
            return args[1..].iter().flat_map(branches).collect();
        }
    }
    if value.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
        return Vec::new();
    }
    vec![value]
}

fn statements(document: &Value) -> Vec<&Value> {
    let Some(statement) = document.get("Statement") else {
        return Vec::new();
    };
    branches(statement)
        .into_iter()
        .flat_map(|s| match s {
            Value::Array(items) => items.iter().flat_map(branches).collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect()
}

/// Strings of a string-or-list element, and whether any item is an intrinsic.
fn items(value: &Value) -> (Vec<String>, bool) {
    let list: Vec<&Value> = match value {
        Value::Array(items) => items.iter().flat_map(branches).collect(),
        other => branches(other),
    };
    let mut strings = Vec::new();
    let mut intrinsic = false;
    for item in list {
        match item {
            Value::String(s) => strings.push(s.clone()),
            Value::Array(inner) => {
                let (s, i) = items(&Value::Array(inner.clone()));
                strings.extend(s);
                intrinsic |= i;
            }
            other if is_intrinsic(other) => intrinsic = true,
            other => strings.push(other.to_string()),
        }
    }
    (strings, intrinsic)
}

/// `*`, or an ARN whose service or resource part is `*`.
pub fn is_wildcard_resource(resource: &str) -> bool {
    if resource == "*" {
        return true;
    }
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, service, _, _, rest] => *service == "*" || *rest == "*",
        ["arn", ..] => true,
        _ => false,
    }
}

fn check_statement(location: &str, kind: Kind, statement: &Value, problems: &mut Vec<String>) {
    let sid = statement
        .get("Sid")
        .and_then(Value::as_str)
        .map(|s| format!(" statement {s}"))
        .unwrap_or_else(|| " statement".to_string());
    let at = format!("{location}{sid}");
    if !statement.is_object() {
        problems.push(format!("{at}: not an object: {statement}"));
        return;
    }
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Deny") => return,
        Some("Allow") => {}
        other => {
            problems.push(format!("{at}: Effect must be Allow or Deny, not {other:?}"));
            return;
        }
    }
    for key in ["NotAction", "NotResource", "NotPrincipal"] {
        if statement.get(key).is_some() {
            problems.push(format!("{at}: {key} allows everything it does not list"));
        }
    }
    let (actions, action_intrinsic) = items(statement.get("Action").unwrap_or(&Value::Null));
    if action_intrinsic {
        problems.push(format!("{at}: actions must be literal strings"));
    }
    if actions.is_empty() && !action_intrinsic {
        problems.push(format!("{at}: no Action"));
    }
    for action in &actions {
        if action.contains('*') || action.contains('?') {
            problems.push(format!("{at}: wildcard action {action}"));
        } else if !action.contains(':') {
            problems.push(format!("{at}: {action} is not service:Action"));
        }
    }
    match (kind, statement.get("Resource")) {
        (Kind::Trust, _) => {}
        (_, None) => problems.push(format!("{at}: no Resource")),
        (Kind::KeyPolicy, Some(resource)) => {
            if resource.as_str() != Some("*") {
                problems.push(format!(
                    "{at}: a key policy statement's Resource must be \"*\" (this key), not {resource}"
                ));
            }
        }
        (_, Some(resource)) => {
            let (resources, _) = items(resource);
            let wildcards: Vec<&String> = resources
                .iter()
                .filter(|r| is_wildcard_resource(r))
                .collect();
            if !wildcards.is_empty() {
                let scoped: Vec<&String> = actions
                    .iter()
                    .filter(|a| !STAR_ONLY_ACTIONS.iter().any(|(allowed, _)| allowed == a))
                    .collect();
                if !scoped.is_empty() || action_intrinsic {
                    problems.push(format!(
                        "{at}: resource {} for actions that support resource-level permissions: {}",
                        wildcards
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        scoped
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
    }
    if kind != Kind::Identity {
        match statement.get("Principal") {
            None => problems.push(format!("{at}: no Principal")),
            Some(principal) => {
                let everyone = principal.as_str() == Some("*")
                    || principal
                        .get("AWS")
                        .is_some_and(|aws| items(aws).0.iter().any(|p| p == "*"));
                if everyone {
                    problems.push(format!("{at}: Principal is everyone (*)"));
                }
            }
        }
    }
}
