//! Prometheus' YAML text for a relabel rule, byte for byte: what Go's `yaml.v2` (a port
//! of libyaml's emitter) writes for `relabel.Config`. Reproduced here because serde_yaml
//! quotes and lays out differently (block-style lists, single quotes for "").
//!
//! Covered: the field set and order Prometheus writes, flow-style `source_labels`
//! wrapped past column 80, Go's choice between plain, single-quoted, double-quoted and
//! literal (`|`) scalars (including quoting strings that would read back as numbers,
//! booleans, nulls, timestamps or base-60 floats), escapes, and folding of long scalars
//! at spaces.

use super::config::RelabelConfig;

/// libyaml's default line width.
const BEST_WIDTH: usize = 80;
/// libyaml's default indentation step.
const BEST_INDENT: usize = 2;

pub(super) fn relabel_config_yaml(config: &RelabelConfig) -> String {
    let mut e = Emitter::default();
    if let Some(sources) = config.source_labels.as_ref().filter(|s| !s.is_empty()) {
        e.key("source_labels");
        e.flow_sequence(sources);
    }
    e.key("separator");
    e.string(config.separator(), BEST_INDENT, false);
    if let Some(regex) = &config.regex {
        e.key("regex");
        e.string(regex, BEST_INDENT, false);
    }
    if config.modulus() != 0 {
        e.key("modulus");
        e.plain(&config.modulus().to_string(), BEST_INDENT, true);
    }
    if !config.target_label().is_empty() {
        e.key("target_label");
        e.string(config.target_label(), BEST_INDENT, false);
    }
    e.key("replacement");
    e.string(config.replacement(), BEST_INDENT, false);
    e.key("action");
    e.string(config.action().as_str(), BEST_INDENT, false);
    e.write_indent(0);
    e.out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// The part of libyaml's emitter state that decides spacing and line breaks.
struct Emitter {
    out: String,
    column: usize,
    /// The last thing written was whitespace (no separating space needed).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
}

impl Default for Emitter {
    fn default() -> Self {
        Emitter {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
        }
    }
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, s: &str, need_whitespace: bool, is_whitespace: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        s.chars().for_each(|c| self.put(c));
        self.whitespace = is_whitespace;
        self.indention = false;
    }

    /// A top-level mapping key (always a plain identifier here) and its `:`.
    fn key(&mut self, key: &str) {
        self.write_indent(0);
        key.chars().for_each(|c| self.put(c));
        self.whitespace = false;
        self.indention = false;
        self.write_indicator(":", false, false);
    }

    /// `[a, b, ...]`, breaking the line before an item once past the width.
    fn flow_sequence(&mut self, items: &[String]) {
        const SEQUENCE_INDENT: usize = BEST_INDENT;
        self.write_indicator("[", true, true);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false);
            }
            if self.column > BEST_WIDTH {
                self.write_indent(SEQUENCE_INDENT);
            }
            self.string(item, SEQUENCE_INDENT + BEST_INDENT, true);
        }
        self.write_indicator("]", false, false);
    }

    /// A string scalar in the style Go would pick.
    fn string(&mut self, s: &str, indent: usize, flow: bool) {
        let chars: Vec<char> = s.chars().collect();
        match select_style(s, &chars, flow) {
            Style::Plain => self.plain(s, indent, true),
            Style::Single => self.single_quoted(&chars, indent),
            Style::Double => self.double_quoted(&chars, indent),
            Style::Literal => self.literal(&chars, indent),
        }
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(' ');
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, chars: &[char], indent: usize) {
        self.write_indicator("'", true, false);
        let mut spaces = false;
        let mut breaks = false;
        let last = chars.len().saturating_sub(1);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < last
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(' ');
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, chars: &[char], indent: usize) {
        self.write_indicator("\"", true, false);
        let mut spaces = false;
        let last = chars.len().saturating_sub(1);
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let short = match c {
                    '\0' => Some('0'),
                    '\u{7}' => Some('a'),
                    '\u{8}' => Some('b'),
                    '\t' => Some('t'),
                    '\n' => Some('n'),
                    '\u{b}' => Some('v'),
                    '\u{c}' => Some('f'),
                    '\r' => Some('r'),
                    '\u{1b}' => Some('e'),
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '\u{85}' => Some('N'),
                    '\u{a0}' => Some('_'),
                    '\u{2028}' => Some('L'),
                    '\u{2029}' => Some('P'),
                    _ => None,
                };
                match short {
                    Some(s) => self.put(s),
                    None => {
                        let cp = u32::from(c);
                        let (letter, width) = match cp {
                            0..=0xFF => ('x', 2),
                            0x100..=0xFFFF => ('u', 4),
                            _ => ('U', 8),
                        };
                        self.put(letter);
                        for digit in format!("{cp:0width$X}").chars() {
                            self.put(digit);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if !spaces && self.column > BEST_WIDTH && i != 0 && i != last {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(' ');
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
            i += 1;
        }
        self.write_indicator("\"", false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, chars: &[char], indent: usize) {
        self.write_indicator("|", true, false);
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false);
        }
        let chomp = match chars {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => Some('+'),
            [.., before, _] if is_break(*before) => Some('+'),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(&chomp.to_string(), false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                    breaks = false;
                }
                self.put(c);
                self.indention = false;
            }
        }
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }
}

