//! Alertmanager's `inhibit_rules`: a firing source alert mutes target alerts that
//! share its values for the `equal` labels.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::matcher::{MatchType, Matcher, MatcherError};
use crate::parse::parse_matchers;

/// One `inhibit_rules` entry as written (both the `*_matchers` and the legacy
/// `*_match` / `*_match_re` forms).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Matchers (`severity="critical"`) a firing alert must satisfy to inhibit others.
    #[serde(default)]
    pub source_matchers: Vec<String>,
    /// Matchers an alert must satisfy to be inhibited.
    #[serde(default)]
    pub target_matchers: Vec<String>,
    /// Deprecated `source_match`: label equals value (Alertmanager still accepts it).
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated `source_match_re`: label matches the anchored regex.
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    /// Deprecated `target_match`: label equals value.
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated `target_match_re`: label matches the anchored regex.
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    /// Labels whose values must be equal in source and target (a missing label counts
    /// as empty on both sides, as in Alertmanager).
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
}

type Labels = BTreeMap<String, String>;

fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).map(String::as_str).unwrap_or("")))
}

fn compile(
    strings: &[String],
    equal: &BTreeMap<String, String>,
    regex: &BTreeMap<String, String>,
) -> Result<Vec<Matcher>, MatcherError> {
    let mut out = Vec::new();
    for (name, value) in equal {
        out.push(Matcher::new(MatchType::Equal, name, value)?);
    }
    for (name, value) in regex {
        out.push(Matcher::new(
            MatchType::Regexp,
            name,
            format!("^(?:{value})$"),
        )?);
    }
    for text in strings {
        out.extend(parse_matchers(text)?);
    }
    Ok(out)
}

impl InhibitRule {
    /// Compiles one rule's matchers (new syntax and the deprecated maps together).
    pub fn new(config: &InhibitRuleConfig) -> Result<Self, MatcherError> {
        Ok(Self {
            source: compile(
                &config.source_matchers,
                &config.source_match,
                &config.source_match_re,
            )?,
            target: compile(
                &config.target_matchers,
                &config.target_match,
                &config.target_match_re,
            )?,
            equal: config.equal.clone(),
        })
    }

    /// Whether `target` is muted by one of the `firing` alerts under this rule. An
    /// alert never inhibits itself, and when the target also matches the source side,
    /// sources that match the target side are ignored (so two alerts matching both
    /// sides do not mute each other), as in Alertmanager.
    pub fn inhibits(&self, target: &Labels, firing: &[Labels]) -> bool {
        if !all_match(&self.target, target) {
            return false;
        }
        let two_sided = all_match(&self.source, target);
        firing.iter().any(|source| {
            source != target
                && all_match(&self.source, source)
                && !(two_sided && all_match(&self.target, source))
                && self
                    .equal
                    .iter()
                    .all(|name| source.get(name) == target.get(name))
        })
    }
}

/// All rules of a config.
#[derive(Debug, Clone, Default)]
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
}

impl Inhibitor {
    /// All rules of the `inhibit_rules` section; the first rule that does not compile
    /// refuses the config.
    pub fn new(configs: &[InhibitRuleConfig]) -> Result<Self, MatcherError> {
        Ok(Self {
            rules: configs
                .iter()
                .map(InhibitRule::new)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether any rule mutes `target` given the currently `firing` alerts.
    pub fn is_inhibited(&self, target: &Labels, firing: &[Labels]) -> bool {
        self.rules.iter().any(|r| r.inhibits(target, firing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rule(yaml: &str) -> Inhibitor {
        let configs: Vec<InhibitRuleConfig> = yaml_serde::from_str(yaml).expect("yaml");
        Inhibitor::new(&configs).expect("valid")
    }

    #[test]
    fn critical_mutes_warning_with_same_cluster_only() {
        let i = rule("- source_matchers: [severity=critical]\n  target_matchers: [severity=warning]\n  equal: [cluster]\n");
        let critical_a = labels(&[
            ("alertname", "Down"),
            ("severity", "critical"),
            ("cluster", "a"),
        ]);
        let warning_a = labels(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "a"),
        ]);
        let warning_b = labels(&[
            ("alertname", "Slow"),
            ("severity", "warning"),
            ("cluster", "b"),
        ]);
        let firing = vec![critical_a.clone(), warning_a.clone(), warning_b.clone()];
        assert!(i.is_inhibited(&warning_a, &firing));
        assert!(!i.is_inhibited(&warning_b, &firing), "different cluster");
        assert!(
            !i.is_inhibited(&critical_a, &firing),
            "source side is not a target"
        );
        assert!(
            !i.is_inhibited(&warning_a, std::slice::from_ref(&warning_a)),
            "no source firing"
        );
    }

    #[test]
    fn missing_equal_labels_compare_equal_and_legacy_forms_work() {
        let i = rule("- source_match: {alertname: NodeDown}\n  target_match_re: {alertname: 'Disk.*'}\n  equal: [zone]\n");
        let source = labels(&[("alertname", "NodeDown")]);
        let target = labels(&[("alertname", "DiskFull")]);
        assert!(i.is_inhibited(&target, std::slice::from_ref(&source)));
        let zoned = labels(&[("alertname", "DiskFull"), ("zone", "z1")]);
        assert!(!i.is_inhibited(&zoned, &[source]));
    }

    #[test]
    fn alerts_matching_both_sides_do_not_mute_each_other() {
        let i = rule("- source_matchers: [team=ops]\n  target_matchers: [team=ops]\n");
        let a = labels(&[("alertname", "A"), ("team", "ops")]);
        let b = labels(&[("alertname", "B"), ("team", "ops")]);
        assert!(!i.is_inhibited(&a, &[a.clone(), b.clone()]));
    }
}
