//! One relabel rule as written in YAML/JSON, its defaults and its validation.

use serde::{Deserialize, Serialize, Serializer};

/// What a rule does. Read case-insensitively, as Prometheus lower-cases it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Sets `target_label` to `replacement` (with `$1` groups) when `regex` matches the joined `source_labels`.
    Replace,
    /// Drops the series unless `regex` matches the joined `source_labels`.
    Keep,
    /// Drops the series when `regex` matches the joined `source_labels`.
    Drop,
    /// Keeps the series only when the joined `source_labels` equal `target_label`'s value.
    KeepEqual,
    /// Drops the series when the joined `source_labels` equal `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to the MD5 of the joined `source_labels` modulo `modulus` (sharding).
    HashMod,
    /// Copies every label whose name matches `regex` to the name `replacement` gives.
    LabelMap,
    /// Removes every label whose name matches `regex`.
    LabelDrop,
    /// Removes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the joined `source_labels` lowercased.
    Lowercase,
    /// Sets `target_label` to the joined `source_labels` uppercased.
    Uppercase,
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Action::from_name(&text.to_lowercase())
            .ok_or_else(|| serde::de::Error::custom(format!("unknown relabel action {text:?}")))
    }
}

impl Action {
    const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    fn from_name(name: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The action's name as written in YAML (`replace`, `hashmod`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

/// Which label names are valid targets: Prometheus 2's legacy
/// `[a-zA-Z_][a-zA-Z0-9_]*` or Prometheus 3's any UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Prometheus 2: `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[default]
    Legacy,
    /// Prometheus 3: any valid UTF-8.
    Utf8,
}

/// Default separator of joined source label values.
pub const DEFAULT_SEPARATOR: &str = ";";
/// Default regex (matches anything).
pub const DEFAULT_REGEX: &str = "(.*)";
/// Default replacement (the first group).
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// A relabel rule as written. Absent fields stay `None` so defaults apply only to
/// them (an explicit empty string stays empty) and so it serialises back as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values, joined with `separator`, are the rule's input (a missing
    /// label counts as empty). Default: none.
    #[serde(default)]
    pub source_labels: Option<Vec<String>>,
    /// The separator between the joined `source_labels` values. Default: `;`.
    #[serde(default)]
    pub separator: Option<String>,
    /// The regex (RE2 syntax, anchored at both ends as in Prometheus) matched against
    /// the joined source values, or against label names for `labelmap`, `labeldrop`
    /// and `labelkeep`. Default: `(.*)`.
    ///
    /// `None` when absent; an explicit YAML null is the empty regex, as in Prometheus.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub regex: Option<String>,
    /// The divisor of `hashmod` (the MD5 of the joined source values modulo this);
    /// required, non-zero, for `hashmod`. Default: none.
    #[serde(default)]
    pub modulus: Option<u64>,
    /// The label the result is written to (`$n` / `${name}` groups expanded for
    /// `replace`); required by `replace`, `hashmod`, `lowercase`, `uppercase`,
    /// `keepequal` and `dropequal`. Default: none.
    #[serde(default)]
    pub target_label: Option<String>,
    /// The value written by `replace` (or the new name for `labelmap`), with
    /// `$n` / `${name}` regex groups expanded. Default: `$1`.
    #[serde(default)]
    pub replacement: Option<String>,
    /// What the rule does: `replace`, `keep`, `drop`, `keepequal`, `dropequal`,
    /// `hashmod`, `labelmap`, `labeldrop`, `labelkeep`, `lowercase` or `uppercase`
    /// (case-insensitive). Default: `replace`.
    #[serde(default)]
    pub action: Option<Action>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

/// A rule Prometheus would reject; the message names the field and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RelabelConfigError {
    /// `hashmod` with `modulus` 0 (or absent).
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    /// An action that writes a label has no `target_label`.
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTargetLabel(&'static str),
    /// `target_label` is not a valid label name (or template) for the action.
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        /// The target as written.
        target: String,
        /// The action.
        action: &'static str,
    },
    /// `keepequal`/`dropequal` given a field other than the two they use.
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    OnlySourceAndTarget(&'static str),
    /// `lowercase`/`uppercase` given a `replacement`.
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(&'static str),
    /// `labeldrop`/`labelkeep` given a field other than `regex`.
    #[error("{0} action requires only 'regex', and no other fields")]
    OnlyRegex(&'static str),
    /// `replacement` does not give a valid label name for `labelmap`.
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        /// The replacement as written.
        replacement: String,
        /// The action.
        action: &'static str,
    },
    /// The regex does not compile (RE2 syntax, anchored as Prometheus does).
    /// The engine's error is shown and kept as the source, so a caller that only
    /// prints the message still says why.
    #[error("invalid regex {regex:?}: {source}")]
    Regex {
        /// The regex as written.
        regex: String,
        /// Why the regex engine refused it.
        #[source]
        source: regex::Error,
    },
}

impl RelabelConfig {
    /// The action (default `replace`).
    pub fn action(&self) -> Action {
        self.action.unwrap_or(Action::Replace)
    }
    /// The separator (default `;`).
    pub fn separator(&self) -> &str {
        self.separator.as_deref().unwrap_or(DEFAULT_SEPARATOR)
    }
    /// The regex, unanchored as written (default `(.*)`).
    pub fn regex(&self) -> &str {
        self.regex.as_deref().unwrap_or(DEFAULT_REGEX)
    }
    /// The replacement (default `$1`).
    pub fn replacement(&self) -> &str {
        self.replacement.as_deref().unwrap_or(DEFAULT_REPLACEMENT)
    }
    /// The target label (empty when absent).
    pub fn target_label(&self) -> &str {
        self.target_label.as_deref().unwrap_or("")
    }
    /// The source labels (empty when absent).
    pub fn source_labels(&self) -> &[String] {
        self.source_labels.as_deref().unwrap_or(&[])
    }
    /// The `hashmod` modulus (0 when absent).
    pub fn modulus(&self) -> u64 {
        self.modulus.unwrap_or(0)
    }

    /// Prometheus' `Validate` with legacy label names.
    pub fn validate(&self) -> Result<(), RelabelConfigError> {
        self.validate_with(NameValidation::Legacy)
    }

    /// Prometheus' `Validate` under the given name validation scheme.
    pub fn validate_with(&self, scheme: NameValidation) -> Result<(), RelabelConfigError> {
        let action = self.action();
        let name = action.as_str();
        if action == Action::HashMod && self.modulus() == 0 {
            return Err(RelabelConfigError::ZeroModulus);
        }
        let needs_target = matches!(
            action,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label().is_empty() {
            return Err(RelabelConfigError::MissingTargetLabel(name));
        }
        let target = self.target_label();
        let invalid_target = || RelabelConfigError::InvalidTargetLabel {
            target: target.to_string(),
            action: name,
        };
        if action == Action::Replace && !is_valid_target_template(target, scheme) {
            return Err(invalid_target());
        }
        if matches!(
            action,
            Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
                | Action::HashMod
        ) && !is_valid_name(target, scheme)
        {
            return Err(invalid_target());
        }
        if matches!(action, Action::Lowercase | Action::Uppercase)
            && self.replacement() != DEFAULT_REPLACEMENT
        {
            return Err(RelabelConfigError::ReplacementNotAllowed(name));
        }
        // Prometheus compares the regex with its default instance, so any written
        // regex (even `(.*)`) is refused here.
        if matches!(action, Action::KeepEqual | Action::DropEqual)
            && (self.regex.is_some()
                || self.modulus() != 0
                || self.separator() != DEFAULT_SEPARATOR
                || self.replacement() != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelConfigError::OnlySourceAndTarget(name));
        }
        if matches!(action, Action::LabelDrop | Action::LabelKeep)
            && (self.source_labels.is_some()
                || !target.is_empty()
                || self.modulus() != 0
                || self.separator() != DEFAULT_SEPARATOR
                || self.replacement() != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelConfigError::OnlyRegex(name));
        }
        if action == Action::LabelMap
            && scheme == NameValidation::Legacy
            && !is_valid_legacy_template(self.replacement())
        {
            return Err(RelabelConfigError::InvalidReplacement {
                replacement: self.replacement().to_string(),
                action: name,
            });
        }
        Ok(())
    }

    /// The YAML form Prometheus marshals: effective separator, replacement and
    /// action always; regex only when written; flow-style `source_labels`.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        if let Some(sources) = self.source_labels.as_ref().filter(|s| !s.is_empty()) {
            let items: Vec<String> = sources.iter().map(|s| yaml_flow_item(s)).collect();
            out.push_str(&format!("source_labels: [{}]\n", items.join(", ")));
        }
        out.push_str(&format!("separator: {}\n", yaml_scalar(self.separator())));
        if let Some(regex) = &self.regex {
            out.push_str(&format!("regex: {}\n", yaml_scalar(regex)));
        }
        if self.modulus() != 0 {
            out.push_str(&format!("modulus: {}\n", self.modulus()));
        }
        if !self.target_label().is_empty() {
            out.push_str(&format!(
                "target_label: {}\n",
                yaml_scalar(self.target_label())
            ));
        }
        out.push_str(&format!(
            "replacement: {}\n",
            yaml_scalar(self.replacement())
        ));
        out.push_str(&format!("action: {}\n", self.action().as_str()));
        out
    }
}