/// yaml.v2's style request (literal for multi-line, plain if the text would read back
/// as a string, else double-quoted) refined by libyaml's analysis of the text.
fn select_style(s: &str, chars: &[char], flow: bool) -> Style {
    let a = analyze(chars);
    let mut style = if s.contains('\n') {
        Style::Literal
    } else if !resolves_to_non_string(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    };
    if style == Style::Plain
        && ((flow && !a.flow_plain) || (!flow && !a.block_plain) || (s.is_empty() && flow))
    {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block || flow) {
        style = Style::Double;
    }
    style
}

/// Which styles can represent the text (libyaml's `yaml_emitter_analyze_scalar`).
struct Analysis {
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

fn analyze(chars: &[char]) -> Analysis {
    if chars.is_empty() {
        return Analysis {
            flow_plain: false,
            block_plain: true,
            single_quoted: true,
            block: false,
        };
    }
    let starts_with = |p: &str| chars.iter().copied().take(3).eq(p.chars());
    let mut flow_indicators = starts_with("---") || starts_with("...");
    let mut block_indicators = flow_indicators;
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let last = chars.len() - 1;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).map_or(true, |&n| n == ' ' || n == '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    block_indicators |= followed_by_whitespace;
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        special |= !is_printable(c);
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i == last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i == last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    let mut a = Analysis {
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a = Analysis {
            flow_plain: false,
            block_plain: false,
            single_quoted: false,
            block: false,
        };
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_indicators {
        a.flow_plain = false;
    }
    if block_indicators {
        a.block_plain = false;
    }
    a
}

/// libyaml's printable set (with Unicode output enabled, as yaml.v2 does).
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether yaml.v2's `resolve` would read the plain text as something other than a
/// string (null, bool, int, float, timestamp), which forces quoting.
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: [&str; 39] = [
        "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no",
        "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "~", "null", "Null", "NULL",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "",
    ];
    let Some(&first) = s.as_bytes().first() else {
        return true;
    };
    let hint = match first {
        b'+' | b'-' | b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return false,
    };
    if SPECIAL.contains(&s) {
        return true;
    }
    match hint {
        b'M' => false,
        b'.' => is_dot_float(s),
        _ => {
            if is_timestamp(s) {
                return true;
            }
            let plain = s.replace('_', "");
            go_int(&plain)
                || (is_yaml_style_float(&plain) && finite_float(&plain))
                || plain
                    .strip_prefix("0b")
                    .or_else(|| plain.strip_prefix("-0b"))
                    .is_some_and(|bits| signed_digits_fit(bits, 2))
        }
    }
}

/// Go `strconv.ParseFloat` success for text starting with `.`: `.digits[e±digits]`,
/// finite.
fn is_dot_float(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('.') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && exponent_ok(&rest[digits..]) && finite_float(s)
}

/// `[eE][-+]?[0-9]+` or nothing.
fn exponent_ok(s: &str) -> bool {
    let Some(exp) = s.strip_prefix(['e', 'E']) else {
        return s.is_empty();
    };
    let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    !exp.is_empty() && exp.bytes().all(|b| b.is_ascii_digit())
}

/// yaml.v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let int_digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut rest = &s[int_digits..];
    if let Some(frac) = rest.strip_prefix('.') {
        let frac_digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if int_digits == 0 && frac_digits == 0 {
            return false;
        }
        rest = &frac[frac_digits..];
    } else if int_digits == 0 {
        return false;
    }
    exponent_ok(rest)
}

