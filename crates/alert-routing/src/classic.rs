//! Alertmanager's classic matcher parser (`pkg/labels.ParseMatchers`, the behaviour
//! before 0.27): split on commas outside quotes, then one regex per matcher.

use std::sync::OnceLock;

use regex::Regex;

use crate::matcher::{MatchType, Matcher, MatcherError};

fn matcher_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*((?s).*?)\s*$").ok()
    })
    .as_ref()
}

/// Parses `{a="b", c=~"d"}` or `a=b,c=~d` the classic way.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = input.strip_prefix('{').unwrap_or(input);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut inside_quotes, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !inside_quotes => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    inside_quotes = !inside_quotes;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    let last = token.trim();
    if !last.is_empty() {
        tokens.push(last.to_string());
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// Parses one `name<op>value` matcher the classic way.
pub fn parse_matcher(input: &str) -> Result<Matcher, MatcherError> {
    let re = matcher_regex().ok_or_else(|| MatcherError::BadFormat(input.to_string()))?;
    let caps = re
        .captures(input)
        .ok_or_else(|| MatcherError::BadFormat(input.to_string()))?;
    let name = caps.get(1).map_or("", |m| m.as_str());
    let op = caps.get(2).map_or("", |m| m.as_str());
    let raw = caps.get(3).map_or("", |m| m.as_str());
    let match_type =
        MatchType::from_operator(op).ok_or_else(|| MatcherError::BadFormat(input.to_string()))?;
    let (body, mut expect_trailing_quote) = match raw.strip_prefix('"') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut escaped = false;
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    for (i, c) in chars.iter().copied() {
        let last = i + c.len_utf8() == body.len();
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' => {
                if !expect_trailing_quote || !last {
                    return Err(MatcherError::UnescapedQuote(raw.to_string()));
                }
                expect_trailing_quote = false;
            }
            other => value.push(other),
        }
    }
    if expect_trailing_quote {
        return Err(MatcherError::UnescapedQuote(raw.to_string()));
    }
    Matcher::new(match_type, name, value)
}
