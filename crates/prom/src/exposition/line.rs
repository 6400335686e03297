//! Parsing one sample line: metric name (plain or quoted), label set, value,
//! timestamp and (OpenMetrics) exemplar, with the whitespace rules of each format.

use std::borrow::Cow;

use super::number::{parse_om_timestamp, parse_text_timestamp, parse_value};

/// Labels of one line, borrowed from the input unless unescaped.
pub type LabelPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// The parts of a sample line other than its labels.
pub struct SeriesLine<'a> {
    pub name: Cow<'a, str>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
    /// With an exemplar: the characters of its label names and values together.
    pub exemplar_label_chars: Option<usize>,
}

struct Cursor<'a> {
    line: &'a str,
    bytes: &'a [u8],
    pos: usize,
    openmetrics: bool,
}

/// A sample line Prometheus would refuse; the message says what was expected where
/// (the caller adds the line's excerpt and number).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SeriesLineError(String);

/// Parses a sample line (already known not to be a comment), filling `labels`.
pub fn parse_series<'a>(
    line: &'a str,
    openmetrics: bool,
    labels: &mut LabelPairs<'a>,
) -> Result<SeriesLine<'a>, SeriesLineError> {
    parse_series_text(line, openmetrics, labels).map_err(SeriesLineError)
}

/// [`parse_series`] with the reason as text, as the cursor's steps produce it.
fn parse_series_text<'a>(
    line: &'a str,
    openmetrics: bool,
    labels: &mut LabelPairs<'a>,
) -> Result<SeriesLine<'a>, String> {
    labels.clear();
    let mut c = Cursor {
        line,
        bytes: line.as_bytes(),
        pos: 0,
        openmetrics,
    };
    // Text format: a bare name needs blanks before the value (Prometheus' lexer would
    // read `a-1 5` as value -1 at 5 ms; we refuse that rather than guess), a label
    // set may be followed directly by the value. OpenMetrics: exactly one space.
    let mut needs_gap = true;
    let name = if c.peek() == Some(b'{') {
        needs_gap = false;
        c.label_set(labels, false)?
    } else {
        let plain = c.metric_name()?;
        if !openmetrics {
            let before = c.pos;
            c.skip_blanks();
            needs_gap = c.pos == before;
        }
        if c.peek() == Some(b'{') {
            needs_gap = false;
            if let Some(quoted) = c.label_set(labels, false)? {
                return Err(format!("metric name set twice ({plain:?} and {quoted:?})"));
            }
        }
        Some(Cow::Borrowed(plain))
    };
    let name = name.ok_or_else(|| "metric name not set".to_string())?;
    if openmetrics {
        if c.peek() != Some(b' ') {
            return Err(format!("expected value after metric {}", c.excerpt()));
        }
        c.pos += 1;
    } else {
        let before = c.pos;
        c.skip_blanks();
        if needs_gap && c.pos == before {
            return Err(format!("expected value after metric {}", c.excerpt()));
        }
    }
    let value_text = c.token();
    if value_text.is_empty() {
        return Err(format!("expected value after metric {}", c.excerpt()));
    }
    let value = parse_value(value_text).map_err(|e| e.to_string())?;
    let mut timestamp_ms = None;
    if c.at_end() {
        return Ok(SeriesLine {
            name,
            value,
            timestamp_ms,
            exemplar_label_chars: None,
        });
    }
    if openmetrics {
        c.expect_single_space()?;
        if !c.rest().starts_with("# ") {
            let ts = c.token();
            timestamp_ms = Some(parse_om_timestamp(ts).map_err(|e| e.to_string())?);
            if c.at_end() {
                return Ok(SeriesLine {
                    name,
                    value,
                    timestamp_ms,
                    exemplar_label_chars: None,
                });
            }
            if !c.rest().starts_with(" # ") {
                return Err(format!(
                    "expected next entry after timestamp {}",
                    c.excerpt()
                ));
            }
            c.pos += 1;
        }
        let chars = c.exemplar()?;
        return Ok(SeriesLine {
            name,
            value,
            timestamp_ms,
            exemplar_label_chars: Some(chars),
        });
    } else {
        c.skip_blanks();
        if c.at_end() {
            return Ok(SeriesLine {
                name,
                value,
                timestamp_ms,
                exemplar_label_chars: None,
            });
        }
        let ts = c.token();
        timestamp_ms = Some(parse_text_timestamp(ts).map_err(|e| e.to_string())?);
        c.skip_blanks();
        if !c.at_end() {
            return Err(format!(
                "expected next entry after timestamp {}",
                c.excerpt()
            ));
        }
    }
    Ok(SeriesLine {
        name,
        value,
        timestamp_ms,
        exemplar_label_chars: None,
    })
}

