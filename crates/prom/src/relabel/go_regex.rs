//! Prometheus relabel regexes are Go RE2 patterns anchored as `^(?s:` + regex + `)$`.
//! The Rust `regex` crate is close to RE2 but not identical, so patterns are translated
//! first where the two disagree on the same text:
//!
//! - `\d \w \s \b` (and negations) are ASCII-only in Go, Unicode-aware in Rust;
//! - an escaped punctuation character is always a literal in Go, while Rust gives
//!   `\<` and `\>` a meaning (word-boundary assertions);
//! - inside a character class Go takes `[`, `&&`, `--` and `~~` literally, where Rust
//!   opens a nested class or a set operation;
//! - Go reads a `{` that does not start a valid repetition (`a{,3}`) as a literal;
//! - Go has `\Q...\E` literal quoting and `\p{^Greek}` negation, which Rust lacks;
//! - Go allows octal escapes (`\012`).
//!
//! Patterns Go rejects are mostly rejected here as well; a few (e.g. `\1`, `(?x)`) are
//! accepted by Rust where Go would refuse them.

use regex::{Regex, RegexBuilder};

use super::error::RelabelConfigError;

/// Compiles a relabel regex with Prometheus' anchoring and Go's syntax.
pub(super) fn compile(pattern: &str) -> Result<Regex, RelabelConfigError> {
    let error = |reason: String| RelabelConfigError::Regex {
        regex: pattern.to_string(),
        reason,
    };
    let translated = translate(pattern).map_err(|reason| error(reason.to_string()))?;
    RegexBuilder::new(&format!("^(?s:{translated})$"))
        .octal(true)
        .build()
        .map_err(|e| error(last_line(&e.to_string())))
}

/// The regex crate's errors show the pattern with a caret; the reason is the last line.
fn last_line(message: &str) -> String {
    message
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or(message)
        .trim_start_matches("error: ")
        .to_string()
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = r"\t\n\f\r ";

/// Rewrites a Go RE2 pattern into an equivalent Rust `regex` pattern.
pub(super) fn translate(pattern: &str) -> Result<String, &'static str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = *chars.get(i + 1).ok_or("trailing backslash at end of expression")?;
                i += 2;
                match c {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    's' => out.push_str(r"[\t\n\f\r ]"),
                    'S' => out.push_str(r"[^\t\n\f\r ]"),
                    'b' => out.push_str(r"(?-u:\b)"),
                    'B' => out.push_str(r"(?-u:\B)"),
                    'Q' => {
                        while i < chars.len() {
                            if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            push_literal(&mut out, chars[i]);
                            i += 1;
                        }
                    }
                    'p' | 'P' | 'x' => i = copy_braced_escape(&chars, i - 2, &mut out)?,
                    c if c.is_ascii_punctuation() => push_literal(&mut out, c),
                    c => {
                        out.push('\\');
                        out.push(c);
                    }
                }
            }
            '[' => i = translate_class(&chars, i, &mut out)?,
            '{' => {
                if let Some(end) = repetition_end(&chars, i) {
                    out.extend(&chars[i..end]);
                    i = end;
                } else {
                    out.push_str(r"\{");
                    i += 1;
                }
            }
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            ']' => {
                out.push_str(r"\]");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Writes `c` so Rust reads it as that literal character.
fn push_literal(out: &mut String, c: char) {
    if regex_syntax_meta(c) {
        out.push('\\');
    }
    out.push(c);
}

/// Characters the Rust regex parser treats specially somewhere (all escapable).
fn regex_syntax_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.'
            | '+'
            | '*'
            | '?'
            | '('
            | ')'
            | '|'
            | '['
            | ']'
            | '{'
            | '}'
            | '^'
            | '$'
            | '#'
            | '&'
            | '-'
            | '~'
    )
}

/// Copies `\pL`, `\p{Greek}`, `\xHH`, `\x{HHHH}` starting at the backslash at `start`,
/// turning Go's `\p{^Greek}` into Rust's `\P{Greek}`. Returns the index after it.
fn copy_braced_escape(chars: &[char], start: usize, out: &mut String) -> Result<usize, &'static str> {
    let kind = chars[start + 1];
    let mut i = start + 2;
    if chars.get(i) == Some(&'{') {
        let close = chars[i..]
            .iter()
            .position(|&c| c == '}')
            .map(|p| i + p)
            .ok_or("missing closing } in escape")?;
        let body: String = chars[i + 1..close].iter().collect();
        match (kind, body.strip_prefix('^')) {
            ('p', Some(rest)) => out.push_str(&format!(r"\P{{{rest}}}")),
            ('P', Some(rest)) => out.push_str(&format!(r"\p{{{rest}}}")),
            _ => out.push_str(&format!(r"\{kind}{{{body}}}")),
        }
        return Ok(close + 1);
    }
    let len = if kind == 'x' { 2 } else { 1 };
    let end = (i + len).min(chars.len());
    out.push('\\');
    out.push(kind);
    out.extend(&chars[i..end]);
    i = end;
    Ok(i)
}

/// If `chars[start]` (a `{`) begins a Go repetition `{n}`, `{n,}` or `{n,m}`, the index
/// after its `}`.
fn repetition_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let digits = |i: &mut usize| {
        let from = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return None;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (chars.get(i) == Some(&'}')).then_some(i + 1)
}

/// One element of a Go character class.
enum ClassItem {
    /// A single character, written so Rust reads it literally inside a class.
    Char(String),
    /// Several characters or a nested class (cannot be a range endpoint).
    Set(String),
}