/// Go's `ParseFloat` fails on overflow to infinity.
fn finite_float(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Go `strconv.ParseInt(s, 0, 64)` or `ParseUint(s, 0, 64)` success.
fn go_int(s: &str) -> bool {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => (0, s),
    };
    let (radix, digits) = match body.as_bytes() {
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'x') => (16, &body[2..]),
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'o') => (8, &body[2..]),
        [b'0', p, _, ..] if p.eq_ignore_ascii_case(&b'b') => (2, &body[2..]),
        [b'0', ..] => (8, &body[1..]),
        [] => return false,
        _ => (10, body),
    };
    if body != "0" && digits.is_empty() {
        return false;
    }
    let Some(magnitude) = digits_value(digits, radix) else {
        return false;
    };
    match sign {
        0 => magnitude <= u128::from(u64::MAX),
        1 => magnitude <= i64::MAX as u128,
        _ => magnitude <= (i64::MAX as u128) + 1,
    }
}

/// `[+-]?digits` in `radix` fitting an i64 (Go `ParseInt(s, radix, 64)`).
fn signed_digits_fit(s: &str, radix: u32) -> bool {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    !digits.is_empty()
        && digits_value(digits, radix).is_some_and(|v| v <= i64::MAX as u128 + u128::from(negative))
}

fn digits_value(digits: &str, radix: u32) -> Option<u128> {
    digits.chars().try_fold(0u128, |acc, c| {
        let d = c.to_digit(radix)?;
        acc.checked_mul(u128::from(radix))?.checked_add(u128::from(d))
    })
}

/// yaml.v2's timestamp formats: `YYYY-M-D`, `YYYY-M-D h:m:s[.frac]`,
/// `YYYY-M-D[Tt]h:m:s[.frac](Z|±hh:mm)`, with Go's range checks.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: u32 = s[..4].parse().unwrap_or(0);
    let mut i = 5;
    let Some(month) = short_number(b, &mut i) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    let Some(day) = short_number(b, &mut i) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days {
        return false;
    }
    let zoned = match b.get(i) {
        None => return true,
        Some(b'T' | b't') => true,
        Some(b' ') => false,
        _ => return false,
    };
    i += 1;
    for (max, sep) in [(23, Some(b':')), (59, Some(b':')), (59, None)] {
        match short_number(b, &mut i) {
            Some(v) if v <= max => {}
            _ => return false,
        }
        if let Some(sep) = sep {
            if b.get(i) != Some(&sep) {
                return false;
            }
            i += 1;
        }
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if !zoned {
        return i == b.len();
    }
    match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 24
                && (m1 - b'0') * 10 + (m2 - b'0') <= 60
        }
        _ => false,
    }
}

/// One or two digits (Go's non-padded layout fields).
fn short_number(b: &[u8], i: &mut usize) -> Option<u32> {
    let first = b.get(*i).filter(|c| c.is_ascii_digit())?;
    let mut v = u32::from(first - b'0');
    *i += 1;
    if let Some(second) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        v = v * 10 + u32::from(second - b'0');
        *i += 1;
    }
    Some(v)
}