/// Byte classes: bit 0 = label name character, bit 1 = metric name character.
const CHAR_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let label = c.is_ascii_alphanumeric() || c == b'_';
        let metric = label || c == b':';
        table[b] = (label as u8) | ((metric as u8) << 1);
        b += 1;
    }
    table
};

/// Length of the run of bytes at the start of `bytes` in class `mask`.
fn run_length(bytes: &[u8], mask: u8) -> usize {
    bytes
        .iter()
        .position(|&b| CHAR_CLASS[b as usize] & mask == 0)
        .unwrap_or(bytes.len())
}

/// Position of the next `"` or `\`. Label values are mostly short, where eight bytes
/// at a time in a register beat both a byte loop and setting up a vectorised search;
/// long ones go to memchr.
fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let head = bytes.get(..SHORT).unwrap_or(bytes);
    let mut words = head.chunks_exact(8);
    let mut offset = 0;
    for word in words.by_ref() {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let w = u64::from_le_bytes(eight);
        // A byte of `w ^ c` is zero where `w` has `c`; `(x - ONES) & !x & HIGHS` sets
        // the high bit of the first zero byte of `x` (higher ones may be set too, by
        // the borrow, so only the lowest set bit counts).
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let hits = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash))
            & HIGHS;
        if hits != 0 {
            return Some(offset + (hits.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    if let Some(i) = words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
    {
        return Some(offset + i);
    }
    let tail = bytes.get(SHORT..)?;
    memchr::memchr2(b'"', b'\\', tail).map(|i| i + SHORT)
}

/// Length of the metric-name characters (`[a-zA-Z0-9_:]`) at the start of `bytes`.
pub fn metric_name_len(bytes: &[u8]) -> usize {
    run_length(bytes, 2)
}

fn is_metric_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}
fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn rest(&self) -> &'a str {
        self.line.get(self.pos..).unwrap_or("")
    }

    /// A short piece of the line from the current position, for error messages.
    fn excerpt(&self) -> String {
        let rest = self.rest();
        let end = rest
            .char_indices()
            .nth(20)
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        format!("at {:?}", &rest[..end])
    }

    fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Blanks between tokens are allowed inside label sets of the text format only.
    fn skip_text_blanks(&mut self) {
        if !self.openmetrics {
            self.skip_blanks();
        }
    }

    fn expect_single_space(&mut self) -> Result<(), String> {
        if self.peek() == Some(b' ') {
            self.pos += 1;
            if self.at_end() || self.peek() == Some(b' ') {
                return Err(format!("unexpected whitespace {}", self.excerpt()));
            }
            Ok(())
        } else {
            Err(format!("expected a single space {}", self.excerpt()))
        }
    }

    /// Bytes up to the next separator (a space in OpenMetrics, blanks in text).
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let openmetrics = self.openmetrics;
        let len = rest
            .iter()
            .position(|&b| b == b' ' || (!openmetrics && b == b'\t'))
            .unwrap_or(rest.len());
        self.pos = start + len;
        self.line.get(start..self.pos).unwrap_or("")
    }

    fn metric_name(&mut self) -> Result<&'a str, String> {
        let start = self.pos;
        match self.peek() {
            Some(b) if is_metric_start(b) => self.pos += 1,
            _ => return Err(format!("expected metric name {}", self.excerpt())),
        }
        self.pos += run_length(self.bytes.get(self.pos..).unwrap_or_default(), 2);
        Ok(self.line.get(start..self.pos).unwrap_or(""))
    }

    fn label_name(&mut self) -> Result<&'a str, String> {
        let start = self.pos;
        match self.peek() {
            Some(b) if is_label_start(b) => self.pos += 1,
            _ => return Err(format!("expected label name {}", self.excerpt())),
        }
        self.pos += run_length(self.bytes.get(self.pos..).unwrap_or_default(), 1);
        Ok(self.line.get(start..self.pos).unwrap_or(""))
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes (others kept as is).
    fn quoted(&mut self, allow_nul: bool) -> Result<Cow<'a, str>, String> {
        if self.peek() != Some(b'"') {
            return Err(format!("expected label value {}", self.excerpt()));
        }
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        let mut chunk_start = start;
        loop {
            let Some(offset) = find_quote_or_backslash(&self.bytes[self.pos..]) else {
                return Err("unterminated quoted string".into());
            };
            let at = self.pos + offset;
            if !allow_nul && memchr::memchr(0, &self.bytes[self.pos..at]).is_some() {
                return Err("NUL byte in exemplar label value".into());
            }
            if self.bytes[at] == b'"' {
                self.pos = at + 1;
                let tail = self.line.get(chunk_start..at).unwrap_or("");
                return Ok(match owned {
                    Some(mut s) => {
                        s.push_str(tail);
                        Cow::Owned(s)
                    }
                    None => Cow::Borrowed(tail),
                });
            }
            let escaped = self
                .bytes
                .get(at + 1)
                .copied()
                .ok_or_else(|| "unterminated quoted string".to_string())?;
            let s = owned.get_or_insert_with(String::new);
            s.push_str(self.line.get(chunk_start..at).unwrap_or(""));
            match escaped {
                b'\\' => s.push('\\'),
                b'"' => s.push('"'),
                b'n' => s.push('\n'),
                _ => s.push('\\'),
            }
            self.pos = if matches!(escaped, b'\\' | b'"' | b'n') {
                at + 2
            } else {
                at + 1
            };
            chunk_start = self.pos;
        }
    }

    /// `{...}`: labels and, in the UTF-8 form, a quoted metric name without `=`.
    /// Returns the quoted metric name if there was one.
    fn label_set(
        &mut self,
        labels: &mut LabelPairs<'a>,
        exemplar: bool,
    ) -> Result<Option<Cow<'a, str>>, String> {
        self.pos += 1; // '{'
        let mut name: Option<Cow<'a, str>> = None;
        let mut expect_item = true;
        loop {
            self.skip_text_blanks();
            match self.peek() {
                None => return Err("unexpected end of line in label set".into()),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(name);
                }
                Some(b',') => return Err(format!("expected label name {}", self.excerpt())),
                Some(_) if !expect_item && self.openmetrics => {
                    return Err(format!("expected comma or brace close {}", self.excerpt()))
                }
                Some(b'"') => {
                    let text = self.quoted(true)?;
                    self.skip_text_blanks();
                    match self.peek() {
                        Some(b'=') => {
                            let value = self.label_value(exemplar)?;
                            labels.push((text, value));
                        }
                        // A quoted string alone is the metric name (UTF-8 form).
                        Some(b',' | b'}') if !exemplar => {
                            if name.is_some() {
                                return Err("metric name set twice in label set".into());
                            }
                            name = Some(text);
                        }
                        _ => return Err(format!("expected equal {}", self.excerpt())),
                    }
                }
                Some(_) => {
                    let label = self.label_name()?;
                    let value = match self.plain_value(exemplar) {
                        Some(value) => value,
                        None => {
                            self.skip_text_blanks();
                            if self.peek() != Some(b'=') {
                                return Err(format!("expected equal {}", self.excerpt()));
                            }
                            self.label_value(exemplar)?
                        }
                    };
                    labels.push((Cow::Borrowed(label), value));
                }
            }
            match self.peek() {
                // No blanks to skip before a comma or the closing brace (the loop's
                // top reads the brace).
                Some(b',') => {
                    self.pos += 1;
                    expect_item = true;
                }
                Some(b'}') => expect_item = false,
                _ => {
                    self.skip_text_blanks();
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                        expect_item = true;
                    } else {
                        expect_item = false;
                    }
                }
            }
        }
    }

    /// `="value"` right after a sample's label name with no blank and no escape, the
    /// form exporters write, read in one step: `None`, the cursor unmoved, for
    /// anything else (blanks, escapes, exemplar labels with their NUL rule, errors),
    /// which the general steps then read. Why: those steps (blanks skipped at each
    /// token, the escape-aware reader's set-up) were a fifth of parsing a label.
    #[inline]
    fn plain_value(&mut self, exemplar: bool) -> Option<Cow<'a, str>> {
        if exemplar {
            return None;
        }
        let rest = self.bytes.get(self.pos..)?;
        if rest.first() != Some(&b'=') || rest.get(1) != Some(&b'"') {
            return None;
        }
        let body = rest.get(2..)?;
        let end = find_quote_or_backslash(body)?;
        if body.get(end) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 2;
        let value = self.line.get(start..start + end)?;
        self.pos = start + end + 1;
        Some(Cow::Borrowed(value))
    }

    /// `= "value"` after a label name.
    fn label_value(&mut self, exemplar: bool) -> Result<Cow<'a, str>, String> {
        self.pos += 1; // '='
        self.skip_text_blanks();
        self.quoted(!exemplar)
    }

    /// `# {labels} value [timestamp]`, validated and dropped; returns the characters
    /// of its label names and values together (OpenMetrics limits them to 128).
    fn exemplar(&mut self) -> Result<usize, String> {
        self.pos += 2; // "# "
        if self.peek() != Some(b'{') {
            return Err(format!("expected exemplar labels {}", self.excerpt()));
        }
        let mut scratch = Vec::new();
        self.label_set(&mut scratch, true)?;
        let chars = scratch
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum();
        if self.peek() != Some(b' ') {
            return Err(format!(
                "expected value after exemplar labels {}",
                self.excerpt()
            ));
        }
        self.pos += 1;
        let value = self.token();
        if value.is_empty() {
            return Err(format!(
                "expected value after exemplar labels {}",
                self.excerpt()
            ));
        }
        parse_value(value).map_err(|e| e.to_string())?;
        if self.at_end() {
            return Ok(chars);
        }
        self.expect_single_space()?;
        let ts = self.token();
        parse_om_timestamp(ts).map_err(|e| format!("invalid exemplar timestamp: {e}"))?;
        if !self.at_end() {
            return Err(format!("unexpected data after exemplar {}", self.excerpt()));
        }
        Ok(chars)
    }
}

