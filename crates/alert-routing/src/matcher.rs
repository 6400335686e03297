//! One label matcher: `name` compared with `value` by `=`, `!=`, `=~` or `!~`.

use std::fmt;

use regex::Regex;

/// The four comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchType {
    /// `=`: the label equals the value (a missing label is the empty string).
    Equal,
    /// `!=`: the label differs from the value.
    NotEqual,
    /// `=~`: the label matches the regex, anchored at both ends as in Prometheus.
    Regexp,
    /// `!~`: the label does not match the anchored regex.
    NotRegexp,
}

impl MatchType {
    /// The operator as written: `=`, `!=`, `=~` or `!~`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }

    /// The operator from its text.
    pub fn from_operator(op: &str) -> Option<Self> {
        match op {
            "=" => Some(MatchType::Equal),
            "!=" => Some(MatchType::NotEqual),
            "=~" => Some(MatchType::Regexp),
            "!~" => Some(MatchType::NotRegexp),
            _ => None,
        }
    }
}

/// A matcher that could not be built or parsed; the message names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// Not `name op value` at all.
    #[error("bad matcher format: {0}")]
    BadFormat(String),
    /// A `"` inside a quoted value that is not escaped.
    #[error("matcher value contains unescaped double quote: {0}")]
    UnescapedQuote(String),
    /// Any other syntax error, with the parser's message (braces, commas, escapes).
    #[error("{0}")]
    Syntax(String),
    /// A regex matcher whose pattern does not compile.
    #[error("invalid regex {regex:?}: {reason}")]
    Regex {
        /// The pattern as written (before anchoring).
        regex: String,
        /// Why the regex engine refused it.
        reason: String,
    },
}

/// A compiled matcher. Regexes are fully anchored; a missing label matches as "".
#[derive(Debug, Clone)]
pub struct Matcher {
    /// How the value is compared.
    pub match_type: MatchType,
    /// The label name.
    pub name: String,
    /// The value or, for regex matchers, the pattern as written.
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.match_type == other.match_type && self.name == other.name && self.value == other.value
    }
}
impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher, compiling `^(?:value)$` for the regex types.
    pub fn new(
        match_type: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let value = value.into();
        let regex = match match_type {
            MatchType::Regexp | MatchType::NotRegexp => Some(
                Regex::new(&format!("^(?:{value})$")).map_err(|e| MatcherError::Regex {
                    regex: value.clone(),
                    reason: e.to_string(),
                })?,
            ),
            _ => None,
        };
        Ok(Self {
            match_type,
            name: name.into(),
            value,
            regex,
        })
    }

    /// Whether a label value (use "" for a missing label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (&self.match_type, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regexp, Some(re)) => re.is_match(value),
            (MatchType::NotRegexp, Some(re)) => !re.is_match(value),
            (_, None) => false,
        }
    }

    /// Alertmanager's sort order for a matcher list: name, then value, then type.
    pub fn sort_key(&self) -> (&str, &str, MatchType) {
        (&self.name, &self.value, self.match_type)
    }
}

/// Characters that force a name to be quoted when rendered.
fn needs_quoting(name: &str) -> bool {
    name.chars()
        .any(|c| c.is_whitespace() || "{}!=~,\\\"'`".contains(c))
}

/// Go's `strconv.Quote`: printable characters as they are, the rest escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_control() => {
                let n = c as u32;
                // Go writes `\x` only below 0x80: there it is a byte. C1 controls
                // (U+0080..U+009F) are runes, `\u0080`; `\x80` would read back as a
                // lone byte that is not UTF-8 (found by the `matchers` fuzz target).
                if n < 0x80 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl fmt::Display for Matcher {
    /// `name="value"` with `\`, newline and `"` escaped in the value; a name with
    /// whitespace or any of ``{}!=~,\"'` `` is quoted, and then the value is Go-quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.match_type.as_str();
        if needs_quoting(&self.name) {
            return write!(f, "{}{op}{}", go_quote(&self.name), go_quote(&self.value));
        }
        let mut value = String::with_capacity(self.value.len());
        for c in self.value.chars() {
            match c {
                '\\' => value.push_str("\\\\"),
                '\n' => value.push_str("\\n"),
                '"' => value.push_str("\\\""),
                c => value.push(c),
            }
        }
        write!(f, "{}{op}\"{value}\"", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quoted name or value with C1 controls renders as Go does (`\u009d`) and
    /// reads back; `\x9d` read back as a lone non-UTF-8 byte (fuzz finding).
    #[test]
    fn c1_controls_render_as_go_and_round_trip() {
        let m = Matcher::new(MatchType::Equal, "a b\u{9d}", "x\u{80}\u{1}").expect("valid");
        let text = m.to_string();
        assert_eq!(text, "\"a b\\u009d\"=\"x\\u0080\\x01\"");
        let again = crate::utf8_parser::parse_matcher(&text).expect("reads back");
        assert_eq!(again, m);
    }
}
