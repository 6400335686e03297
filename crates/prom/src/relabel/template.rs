//! `target_label` and `replacement` templates, expanded exactly like Go's
//! `regexp.Expand`, which Prometheus uses. Parsed once per rule so applying a rule
//! only copies text.
//!
//! Go's rules, which differ in places from the Rust regex crate's own expansion:
//! `$$` is a literal `$`; `$name` takes the longest run of letters, digits and `_`
//! (so `$1x` refers to a group named `1x`, which usually does not exist and expands to
//! nothing); `${name}` needs a non-empty name of those characters and a closing brace,
//! otherwise the `$` is literal text; a name is a group number only if it is all ASCII
//! digits, at most 9 digits long and without a leading zero (`${01}` is a *name*); an unknown
//! group, or one that did not take part in the match, expands to nothing.

use std::sync::OnceLock;

use regex::Regex;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// A capture group index that exists in the rule's regex.
    Group(usize),
}

impl Template {
    /// Parses `template` against the groups of `regex` (references to groups the regex
    /// lacks are dropped here, since they always expand to nothing).
    pub(super) fn parse(template: &str, regex: &Regex) -> Self {
        let names: Vec<Option<&str>> = regex.capture_names().collect();
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(dollar) = rest.find('$') {
            literal.push_str(&rest[..dollar]);
            rest = &rest[dollar + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                literal.push('$');
                rest = after;
                continue;
            }
            let Some((name, after)) = extract_name(rest) else {
                literal.push('$');
                continue;
            };
            rest = after;
            let group = match group_number(name) {
                Some(n) => (n < names.len()).then_some(n),
                None => names.iter().position(|n| *n == Some(name)),
            };
            if let Some(group) = group {
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Group(group));
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Template { pieces }
    }

    /// The expansion when it does not depend on the match.
    pub(super) fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// Appends the expansion to `out`; `group(i)` is the text of capture group `i`, or
    /// `None` if it did not take part in the match.
    pub(super) fn expand_into<'t>(
        &self,
        out: &mut String,
        mut group: impl FnMut(usize) -> Option<&'t str>,
    ) {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Group(i) => out.push_str(group(*i).unwrap_or("")),
            }
        }
    }
}

/// Go's `extract`: the name after a `$` (braced or not) and the text after it.
fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let end = body
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    let rest = &body[end..];
    if braced {
        return rest.strip_prefix('}').map(|rest| (name, rest));
    }
    Some((name, rest))
}

/// Go's group-number rule: ASCII digits only, at most 9 of them, no leading zero.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || name.len() > 9 {
        return None;
    }
    if name.len() > 1 && name.starts_with('0') {
        return None;
    }
    name.parse().ok()
}

/// Go's `unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_'` (letters are Unicode
/// category L, digits category Nd).
fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    static LETTER_OR_DIGIT: OnceLock<Option<Regex>> = OnceLock::new();
    match LETTER_OR_DIGIT.get_or_init(|| Regex::new(r"\A[\p{L}\p{Nd}]\z").ok()) {
        Some(re) => re.is_match(c.encode_utf8(&mut [0; 4])),
        None => c.is_alphanumeric(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(template: &str, regex: &str, text: &str) -> String {
        let re = Regex::new(&format!("^(?s:{regex})$")).expect("test regex");
        let caps = re.captures(text).expect("test text matches");
        let mut out = String::new();
        Template::parse(template, &re).expand_into(&mut out, |i| caps.get(i).map(|m| m.as_str()));
        out
    }

    #[test]
    fn go_expand_rules() {
        let re = "(?P<first>a)(b)?(c)";
        assert_eq!(expand("$1-${2}-$3", re, "abc"), "a-b-c");
        assert_eq!(expand("$1-${2}-$3", re, "ac"), "a--c");
        assert_eq!(expand("${first}x", re, "abc"), "ax");
        assert_eq!(expand("$firstx", re, "abc"), "");
        assert_eq!(expand("$1x", re, "abc"), "", "$1x names group '1x'");
        assert_eq!(expand("${1}x", re, "abc"), "ax");
        assert_eq!(expand("$$1", re, "abc"), "$1");
        assert_eq!(expand("$", re, "abc"), "$");
        assert_eq!(expand("a$", re, "abc"), "a$");
        assert_eq!(expand("${", re, "abc"), "${");
        assert_eq!(expand("${}", re, "abc"), "${}");
        assert_eq!(expand("${1", re, "abc"), "${1");
        assert_eq!(expand("${-}", re, "abc"), "${-}");
        assert_eq!(expand("$-", re, "abc"), "$-");
        assert_eq!(expand("${01}", re, "abc"), "", "leading zero makes a name");
        assert_eq!(expand("$0", re, "abc"), "abc");
        assert_eq!(expand("$9", re, "abc"), "");
        assert_eq!(expand("$99999999999", re, "abc"), "");
        assert_eq!(expand("$1é", re, "abc"), "", "Unicode letters extend the name");
        assert_eq!(expand("$1²", re, "abc"), "a²", "No is not Nd");
        assert_eq!(expand("$1-$1", "(.*)", ""), "-");
    }

    #[test]
    fn literal_templates_are_known_without_a_match() {
        let re = Regex::new("(a)").expect("test regex");
        assert_eq!(Template::parse("foo", &re).as_literal(), Some("foo"));
        assert_eq!(Template::parse("a$$b", &re).as_literal(), Some("a$b"));
        assert_eq!(Template::parse("$2", &re).as_literal(), Some(""));
        assert_eq!(Template::parse("$1", &re).as_literal(), None);
    }
}