#[cfg(test)]
mod quote_search_tests {
    use super::find_quote_or_backslash;

    /// Every position and both characters, in every alignment, against a plain search;
    /// bytes around the hit include 0x21/0x5b/0x5d/0xa2/0xdc (next to `"` and `\`,
    /// or with the high bit set) where a word trick could misfire.
    #[test]
    fn finds_the_first_quote_or_backslash_wherever_it_is() {
        let fillers = [b'a', 0x21, 0x5b, 0x5d, 0xa2, 0xdc, 0x00, 0xff];
        for len in 0..80 {
            for filler in fillers {
                let plain = vec![filler; len];
                assert_eq!(find_quote_or_backslash(&plain), None, "{len} {filler:#x}");
                for at in 0..len {
                    for hit in [b'"', b'\\'] {
                        let mut bytes = plain.clone();
                        bytes[at] = hit;
                        if at + 1 < len {
                            bytes[at + 1] = if hit == b'"' { b'\\' } else { b'"' };
                        }
                        assert_eq!(
                            find_quote_or_backslash(&bytes),
                            Some(at),
                            "{len} {filler:#x} {at} {hit}"
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod label_set_tests {
    use super::*;

    fn labels(line: &str, openmetrics: bool) -> Result<Vec<(String, String)>, SeriesLineError> {
        let mut pairs = Vec::new();
        parse_series(line, openmetrics, &mut pairs)?;
        Ok(pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect())
    }

    /// The one-step reading of `="value"` and the general steps agree on every
    /// spelling around it: blanks, escapes, empty values, a trailing comma, and the
    /// errors of each format.
    #[test]
    fn every_spelling_of_a_label_reads_as_the_general_steps_read_it() {
        let expected: Vec<(String, String)> = [("a", "x"), ("b", "y\"z"), ("c", "")]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        for line in [
            r#"m{a="x",b="y\"z",c=""} 1"#,
            r#"m{a="x",b="y\"z",c="",} 1"#,
            r#"m{a = "x" , b= "y\"z",c ="" } 1"#,
            "m{\ta=\"x\",\tb=\"y\\\"z\",c=\"\"\t} 1",
            r#"m {a="x",b="y\"z",c=""} 1"#,
        ] {
            assert_eq!(labels(line, false).as_ref(), Ok(&expected), "{line}");
        }
        assert_eq!(
            labels(r#"m{a="x",b="y\"z",c=""} 1"#, true).as_ref(),
            Ok(&expected)
        );
        // Blanks are not OpenMetrics; a missing equal sign or quote is an error in both.
        for (line, openmetrics) in [
            (r#"m{a ="x"} 1"#, true),
            (r#"m{a= "x"} 1"#, true),
            (r#"m{a="x" ,b="y"} 1"#, true),
            (r#"m{a"x"} 1"#, false),
            (r#"m{a=x} 1"#, false),
            (r#"m{a="x} 1"#, false),
            (r#"m{a="x"b="y"} 1"#, true),
        ] {
            assert!(labels(line, openmetrics).is_err(), "{line} accepted");
        }
        // Escapes are unescaped, and a backslash before anything else is kept.
        assert_eq!(
            labels(r#"m{a="1\\2\n3\q"} 1"#, false),
            Ok(vec![("a".to_string(), "1\\2\n3\\q".to_string())])
        );
    }
}