/// yaml.v2's `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`, which it quotes.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) || !s.contains(':') {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        match (b.get(i), b.get(i + 1)) {
            (Some(tens), Some(units)) if tens.is_ascii_digit() && units.is_ascii_digit() => {
                if *tens > b'5' {
                    return false;
                }
                i += 2;
            }
            (Some(units), _) if units.is_ascii_digit() => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &str) -> String {
        let mut e = Emitter::default();
        e.key("regex");
        e.string(s, BEST_INDENT, false);
        e.write_indent(0);
        e.out
    }

    #[test]
    fn quoting_follows_go_yaml_v2() {
        assert_eq!(value("(.*)"), "regex: (.*)\n");
        assert_eq!(value(""), "regex: \"\"\n");
        assert_eq!(value("$1"), "regex: $1\n");
        assert_eq!(value(";"), "regex: ;\n");
        assert_eq!(value("[^;]+"), "regex: '[^;]+'\n");
        assert_eq!(value("*.x"), "regex: '*.x'\n");
        assert_eq!(value("it's [x]"), "regex: it's [x]\n");
        assert_eq!(value("[it's]"), "regex: '[it''s]'\n");
        assert_eq!(value("a: b"), "regex: 'a: b'\n");
        assert_eq!(value("a:b"), "regex: a:b\n");
        assert_eq!(value("a #b"), "regex: 'a #b'\n");
        assert_eq!(value("- a"), "regex: '- a'\n");
        assert_eq!(value("-a"), "regex: -a\n");
        assert_eq!(value(" a"), "regex: ' a'\n");
        assert_eq!(value("true"), "regex: \"true\"\n");
        assert_eq!(value("y"), "regex: \"y\"\n");
        assert_eq!(value("~"), "regex: \"~\"\n");
        assert_eq!(value("123"), "regex: \"123\"\n");
        assert_eq!(value("0x1F"), "regex: \"0x1F\"\n");
        assert_eq!(value("09"), "regex: \"09\"\n");
        assert_eq!(value("1_000"), "regex: \"1_000\"\n");
        assert_eq!(value("1.5e3"), "regex: \"1.5e3\"\n");
        assert_eq!(value(".5"), "regex: \".5\"\n");
        assert_eq!(value("1e999"), "regex: 1e999\n");
        assert_eq!(value("1:20"), "regex: \"1:20\"\n");
        assert_eq!(value("2021-02-03"), "regex: \"2021-02-03\"\n");
        assert_eq!(value("2021-02-30"), "regex: 2021-02-30\n");
        assert_eq!(value("2001-12-14t21:59:43.10-05:00"), "regex: \"2001-12-14t21:59:43.10-05:00\"\n");
        assert_eq!(value("a\tb"), "regex: \"a\\tb\"\n");
        assert_eq!(value("a\"b\\"), "regex: a\"b\\\n");
        assert_eq!(value("\"a"), "regex: '\"a'\n");
        assert_eq!(value("😀"), "regex: \"\\U0001F600\"\n");
        assert_eq!(value("é"), "regex: é\n");
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        assert_eq!(value("a\nb"), "regex: |-\n  a\n  b\n");
        assert_eq!(value("a\nb\n"), "regex: |\n  a\n  b\n");
        assert_eq!(value(" a\nb"), "regex: |2-\n   a\n  b\n");
        assert_eq!(value("a \nb"), "regex: \"a \\nb\"\n");
    }

    #[test]
    fn long_scalars_fold_at_spaces_past_column_80() {
        let words = "word ".repeat(20);
        let long = words.trim_end();
        let out = value(long);
        assert!(out.starts_with("regex: word"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[1].starts_with("  word"), "{out}");
        assert_eq!(lines[0].len(), 84, "{out}");
    }
}
