//! CloudFormation templates in tests: YAML with the short-form tags (`!Ref`, `!Sub`,
//! `!GetAtt A.B`, `!If`, ...) read into JSON values in the long form, and a resolver
//! for the intrinsic functions the project's template uses, evaluated for given
//! parameter values the way CloudFormation evaluates them: conditions, `Ref`
//! (parameters, pseudo parameters, resources), `Fn::Sub`, `Fn::Join`, `Fn::Split`,
//! `Fn::Select`, `Fn::If`, `Fn::GetAtt`, and `AWS::NoValue` removing the property or
//! list item. Anything else is an error, so a template using more than this is noticed.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const STACK: &str = "metrics-pipeline";

/// Parses template YAML (or JSON) into the long form.
pub fn parse(text: &str) -> Result<Value, String> {
    let yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    convert(yaml)
}

/// Reads and parses a template file.
pub fn load(path: &std::path::Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn convert(value: yaml_serde::Value) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().ok_or_else(|| format!("bad number {n}"))?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("bad number {n}"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, convert(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = convert(tagged.value)?;
            let (key, inner) = match name {
                "Ref" => ("Ref".to_string(), inner),
                "Condition" => ("Condition".to_string(), inner),
                "GetAtt" => {
                    let parts = match inner {
                        Value::String(s) => {
                            let (resource, attribute) = s.split_once('.').ok_or_else(|| {
                                format!("!GetAtt {s}: expected Resource.Attribute")
                            })?;
                            Value::Array(vec![resource.into(), attribute.into()])
                        }
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), parts)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut out = Map::new();
            out.insert(key, inner);
            Value::Object(out)
        }
    })
}

/// True for `{"Ref": ..}` / `{"Fn::...": ..}` objects.
pub fn is_intrinsic(value: &Value) -> bool {
    value.as_object().is_some_and(|m| {
        m.len() == 1
            && m.keys()
                .all(|k| k == "Ref" || k.starts_with("Fn::") || k == "Condition")
    })
}

/// A template evaluated for one set of parameter values.
pub struct Resolver<'a> {
    template: &'a Value,
    params: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
}