/// Translates the class starting at `chars[start] == '['`; returns the index after `]`.
fn translate_class(chars: &[char], start: usize, out: &mut String) -> Result<usize, &'static str> {
    const UNCLOSED: &str = "missing closing ] in character class";
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *chars.get(i).ok_or(UNCLOSED)?;
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        let (item, next) = class_item(chars, i)?;
        i = next;
        let is_range = matches!(item, ClassItem::Char(_))
            && chars.get(i) == Some(&'-')
            && chars.get(i + 1).is_some_and(|&c| c != ']');
        match item {
            ClassItem::Char(lo) if is_range => {
                let (hi, next) = class_item(chars, i + 1)?;
                let ClassItem::Char(hi) = hi else {
                    return Err("invalid character class range");
                };
                out.push_str(&lo);
                out.push('-');
                out.push_str(&hi);
                i = next;
            }
            ClassItem::Char(s) | ClassItem::Set(s) => out.push_str(&s),
        }
    }
}

/// Reads one class element at `i`; returns it and the index after it.
fn class_item(chars: &[char], i: usize) -> Result<(ClassItem, usize), &'static str> {
    let c = chars[i];
    if c == '[' && chars.get(i + 1) == Some(&':') {
        // POSIX class `[:alpha:]` (same meaning in both engines).
        if let Some(p) = (i + 2..chars.len().saturating_sub(1))
            .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
        {
            return Ok((ClassItem::Set(chars[i..p + 2].iter().collect()), p + 2));
        }
    }
    if c != '\\' {
        let mut s = String::new();
        push_literal(&mut s, c);
        return Ok((ClassItem::Char(s), i + 1));
    }
    let e = *chars.get(i + 1).ok_or("trailing backslash at end of expression")?;
    let set = |s: &str| Ok((ClassItem::Set(s.to_string()), i + 2));
    match e {
        'd' => set(ASCII_DIGIT),
        'w' => set(ASCII_WORD),
        's' => set(ASCII_SPACE),
        'D' => set(&format!("[^{ASCII_DIGIT}]")),
        'W' => set(&format!("[^{ASCII_WORD}]")),
        'S' => set(&format!("[^{ASCII_SPACE}]")),
        'p' | 'P' => {
            let mut s = String::new();
            let next = copy_braced_escape(chars, i, &mut s)?;
            Ok((ClassItem::Set(s), next))
        }
        'x' => {
            let mut s = String::new();
            let next = copy_braced_escape(chars, i, &mut s)?;
            Ok((ClassItem::Char(s), next))
        }
        c if c.is_ascii_punctuation() => {
            let mut s = String::new();
            push_literal(&mut s, c);
            Ok((ClassItem::Char(s), i + 2))
        }
        c => Ok((ClassItem::Char(format!("\\{c}")), i + 2)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_match(pattern: &str, text: &str) -> bool {
        match compile(pattern) {
            Ok(re) => re.is_match(text),
            Err(e) => panic!("{pattern}: {e}"),
        }
    }

    #[test]
    fn anchored_and_dot_matches_newline() {
        assert!(full_match("line1.line2", "line1\nline2"));
        assert!(!full_match("foo", "foobar"));
        assert!(!full_match("bar", "foobar"));
        assert!(full_match("", ""));
        assert!(!full_match("", "x"));
        // Prometheus' anchoring wraps the text, so a top-level alternation stays anchored.
        assert!(!full_match("a|b", "ab"));
    }

    #[test]
    fn perl_classes_are_ascii_like_go() {
        assert!(full_match(r"\d+", "123"));
        assert!(!full_match(r"\d", "٣"));
        assert!(!full_match(r"\w", "é"));
        assert!(full_match(r"\W", "é"));
        assert!(!full_match(r"\s", "\u{a0}"));
        assert!(full_match(r"[\d.]+", "1.5"));
        assert!(!full_match(r"[\w]", "é"));
        assert!(full_match(r"[^\D]", "7"));
        assert!(full_match(r"a\b", "a"));
    }

    #[test]
    fn go_literal_forms() {
        assert!(full_match(r"\<a\>", "<a>"));
        assert!(full_match(r"a{,3}", "a{,3}"));
        assert!(full_match(r"a{2}", "aa"));
        assert!(full_match(r"x{2,}", "xxx"));
        assert!(full_match(r"[[]", "["));
        assert!(full_match(r"[a&&b]", "&"));
        assert!(full_match(r"[a--]", "-"));
        assert!(full_match(r"[+--]", ","));
        assert!(full_match(r"[]a]", "]"));
        assert!(full_match(r"\Q.*+\E.", ".*+x"));
        assert!(full_match(r"\p{^Greek}", "a"));
        assert!(!full_match(r"\p{^Greek}", "α"));
        assert!(full_match(r"[[:alpha:]]+", "abc"));
        assert!(full_match(r"\x41\x{42}", "AB"));
        assert!(full_match(r"\101", "A"));
        assert!(full_match(r"a}", "a}"));
        assert!(full_match(r"(?i)ABC", "abc"));
        assert!(full_match(r"(?P<x>a)(?<y>b)", "ab"));
    }

    #[test]
    fn errors_name_the_regex() {
        for bad in ["(unclosed", "[a", "a\\", "*a", "a**"] {
            match compile(bad) {
                Err(RelabelConfigError::Regex { regex, .. }) => assert_eq!(regex, bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
