//! Sample values and timestamps as Prometheus reads them, and the OpenMetrics float
//! formatting Prometheus uses to normalise `le` and `quantile` label values.

/// Parses a sample value like Prometheus: Go float syntax (including `NaN`, `Inf`,
/// `+Inf`, `-Inf`, any case) but no hex floats and no `_` digit separators.
pub fn parse_value(text: &str) -> Result<f64, String> {
    if let Some(v) = parse_plain_integer(text.as_bytes()) {
        return Ok(v);
    }
    if text.bytes().any(|b| matches!(b, b'p' | b'P' | b'_')) {
        return Err(format!("unsupported character in float {text:?}"));
    }
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    // Rust accepts the same special spellings as Go, but Go rejects a signed NaN.
    if body.eq_ignore_ascii_case("nan") && body.len() != text.len() {
        return Err(format!("invalid float {text:?}"));
    }
    text.parse::<f64>()
        .map_err(|_| format!("invalid float {text:?}"))
}

/// Up to 15 decimal digits are exactly representable: the common case, done without
/// the general float parser.
fn parse_plain_integer(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() || bytes.len() > 15 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n as f64)
}

/// Text format timestamp: integer milliseconds.
pub fn parse_text_timestamp(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid timestamp {text:?}"));
    }
    text.parse::<i64>()
        .map_err(|_| format!("timestamp {text:?} out of range"))
}

/// OpenMetrics timestamp: float seconds, converted to milliseconds as Prometheus does
/// (multiply, then truncate).
pub fn parse_om_timestamp(text: &str) -> Result<i64, String> {
    let seconds = parse_value(text)?;
    if !seconds.is_finite() {
        return Err(format!("invalid timestamp {}", format_float(seconds)));
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
        for bad in ["1_2", "0x1p-3", "true", "1z", "", "1\t2", "+nan"] {
            assert!(parse_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_text_timestamp("123123"), Ok(123123));
        assert!(parse_text_timestamp("1_2").is_err());
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