impl<'a> Resolver<'a> {
    /// Parameter values: `overrides`, else the parameter's `Default`; a parameter with
    /// neither is an error. `CommaDelimitedList` values become lists as in
    /// CloudFormation (`""` is `[""]`).
    pub fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Result<Resolver<'a>, String> {
        let mut params = BTreeMap::new();
        let declared = template
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (name, _) in overrides {
            if !declared.contains_key(*name) {
                return Err(format!("override for undeclared parameter {name}"));
            }
        }
        for (name, spec) in &declared {
            let text = match overrides.iter().find(|(n, _)| n == name) {
                Some((_, v)) => v.to_string(),
                None => match spec.get("Default") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(other) => return Err(format!("parameter {name}: default {other}")),
                    None => return Err(format!("parameter {name} has no value and no default")),
                },
            };
            if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array) {
                let ok = allowed.iter().any(|a| match a {
                    Value::String(s) => *s == text,
                    Value::Number(n) => n.to_string() == text,
                    _ => false,
                });
                if !ok {
                    return Err(format!(
                        "parameter {name}: {text:?} is not an allowed value"
                    ));
                }
            }
            let value = match spec.get("Type").and_then(Value::as_str) {
                Some("CommaDelimitedList") => Value::Array(
                    text.split(',')
                        .map(|s| Value::String(s.trim().to_string()))
                        .collect(),
                ),
                _ => Value::String(text),
            };
            params.insert(name.clone(), value);
        }
        let mut resolver = Resolver {
            template,
            params,
            conditions: BTreeMap::new(),
        };
        let conditions = template
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for name in conditions.keys() {
            let value = resolver.condition(name, &conditions, 0)?;
            resolver.conditions.insert(name.clone(), value);
        }
        Ok(resolver)
    }

    pub fn condition_value(&self, name: &str) -> Option<bool> {
        self.conditions.get(name).copied()
    }

    fn condition(
        &self,
        name: &str,
        all: &Map<String, Value>,
        depth: usize,
    ) -> Result<bool, String> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        let expr = all
            .get(name)
            .ok_or_else(|| format!("unknown condition {name}"))?;
        self.boolean(expr, all, depth + 1)
            .map_err(|e| format!("condition {name}: {e}"))
    }

    fn boolean(
        &self,
        expr: &Value,
        all: &Map<String, Value>,
        depth: usize,
    ) -> Result<bool, String> {
        if depth > 20 {
            return Err("conditions nest too deeply".into());
        }
        let (key, args) = single(expr).ok_or_else(|| format!("not a condition: {expr}"))?;
        match key {
            "Condition" => {
                let name = args.as_str().ok_or("Condition needs a name")?;
                self.condition(name, all, depth)
            }
            "Fn::Equals" => {
                let [a, b] = pair(args)?;
                let a = self.resolve(a)?;
                let b = self.resolve(b)?;
                Ok(scalar_text(a.as_ref()) == scalar_text(b.as_ref()))
            }
            "Fn::Not" => {
                let items = args.as_array().ok_or("Fn::Not needs a list")?;
                match items.as_slice() {
                    [one] => Ok(!self.boolean(one, all, depth + 1)?),
                    _ => Err("Fn::Not takes one condition".into()),
                }
            }
            "Fn::And" | "Fn::Or" => {
                let items = args.as_array().ok_or("Fn::And/Or needs a list")?;
                let mut values = Vec::new();
                for item in items {
                    values.push(self.boolean(item, all, depth + 1)?);
                }
                Ok(if key == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            other => Err(format!("{other} is not a condition function")),
        }
    }

    /// The resources that exist for these parameters (their `Condition` holds).
    pub fn resources(&self) -> Result<Vec<(String, Value)>, String> {
        let mut out = Vec::new();
        let resources = self
            .template
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or("no Resources")?;
        for (id, resource) in resources {
            if let Some(condition) = resource.get("Condition").and_then(Value::as_str) {
                let holds = self
                    .conditions
                    .get(condition)
                    .ok_or_else(|| format!("{id}: unknown condition {condition}"))?;
                if !holds {
                    continue;
                }
            }
            out.push((id.clone(), resource.clone()));
        }
        Ok(out)
    }

    /// Evaluates `value`; `None` is `AWS::NoValue`.
    pub fn resolve(&self, value: &Value) -> Result<Option<Value>, String> {
        match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(v) = self.resolve(item)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(map) if is_intrinsic(value) => {
                let (key, args) = map.iter().next().ok_or("empty intrinsic")?;
                self.intrinsic(key, args)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let Some(v) = self.resolve(v)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn resolved(&self, value: &Value) -> Result<Value, String> {
        self.resolve(value)?
            .ok_or_else(|| format!("AWS::NoValue where a value is needed: {value}"))
    }

    fn resolved_string(&self, value: &Value) -> Result<String, String> {
        match self.resolved(value)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(format!("expected a string, got {other}")),
        }
    }

    fn intrinsic(&self, key: &str, args: &Value) -> Result<Option<Value>, String> {
        match key {
            "Ref" => {
                let name = args.as_str().ok_or("Ref needs a name")?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference(name).map(Some)
            }
            "Fn::GetAtt" => {
                let parts = args
                    .as_array()
                    .ok_or("Fn::GetAtt needs [resource, attribute]")?;
                match parts.as_slice() {
                    [Value::String(r), Value::String(a)] => self.attribute(r, a).map(Some),
                    _ => Err(format!("Fn::GetAtt {args}")),
                }
            }
            "Fn::Sub" => {
                let (text, vars) = match args {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(parts) => match parts.as_slice() {
                        [Value::String(s), Value::Object(vars)] => (s.clone(), vars.clone()),
                        _ => return Err(format!("Fn::Sub {args}")),
                    },
                    _ => return Err(format!("Fn::Sub {args}")),
                };
                let mut local = BTreeMap::new();
                for (k, v) in &vars {
                    local.insert(k.clone(), self.resolved_string(v)?);
                }
                self.substitute(&text, &local)
                    .map(|s| Some(Value::String(s)))
            }
            "Fn::Join" => {
                let [delimiter, list] = pair(args)?;
                let delimiter = delimiter
                    .as_str()
                    .ok_or("Fn::Join: the delimiter must be a literal string")?;
                let items = match self.resolved(list)? {
                    Value::Array(items) => items,
                    other => return Err(format!("Fn::Join needs a list, got {other}")),
                };
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| scalar_text(Some(i)).ok_or_else(|| format!("Fn::Join item {i}")))
                    .collect::<Result<_, _>>()?;
                Ok(Some(Value::String(parts.join(delimiter))))
            }
            "Fn::Split" => {
                let [delimiter, text] = pair(args)?;
                let delimiter = delimiter.as_str().ok_or("Fn::Split: literal delimiter")?;
                let text = self.resolved_string(text)?;
                Ok(Some(Value::Array(
                    text.split(delimiter)
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                )))
            }
            "Fn::Select" => {
                let [index, list] = pair(args)?;
                let index: usize = self
                    .resolved_string(index)?
                    .parse()
                    .map_err(|_| format!("Fn::Select index {index}"))?;
                match self.resolved(list)? {
                    Value::Array(items) => items.get(index).cloned().map(Some).ok_or_else(|| {
                        format!("Fn::Select: no item {index} in a list of {}", items.len())
                    }),
                    other => Err(format!("Fn::Select needs a list, got {other}")),
                }
            }
            "Fn::If" => {
                let items = args.as_array().ok_or("Fn::If needs a list")?;
                match items.as_slice() {
                    [Value::String(condition), yes, no] => {
                        let holds = self
                            .conditions
                            .get(condition)
                            .ok_or_else(|| format!("Fn::If: unknown condition {condition}"))?;
                        self.resolve(if *holds { yes } else { no })
                    }
                    _ => Err(format!("Fn::If {args}")),
                }
            }
            other => Err(format!("{other} is not supported by this resolver")),
        }
    }

    fn pseudo(name: &str) -> Option<&'static str> {
        Some(match name {
            "AWS::Region" => REGION,
            "AWS::AccountId" => ACCOUNT,
            "AWS::Partition" => "aws",
            "AWS::StackName" => STACK,
            "AWS::URLSuffix" => "amazonaws.com",
            _ => return None,
        })
    }

    fn resource_type(&self, id: &str) -> Option<&str> {
        self.template
            .get("Resources")?
            .get(id)?
            .get("Type")?
            .as_str()
    }

    /// `Ref`: a parameter's value, a pseudo parameter, or what `Ref` returns for a
    /// resource of that type (ARN for topics, URL for queues, else its name).
    fn reference(&self, name: &str) -> Result<Value, String> {
        if let Some(v) = self.params.get(name) {
            return Ok(v.clone());
        }
        if let Some(v) = Self::pseudo(name) {
            return Ok(Value::String(v.into()));
        }
        let kind = self
            .resource_type(name)
            .ok_or_else(|| format!("Ref to unknown {name}"))?;
        Ok(Value::String(match kind {
            "AWS::SNS::Topic" => format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}"),
            "AWS::SQS::Queue" => format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"),
            _ => name.to_string(),
        }))
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<Value, String> {
        let kind = self
            .resource_type(id)
            .ok_or_else(|| format!("Fn::GetAtt of unknown {id}"))?;
        let arn =
            |service: &str, rest: String| format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}");
        Ok(Value::String(match (kind, attribute) {
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{ACCOUNT}:role/{id}"),
            ("AWS::SQS::Queue", "Arn") => arn("sqs", id.to_string()),
            ("AWS::SQS::Queue", "QueueName") => id.to_string(),
            ("AWS::Serverless::Function" | "AWS::Lambda::Function", "Arn") => {
                arn("lambda", format!("function:{id}"))
            }
            ("AWS::Logs::LogGroup", "Arn") => arn("logs", format!("log-group:{id}:*")),
            ("AWS::DynamoDB::Table", "Arn") => arn("dynamodb", format!("table/{id}")),
            ("AWS::Events::Rule", "Arn") => arn("events", format!("rule/{id}")),
            ("AWS::SNS::Topic", "TopicArn") => arn("sns", id.to_string()),
            ("AWS::KMS::Key", "Arn") => arn("kms", format!("key/{id}")),
            // S3 ARNs name no region or account.
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{id}"),
            _ => {
                return Err(format!(
                    "Fn::GetAtt {id}.{attribute} ({kind}) is not modelled"
                ))
            }
        }))
    }

    fn substitute(&self, text: &str, local: &BTreeMap<String, String>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = local.get(name) {
                out.push_str(v);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.resolved_string(&self.attribute(resource, attribute)?)?);
            } else {
                match self.reference(name)? {
                    Value::String(s) => out.push_str(&s),
                    other => return Err(format!("Fn::Sub ${{{name}}} is not a string: {other}")),
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn single(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn pair(args: &Value) -> Result<[&Value; 2], String> {
    match args.as_array().map(Vec::as_slice) {
        Some([a, b]) => Ok([a, b]),
        _ => Err(format!("expected two arguments: {args}")),
    }
}

fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
