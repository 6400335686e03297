//! Sample values and timestamps as Prometheus reads them, and the OpenMetrics float
//! formatting Prometheus uses to normalise `le` and `quantile` label values.

/// The NaN bit pattern Prometheus stores for a NaN sample (`value.NormalNaN`), kept
/// distinct from the staleness marker so a target can never send one.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// A sample value or timestamp Prometheus would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Hex floats (`0x1p-2`) and `_` digit separators, which Rust or Go accept
    /// elsewhere but Prometheus' parser does not.
    #[error("unsupported character in float {0:?}")]
    UnsupportedCharacter(String),
    /// Not a float at all.
    #[error("invalid float {0:?}")]
    InvalidFloat(String),
    /// A text-format timestamp that is not all digits.
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    /// A text-format timestamp beyond 64-bit milliseconds.
    #[error("timestamp {0:?} out of range")]
    TimestampOutOfRange(String),
    /// An OpenMetrics timestamp that is NaN or infinite (formatted as Prometheus
    /// prints floats).
    #[error("invalid timestamp {0}")]
    NonFiniteTimestamp(String),
}

/// Parses a sample value like Prometheus: Go float syntax (including `NaN`, `Inf`,
/// `+Inf`, `-Inf`, any case) but no hex floats and no `_` digit separators.
pub fn parse_value(text: &str) -> Result<f64, NumberError> {
    if let Some(v) = parse_exact_decimal(text.as_bytes()) {
        return Ok(v);
    }
    if text.bytes().any(|b| matches!(b, b'p' | b'P' | b'_')) {
        return Err(NumberError::UnsupportedCharacter(text.to_string()));
    }
    parse_go_float(text).ok_or_else(|| NumberError::InvalidFloat(text.to_string()))
}

/// Go's `strconv.ParseFloat` for decimal input: Rust's grammar is the same apart from
/// two cases handled here, a signed NaN (Go rejects it) and a finite literal too
/// large for an f64 (Go reports a range error, Rust rounds to infinity).
pub fn parse_go_float(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    if body.eq_ignore_ascii_case("nan") {
        return (body.len() == text.len()).then(|| f64::from_bits(NORMAL_NAN_BITS));
    }
    let value: f64 = text.parse().ok()?;
    if value.is_infinite()
        && !(body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity"))
    {
        return None;
    }
    Some(value)
}

/// Powers of ten that are exact in an f64.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The common sample values (`123`, `-4.5`, `1.2345e-05`) without the general float
/// parser: with at most 15 significant digits the mantissa is exact, and one
/// multiplication or division by an exact power of ten (|exponent| <= 22) is
/// correctly rounded (Clinger's fast path), so the result equals `str::parse`'s.
/// Anything else returns `None` and takes the general path.
fn parse_exact_decimal(bytes: &[u8]) -> Option<f64> {
    let (negative, mut i) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0u32;
    let mut exponent: i32 = 0;
    let mut seen_digit = false;
    // Integer part, then (after a '.') the fraction, whose digits lower the exponent.
    for fraction in [false, true] {
        if fraction {
            if bytes.get(i) != Some(&b'.') {
                break;
            }
            i += 1;
        }
        while let Some(&b) = bytes.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            seen_digit = true;
            if mantissa != 0 || b != b'0' {
                digits += 1;
            }
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            if fraction {
                exponent -= 1;
            }
            i += 1;
        }
    }
    if !seen_digit || digits > 15 {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        let exp_negative = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i32 = 0;
        while let Some(&b) = bytes.get(i) {
            if !b.is_ascii_digit() || e > 1000 {
                break;
            }
            e = e * 10 + i32::from(b - b'0');
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent += if exp_negative { -e } else { e };
    }
    if i != bytes.len() {
        return None;
    }
    let m = mantissa as f64;
    let value = if exponent == 0 {
        m
    } else if (1..=22).contains(&exponent) {
        m * EXACT_POWERS_OF_TEN[exponent as usize]
    } else if (-22..0).contains(&exponent) {
        m / EXACT_POWERS_OF_TEN[(-exponent) as usize]
    } else {
        return None;
    };
    Some(if negative { -value } else { value })
}

/// Text format timestamp: integer milliseconds, digits only (Prometheus' lexer takes
/// no sign).
pub fn parse_text_timestamp(text: &str) -> Result<i64, NumberError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::InvalidTimestamp(text.to_string()));
    }
    text.parse::<i64>()
        .map_err(|_| NumberError::TimestampOutOfRange(text.to_string()))
}

