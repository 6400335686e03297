//! The streaming parser: splits input into lines, keeps the state that spans lines
//! (line number, the current TYPE, whether OpenMetrics' `# EOF` was seen) across
//! chunks, and hands each entry to a sink.

use std::borrow::Cow;

use super::line::{parse_series, LabelPairs};
use super::number::{format_openmetrics_float, parse_go_float};
use super::{Entry, Format, MetricType, ParseError, Sample};

/// Behaviour switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParserOptions {
    /// Drop OpenMetrics `<family>_created` series of counters, histograms and
    /// summaries (Prometheus does this when it ingests created timestamps). Off by
    /// default: Prometheus 2.x scrapes them as ordinary series.
    pub skip_created_series: bool,
}

/// Parser state carried from one chunk of a response body to the next.
#[derive(Debug)]
pub struct Parser {
    format: Format,
    options: ParserOptions,
    /// Lines completed so far.
    line: usize,
    /// The type of the most recent TYPE line; Prometheus uses it to normalise `le`
    /// and `quantile` values.
    current_type: Option<MetricType>,
    eof_seen: bool,
}

impl Parser {
    /// A parser for `format` with the default options.
    pub fn new(format: Format) -> Self {
        Self::with_options(format, ParserOptions::default())
    }

    /// A parser for `format` with `options`.
    pub fn with_options(format: Format, options: ParserOptions) -> Self {
        Self {
            format,
            options,
            line: 0,
            current_type: None,
            eof_seen: false,
        }
    }