/// JSON with the fields that were written (so reading it back gives the same rule;
/// an absent field written as `""` would change its meaning).
impl Serialize for RelabelConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(sources) = self.source_labels.as_ref().filter(|s| !s.is_empty()) {
            map.serialize_entry("source_labels", sources)?;
        }
        if let Some(separator) = &self.separator {
            map.serialize_entry("separator", separator)?;
        }
        if let Some(regex) = &self.regex {
            map.serialize_entry("regex", regex)?;
        }
        if self.modulus() != 0 {
            map.serialize_entry("modulus", &self.modulus())?;
        }
        if !self.target_label().is_empty() {
            map.serialize_entry("target_label", self.target_label())?;
        }
        if let Some(replacement) = &self.replacement {
            map.serialize_entry("replacement", replacement)?;
        }
        if let Some(action) = self.action {
            map.serialize_entry("action", action.as_str())?;
        }
        map.end()
    }
}

/// An item of a flow sequence (`[a, b]`): as [`yaml_scalar`], but quoted whenever it
/// holds a `:`, which libyaml refuses inside a flow collection unless a space follows
/// (`[a:b]` did not read back; found by fuzzing), as Go's emitter also quotes it.
fn yaml_flow_item(s: &str) -> String {
    if s.contains(':') {
        yaml_quoted(s)
    } else {
        yaml_scalar(s)
    }
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain_ok = !s.is_empty()
        && !s.starts_with([
            ' ', '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"',
            '%', '@', '`',
        ])
        && !s.ends_with(' ')
        // Flow indicators end an item of the flow sequence `source_labels` is written
        // as (`[a[b]` did not read back; found by fuzzing), and a trailing `:` makes
        // a key of it.
        && !s.contains([',', '[', ']', '{', '}'])
        && !s.ends_with(':')
        && !s.contains(": ")
        && !s.contains(" #")
        // YAML also breaks lines at U+2028 and U+2029 and drops a byte-order mark, in
        // plain and double-quoted scalars alike (a label starting with U+2028 read back
        // without it; found by fuzzing): those are written escaped.
        && !s.chars().any(|c| c.is_control() || yaml_special(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        && s.parse::<f64>().is_err();
    if plain_ok {
        s.to_string()
    } else {
        yaml_quoted(s)
    }
}

/// A double-quoted YAML scalar, escaping what YAML would otherwise read differently.
fn yaml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || yaml_special(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters YAML treats as line breaks (U+2028, U+2029) or drops (the byte-order
/// mark) although Rust does not count them as control characters.
fn yaml_special(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A label name under `scheme`.
pub fn is_valid_name(name: &str, scheme: NameValidation) -> bool {
    match scheme {
        NameValidation::Legacy => crate::labels::is_valid_label_name(name),
        NameValidation::Utf8 => !name.is_empty(),
    }
}

/// `target_label` of `replace` may contain `$1` / `${name}` references; under legacy
/// validation it must match Prometheus' `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`.
fn is_valid_target_template(target: &str, scheme: NameValidation) -> bool {
    match scheme {
        NameValidation::Utf8 => !target.is_empty(),
        NameValidation::Legacy => is_valid_legacy_template(target),
    }
}

/// Matches `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a sequence whose every unit
/// is a letter/underscore or a `$name` / `${name}` reference, optionally followed by
/// word characters (so digits may follow, never lead).
pub fn is_valid_legacy_template(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        // One "start" unit is required before any word characters.
        match b[i] {
            c if c.is_ascii_alphabetic() || c == b'_' => i += 1,
            b'$' => {
                i += 1;
                if b.get(i) == Some(&b'{') {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && word(b[j]) {
                        j += 1;
                    }
                    if j == start || b.get(j) != Some(&b'}') {
                        return false;
                    }
                    i = j + 1;
                } else {
                    let start = i;
                    while i < b.len() && word(b[i]) {
                        i += 1;
                    }
                    if i == start {
                        return false;
                    }
                }
            }
            _ => return false,
        }
        while i < b.len() && word(b[i]) {
            i += 1;
        }
    }
    true
}
