//! Applying compiled rules to a label set: Prometheus' `relabel.Process`.

use std::borrow::Cow;

use md5::{Digest, Md5};
use regex::Regex;

use super::config::{
    is_valid_name, Action, NameValidation, RelabelConfig, RelabelConfigError, DEFAULT_REGEX,
};
use crate::Labels;

#[derive(Debug)]
struct Rule {
    action: Action,
    source_labels: Vec<String>,
    separator: String,
    regex: Regex,
    regex_is_default: bool,
    target_label: String,
    target_has_vars: bool,
    replacement: String,
    replacement_has_vars: bool,
    modulus: u64,
}

/// Validated, compiled rules: compile once per config load, apply per target or
/// per sample (metric relabeling runs for every scraped sample, so a rule that
/// changes nothing allocates nothing).
#[derive(Debug)]
pub struct Relabeler {
    rules: Vec<Rule>,
    scheme: NameValidation,
}

impl Relabeler {
    /// Validates (legacy label names) and compiles `configs`.
    pub fn new(configs: &[RelabelConfig]) -> Result<Self, RelabelConfigError> {
        Self::with_scheme(configs, NameValidation::Legacy)
    }

    /// Validates and compiles `configs` under a name validation scheme.
    pub fn with_scheme(
        configs: &[RelabelConfig],
        scheme: NameValidation,
    ) -> Result<Self, RelabelConfigError> {
        let mut rules = Vec::with_capacity(configs.len());
        for config in configs {
            config.validate_with(scheme)?;
            let pattern = config.regex();
            let regex = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| {
                RelabelConfigError::Regex {
                    regex: pattern.to_string(),
                    source: e,
                }
            })?;
            rules.push(Rule {
                action: config.action(),
                source_labels: config.source_labels().to_vec(),
                separator: config.separator().to_string(),
                regex,
                regex_is_default: pattern == DEFAULT_REGEX,
                target_label: config.target_label().to_string(),
                target_has_vars: config.target_label().contains('$'),
                replacement: config.replacement().to_string(),
                replacement_has_vars: config.replacement().contains('$'),
                modulus: config.modulus(),
            });
        }
        Ok(Self { rules, scheme })
    }

    /// Whether there are no rules (relabelling is then the identity).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Applies every rule in order. Returns false when the label set is dropped
    /// (its contents are then unspecified).
    pub fn apply(&self, labels: &mut Labels) -> bool {
        self.rules.iter().all(|rule| self.apply_rule(rule, labels))
    }

    fn apply_rule(&self, rule: &Rule, labels: &mut Labels) -> bool {
        match rule.action {
            Action::Drop => !rule.regex.is_match(&source_value(rule, labels)),
            Action::Keep => rule.regex.is_match(&source_value(rule, labels)),
            Action::DropEqual => {
                source_value(rule, labels) != labels.get(&rule.target_label).unwrap_or("")
            }
            Action::KeepEqual => {
                source_value(rule, labels) == labels.get(&rule.target_label).unwrap_or("")
            }
            Action::Replace => {
                self.replace(rule, labels);
                true
            }
            Action::Lowercase => {
                let value = source_value(rule, labels).to_lowercase();
                labels.set(rule.target_label.as_str(), value);
                true
            }
            Action::Uppercase => {
                let value = source_value(rule, labels).to_uppercase();
                labels.set(rule.target_label.as_str(), value);
                true
            }
            Action::HashMod => {
                let hash = hashmod(&source_value(rule, labels), rule.modulus);
                labels.set(rule.target_label.as_str(), hash.to_string());
                true
            }
            Action::LabelMap => {
                let mapped: Vec<(String, String)> = labels
                    .iter()
                    .filter(|l| rule.regex.is_match(&l.name))
                    .map(|l| {
                        (
                            rule.regex
                                .replace_all(&l.name, rule.replacement.as_str())
                                .into_owned(),
                            l.value.clone(),
                        )
                    })
                    .collect();
                for (name, value) in mapped {
                    labels.set(name, value);
                }
                true
            }
            Action::LabelDrop => {
                labels.retain(|l| !rule.regex.is_match(&l.name));
                true
            }
            Action::LabelKeep => {
                labels.retain(|l| rule.regex.is_match(&l.name));
                true
            }
        }
    }

    fn replace(&self, rule: &Rule, labels: &mut Labels) {
        let value = source_value(rule, labels);
        if value.is_empty()
            && rule.regex_is_default
            && !rule.target_has_vars
            && !rule.replacement_has_vars
        {
            labels.set(rule.target_label.as_str(), rule.replacement.as_str());
            return;
        }
        let Some(captures) = rule.regex.captures(&value) else {
            return;
        };
        let mut target = String::new();
        captures.expand(&rule.target_label, &mut target);
        if !is_valid_name(&target, self.scheme) {
            return;
        }
        let mut result = String::new();
        captures.expand(&rule.replacement, &mut result);
        drop(captures);
        labels.set(target, result);
    }
}

/// The source labels' values joined by the separator (a missing label is "").
fn source_value<'a>(rule: &Rule, labels: &'a Labels) -> Cow<'a, str> {
    match rule.source_labels.as_slice() {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(labels.get(one).unwrap_or("")),
        many => {
            let mut joined = String::new();
            for (i, name) in many.iter().enumerate() {
                if i > 0 {
                    joined.push_str(&rule.separator);
                }
                joined.push_str(labels.get(name).unwrap_or(""));
            }
            Cow::Owned(joined)
        }
    }
}

/// Prometheus' `hashmod`: the last 8 bytes of the value's MD5, big-endian, modulo
/// `modulus` (0 is treated as 1). Public because sharding targets across invocations
/// must pick exactly the shards a `hashmod` relabel rule would.
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus.max(1)
}