    /// Parses every complete line (ending in `\n`) of `chunk`, calling `sink` per
    /// entry, and returns how many bytes were consumed; the caller keeps the rest
    /// and puts it in front of the next chunk.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        sink: &mut dyn FnMut(Entry<'_>),
    ) -> Result<usize, ParseError> {
        let Some(last_newline) = memchr::memrchr(b'\n', chunk) else {
            return Ok(0);
        };
        let complete = &chunk[..=last_newline];
        let mut labels: LabelPairs<'_> = Vec::with_capacity(16);
        let mut start = 0;
        // Validating the whole chunk at once is much cheaper than per line; only a
        // chunk with invalid UTF-8 falls back to per-line checks (to name the line).
        if let Ok(text) = std::str::from_utf8(complete) {
            for end in memchr::memchr_iter(b'\n', complete) {
                let line = text.get(start..end).unwrap_or_default();
                self.parse_line(line.as_bytes(), Some(line), &mut labels, sink)?;
                start = end + 1;
            }
        } else {
            for end in memchr::memchr_iter(b'\n', complete) {
                self.parse_line(&complete[start..end], None, &mut labels, sink)?;
                start = end + 1;
            }
        }
        Ok(complete.len())
    }

    /// Parses the final unterminated piece (may be empty) and checks the end of the
    /// stream (OpenMetrics requires `# EOF`).
    pub fn finish(
        &mut self,
        rest: &[u8],
        sink: &mut dyn FnMut(Entry<'_>),
    ) -> Result<(), ParseError> {
        let consumed = self.feed(rest, sink)?;
        let tail = rest.get(consumed..).unwrap_or_default();
        if !tail.is_empty() {
            let mut labels: LabelPairs<'_> = Vec::new();
            self.parse_line(tail, None, &mut labels, sink)?;
        }
        if self.format == Format::OpenMetrics && !self.eof_seen {
            return Err(ParseError {
                line: self.line,
                message: "data does not end with # EOF".into(),
            });
        }
        Ok(())
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            message: message.into(),
        }
    }

    /// One line; `checked` is the same line when it is already known to be UTF-8.
    fn parse_line<'a>(
        &mut self,
        raw: &'a [u8],
        checked: Option<&'a str>,
        labels: &mut LabelPairs<'a>,
        sink: &mut dyn FnMut(Entry<'_>),
    ) -> Result<(), ParseError> {
        self.line += 1;
        let openmetrics = self.format == Format::OpenMetrics;
        if self.eof_seen {
            return Err(self.error("unexpected data after # EOF"));
        }
        if raw.first() == Some(&b'#') {
            return if openmetrics {
                self.om_comment(raw, sink)
            } else {
                self.text_comment(raw, sink)
            };
        }
        if !openmetrics && matches!(raw.first(), Some(b' ' | b'\t')) {
            // The text format skips blanks before any token: a blank line is
            // ignored and an indented comment is still a comment.
            match raw.iter().position(|&b| b != b' ' && b != b'\t') {
                None => return Ok(()),
                Some(i) if raw[i] == b'#' => return self.text_comment(&raw[i..], sink),
                Some(_) => {}
            }
        }
        let line = match checked {
            Some(line) => line,
            None => std::str::from_utf8(raw)
                .map_err(|e| self.error(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?,
        };
        if openmetrics {
            if line.is_empty() {
                return Err(self.error("empty line (not allowed in OpenMetrics)"));
            }
        } else if line.is_empty() {
            return Ok(());
        }
        let series = parse_series(line, openmetrics, labels)
            .map_err(|message| self.error(format!("{message} in {}", excerpt(line))))?;
        if openmetrics && self.options.skip_created_series && self.is_created_series(&series.name) {
            return Ok(());
        }
        self.normalise(labels);
        sink(Entry::Series(Sample {
            name: series.name,
            labels,
            value: series.value,
            timestamp_ms: series.timestamp_ms,
            exemplar_label_chars: series.exemplar_label_chars,
        }));
        Ok(())
    }

    fn is_created_series(&self, name: &str) -> bool {
        name.ends_with("_created")
            && matches!(
                self.current_type,
                Some(MetricType::Counter | MetricType::Histogram | MetricType::Summary)
            )
    }

    /// `le` of histograms and `quantile` of summaries are rewritten to OpenMetrics'
    /// float formatting (`1` becomes `1.0`), as Prometheus does.
    fn normalise(&self, labels: &mut LabelPairs<'_>) {
        let target = match self.current_type {
            Some(MetricType::Histogram) => "le",
            Some(MetricType::Summary) => "quantile",
            _ => return,
        };
        for (name, value) in labels.iter_mut() {
            if name == target && !looks_canonical(value) {
                if let Some(fixed) = common_integer_form(value) {
                    *value = Cow::Borrowed(fixed);
                } else if is_small_integer(value) {
                    // `250` -> `250.0` without the float round trip.
                    *value = Cow::Owned(format!("{value}.0"));
                } else if let Some(v) = parse_go_float(value) {
                    let canonical = format_openmetrics_float(v);
                    if canonical != *value {
                        *value = Cow::Owned(canonical);
                    }
                }
            }
        }
    }

    /// Text format: `#`, blanks, `HELP`/`TYPE` and blanks make a metadata line;
    /// anything else starting with `#` is a comment.
    fn text_comment(
        &mut self,
        raw: &[u8],
        sink: &mut dyn FnMut(Entry<'_>),
    ) -> Result<(), ParseError> {
        let mut i = 1;
        while matches!(raw.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let rest = &raw[i..];
        let keyword = match rest.get(..4) {
            Some(b"HELP") => "HELP",
            Some(b"TYPE") => "TYPE",
            _ => {
                sink(Entry::Comment);
                return Ok(());
            }
        };
        if i == 1 || !matches!(rest.get(4), Some(b' ' | b'\t')) {
            sink(Entry::Comment);
            return Ok(());
        }
        let body = std::str::from_utf8(&rest[4..])
            .map_err(|e| self.error(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        let body = body.trim_start_matches([' ', '\t']);
        let (metric, after) = metadata_name(body).ok_or_else(|| {
            self.error(format!(
                "expected metric name after {keyword} in {}",
                excerpt(body)
            ))
        })?;
        // As in Prometheus, the text is the rest of the line minus its first byte
        // (the separating blank): further blanks belong to the text.
        let text = match after.get(1..) {
            Some(text) => text,
            None if after.is_empty() => "",
            None => {
                return Err(self.error(format!(
                    "expected a blank after the metric name in {}",
                    excerpt(body)
                )))
            }
        };
        if keyword == "HELP" {
            sink(Entry::Help {
                metric,
                text: unescape(text, false),
            });
        } else {
            let metric_type = match text {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "histogram" => MetricType::Histogram,
                "summary" => MetricType::Summary,
                "untyped" => MetricType::Unknown,
                other => return Err(self.error(format!("invalid metric type {other:?}"))),
            };
            self.current_type = Some(metric_type);
            sink(Entry::Type {
                metric,
                metric_type,
            });
        }
        Ok(())
    }

    /// OpenMetrics: exactly `# HELP `, `# TYPE `, `# UNIT ` or `# EOF`.
    fn om_comment(
        &mut self,
        raw: &[u8],
        sink: &mut dyn FnMut(Entry<'_>),
    ) -> Result<(), ParseError> {
        if raw == b"# EOF" {
            self.eof_seen = true;
            return Ok(());
        }
        if raw.starts_with(b"# EOF") {
            return Err(self.error("unexpected data after # EOF"));
        }
        let keyword = match raw.get(..7) {
            Some(b"# HELP ") => "HELP",
            Some(b"# TYPE ") => "TYPE",
            Some(b"# UNIT ") => "UNIT",
            _ => {
                return Err(self.error(format!(
                    "expected a valid start token, got {:?}",
                    String::from_utf8_lossy(&raw[..raw.len().min(10)])
                )))
            }
        };
        let body = std::str::from_utf8(&raw[7..])
            .map_err(|e| self.error(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
        let (metric, after) = metadata_name(body).ok_or_else(|| {
            self.error(format!(
                "expected metric name after {keyword} in {}",
                excerpt(body)
            ))
        })?;
        let text = after
            .strip_prefix(' ')
            .ok_or_else(|| self.error(format!("expected text in {keyword}")))?;
        match keyword {
            "HELP" => sink(Entry::Help {
                metric,
                text: unescape(text, true),
            }),
            "TYPE" => {
                let metric_type = match text {
                    "counter" => MetricType::Counter,
                    "gauge" => MetricType::Gauge,
                    "histogram" => MetricType::Histogram,
                    "gaugehistogram" => MetricType::GaugeHistogram,
                    "summary" => MetricType::Summary,
                    "info" => MetricType::Info,
                    "stateset" => MetricType::StateSet,
                    "unknown" => MetricType::Unknown,
                    other => return Err(self.error(format!("invalid metric type {other:?}"))),
                };
                self.current_type = Some(metric_type);
                sink(Entry::Type {
                    metric,
                    metric_type,
                });
            }
            _ => {
                if !text.is_empty() && !metric.ends_with(&format!("_{text}")) {
                    return Err(
                        self.error(format!("unit {text:?} not a suffix of metric {metric:?}"))
                    );
                }
                sink(Entry::Unit {
                    metric,
                    unit: Cow::Borrowed(text),
                });
            }
        }
        Ok(())
    }
}

/// The metric name at the start of a HELP/TYPE/UNIT body (plain or quoted) and what
/// follows it.
fn metadata_name(body: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = body.as_bytes();
    if bytes.first() == Some(&b'"') {
        let end = quoted_end(body)?;
        let name = unescape(body.get(1..end - 1)?, true);
        return Some((name, body.get(end..)?));
    }
    let first = *bytes.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b':') {
        return None;
    }
    let end = super::line::metric_name_len(bytes);
    Some((Cow::Borrowed(body.get(..end)?), body.get(end..)?))
}

/// Byte index just past the closing quote of a quoted string starting at 0.
fn quoted_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Undoes the exposition escapes: `\\` and `\n` always, `\"` when `quote` is set
/// (quoted names, and OpenMetrics HELP); any other backslash stays as written.
fn unescape(text: &str, quote: bool) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

fn excerpt(line: &str) -> String {
    let end = line
        .char_indices()
        .nth(60)
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    if end < line.len() {
        format!("{:?}...", &line[..end])
    } else {
        format!("{line:?}")
    }
}

/// Parses a whole body at once: `feed` then `finish`.
pub fn parse_all(
    input: &[u8],
    format: Format,
    sink: &mut dyn FnMut(Entry<'_>),
) -> Result<(), ParseError> {
    let mut parser = Parser::new(format);
    let consumed = parser.feed(input, sink)?;
    parser.finish(input.get(consumed..).unwrap_or_default(), sink)
}

/// Whether `value` is certainly already in OpenMetrics float form (`+Inf`, or
/// `[-]digits.digits` as Go's shortest `'g'` formatting writes it), so the common
/// bucket bounds skip the parse-and-format round trip. At most 15 significant digits
/// without trailing zeros is always the shortest representation of its float; longer
/// spellings (`0.10000000000000001`) take the general path.
fn looks_canonical(value: &str) -> bool {
    if matches!(value, "+Inf" | "-Inf" | "NaN") {
        return true;
    }
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let Some((int, frac)) = unsigned.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let significant = if int == "0" {
        frac.trim_start_matches('0').len()
    } else {
        int.len() + frac.len()
    };
    digits(int)
        && digits(frac)
        && int.len() <= 6
        && significant <= 15
        && (int == "0" || !int.starts_with('0'))
        && (frac == "0" || !frac.ends_with('0'))
        && !(int == "0" && frac.starts_with("0000"))
}

/// `0`, `7`, `250000`: digits without a leading zero, below 10^6 (from there Go's
/// formatting switches to an exponent), whose OpenMetrics form is the same digits
/// followed by `.0`.
fn is_small_integer(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 6
        && b.iter().all(u8::is_ascii_digit)
        && (b.len() == 1 || b[0] != b'0')
}

/// The OpenMetrics form of the most common integer bounds and quantiles, without
/// allocating.
fn common_integer_form(value: &str) -> Option<&'static str> {
    Some(match value {
        "0" => "0.0",
        "1" => "1.0",
        "2" => "2.0",
        "3" => "3.0",
        "4" => "4.0",
        "5" => "5.0",
        "10" => "10.0",
        "20" => "20.0",
        "25" => "25.0",
        "30" => "30.0",
        "50" => "50.0",
        "60" => "60.0",
        "100" => "100.0",
        _ => return None,
    })
}