/// OpenMetrics timestamp: float seconds, converted to milliseconds as Prometheus does
/// (multiply, then truncate).
pub fn parse_om_timestamp(text: &str) -> Result<i64, NumberError> {
    let seconds = parse_value(text)?;
    if !seconds.is_finite() {
        return Err(NumberError::NonFiniteTimestamp(format_float(seconds)));
    }
    Ok((seconds * 1000.0) as i64)
}

/// Formats like Go's `strconv.FormatFloat(f, 'g', -1, 64)`, then appends `.0` to
/// integral values without exponent, as OpenMetrics writes floats.
pub fn format_openmetrics_float(value: f64) -> String {
    let mut s = format_float(value);
    if value.is_finite() && !s.contains(['e', '.']) {
        s.push_str(".0");
    }
    s
}

/// Go's `'g'` formatting with shortest precision: exponent form when the decimal
/// exponent is below -4 or at least 6, plain digits otherwise.
fn format_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits and decimal exponent, from Rust's `{:e}`.
    let sci = format!("{value:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value("123"), Ok(123.0));
        assert_eq!(parse_value("-1.5e3"), Ok(-1500.0));
        assert_eq!(parse_value("+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_value("-inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_value("NaN").is_ok_and(f64::is_nan));
        assert!(parse_value("nan").is_ok_and(f64::is_nan));
        assert_eq!(parse_value("NaN").map(f64::to_bits), Ok(NORMAL_NAN_BITS));
        assert_eq!(parse_value("Infinity"), Ok(f64::INFINITY));
        for bad in [
            "1_2", "0x1p-3", "0x10", "true", "1z", "", "1\t2", "+nan", "-NaN", "1e400", "infinit",
            ".", "1e", " 1",
        ] {
            assert!(parse_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fast_path_equals_the_general_parser() {
        for text in [
            "0",
            "1",
            "-1",
            "123.456",
            "4.9351e-05",
            "7.424100000000001e-05",
            "1e22",
            "1e23",
            "123456789012345",
            "1234567890123456789",
            "0.1",
            "-0.000001",
            "1.7976931348623157e308",
            "5e-324",
            "+3.25",
            "00012.500",
            "1.",
            ".5",
            "9007199254740993",
        ] {
            let general: f64 = text.parse().expect("valid");
            assert_eq!(parse_value(text).ok(), Some(general), "{text}");
        }
        assert_eq!(parse_exact_decimal(b"1e"), None);
        assert_eq!(parse_exact_decimal(b"."), None);
        assert_eq!(parse_exact_decimal(b"-"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_text_timestamp("123123"), Ok(123123));
        assert!(parse_text_timestamp("1_2").is_err());
        assert!(parse_text_timestamp("-5").is_err());
        assert!(parse_text_timestamp("99999999999999999999").is_err());
        assert_eq!(parse_om_timestamp("1520879607.789"), Ok(1_520_879_607_789));
        assert_eq!(parse_om_timestamp("123.123"), Ok(123_123));
        assert!(parse_om_timestamp("NaN").is_err());
        assert!(parse_om_timestamp("-Inf").is_err());
    }

    #[test]
    fn openmetrics_float_format_matches_go() {
        for (v, s) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.25, "0.25"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f64::INFINITY, "+Inf"),
            (-2.5, "-2.5"),
        ] {
            assert_eq!(format_openmetrics_float(v), s, "{v}");
        }
    }
}
