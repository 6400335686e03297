//! Prometheus' own parser test cases (`testdata/promparse_cases.json`,
//! transcribed from prometheus/prometheus model/textparse tests, Apache-2.0) and its
//! realistic payloads (`prom_textparse_testdata/`), run against our parser.
//!
//! Compared per entry: kind, metric, help/type/unit, metric name, labels (with
//! Prometheus' `le`/`quantile` normalisation), value (NaN as NaN) and timestamp.
//! Not compared, by design: exemplars (parsed and validated, then dropped: the
//! scraper does not send them) and `start_timestamp_ms` (remote write 1.0 has no
//! field for it). Cases with `type_and_unit_labels: true` exercise an experimental
//! Prometheus feature that injects `__type__`/`__unit__` labels, which we do not do.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::PathBuf;

use prom::exposition::{parse_all, Entry, Format, Parser, ParserOptions};
use serde_json::Value;

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn cases() -> Value {
    let path = conformance_dir().join("promparse_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn input_of(case: &Value) -> Vec<u8> {
    let b64 = case["input_b64"].as_str().expect("input_b64");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("input_b64 is not base64: {e}"))
}

fn format_of(case: &Value) -> Format {
    match case["format"].as_str() {
        Some("openmetrics-1.0") => Format::OpenMetrics,
        _ => Format::PrometheusText,
    }
}

/// Our entries rendered like the JSON file's, for comparison.
fn parse_to_json(
    input: &[u8],
    format: Format,
    options: ParserOptions,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut parser = Parser::with_options(format, options);
    let mut sink =
        |entry: Entry<'_>| {
            out.push(match entry {
            Entry::Help { metric, text } => {
                serde_json::json!({"kind": "help", "metric": metric, "help": text})
            }
            Entry::Type { metric, metric_type } => {
                serde_json::json!({"kind": "type", "metric": metric, "type": metric_type.as_str()})
            }
            Entry::Unit { metric, unit } => {
                serde_json::json!({"kind": "unit", "metric": metric, "unit": unit})
            }
            Entry::Comment => serde_json::json!({"kind": "comment"}),
            Entry::Series(s) => {
                let mut labels: BTreeMap<String, String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                labels.insert("__name__".into(), s.name.to_string());
                serde_json::json!({
                    "kind": "series",
                    "name": s.name,
                    "labels": labels,
                    "value": value_json(s.value),
                    "timestamp_ms": s.timestamp_ms,
                })
            }
        });
        };
    let consumed = parser.feed(input, &mut sink).map_err(|e| e.to_string())?;
    parser
        .finish(&input[consumed..], &mut sink)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn value_json(v: f64) -> Value {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        serde_json::json!(v)
    }
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[test]
fn series_tests_match_prometheus_entries() {
    let cases = cases();
    let mut checked = 0;
    for case in cases["series_tests"].as_array().expect("series_tests") {
        let name = case["name"].as_str().unwrap_or("?");
        if case["parser_options"]["type_and_unit_labels"] == true {
            continue;
        }
        let options = ParserOptions {
            skip_created_series: case["parser_options"]["skip_created_series"] == true,
        };
        let got = parse_to_json(&input_of(case), format_of(case), options)
            .unwrap_or_else(|e| panic!("{name}: parse failed: {e}"));
        let want = case["expected_entries"]
            .as_array()
            .expect("expected_entries");
        assert_eq!(got.len(), want.len(), "{name}: entry count\n got: {got:#?}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let at = format!("{name} entry {i}: got {g} want {w}");
            assert_eq!(g["kind"], w["kind"], "{at}");
            match w["kind"].as_str() {
                Some("help") => {
                    assert_eq!(g["metric"], w["metric"], "{at}");
                    assert_eq!(g["help"], w["help"], "{at}");
                }
                Some("type") => {
                    assert_eq!(g["metric"], w["metric"], "{at}");
                    assert_eq!(g["type"], w["type"], "{at}");
                }
                Some("unit") => {
                    assert_eq!(g["metric"], w["metric"], "{at}");
                    assert_eq!(g["unit"], w["unit"], "{at}");
                }
                Some("series") if w["labels"].is_null() => {
                    // Only the series text is asserted upstream for these cases.
                    let series = w["series"].as_str().unwrap_or("");
                    let name = g["name"].as_str().unwrap_or("");
                    assert!(series.starts_with(name), "{at}");
                }
                Some("series") => {
                    assert_eq!(g["labels"], w["labels"], "{at}");
                    assert!(same_number(&g["value"], &w["value"]), "{at}");
                    assert!(same_number(&g["timestamp_ms"], &w["timestamp_ms"]), "{at}");
                }
                _ => {}
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 6, "all plain-parser series tests ran");
}

#[test]
fn error_tests_fail_or_pass_as_prometheus() {
    let cases = cases();
    let mut checked = 0;
    for case in cases["error_tests"].as_array().expect("error_tests") {
        let name = case["name"].as_str().unwrap_or("?");
        let input = input_of(case);
        let result = parse_to_json(&input, format_of(case), ParserOptions::default());
        match case["expect"].as_str() {
            Some("ok") => assert!(
                result.is_ok(),
                "{name} {:?}: {result:?}",
                String::from_utf8_lossy(&input)
            ),
            Some("error") => assert!(
                result.is_err(),
                "{name} {:?} must fail ({}), got {result:?}",
                String::from_utf8_lossy(&input),
                case["expected_error"]
            ),
            // "no-panic" cases: only that parsing returns.
            _ => {}
        }
        checked += 1;
    }
    assert_eq!(checked, 111);
}

#[test]
fn upstream_payloads_parse() {
    let dir = conformance_dir().join("prom_textparse_testdata");
    let mut files = Vec::new();
    for sub in [dir.clone(), dir.join("old")] {
        for entry in std::fs::read_dir(&sub).expect("testdata dir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            if name.ends_with(".txt") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 6, "{files:?}");
    for path in files {
        let data = std::fs::read(&path).expect("read payload");
        let name = path.display().to_string();
        let format = if name.ends_with(".om.txt") {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        };
        let mut series = 0usize;
        parse_all(&data, format, &mut |e| {
            if matches!(e, Entry::Series(_)) {
                series += 1;
            }
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(series > 0, "{name} has series");
    }
}

/// Splitting the input anywhere must give the same entries as one feed: the
/// streaming guarantee the scraper relies on.
#[test]
fn chunking_at_every_boundary_gives_the_same_entries() {
    let input = b"# HELP a Help \\n text.\n# TYPE a histogram\na_bucket{le=\"1\",x=\"y\\\"z\"} 1 1000\na_bucket{le=\"+Inf\"} 2\na_count 2\n{\"quoted.name\",c=\"d\"} NaN\n# comment\nc 3";
    let whole = render(
        &[input.as_slice()],
        Format::PrometheusText,
        ParserOptions::default(),
    )
    .expect("valid");
    assert_eq!(whole.len(), 8, "{whole:#?}");
    assert_same_at_every_split(input, Format::PrometheusText, ParserOptions::default());
    for size in [1, 2, 3, 7] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(
            render(&chunks, Format::PrometheusText, ParserOptions::default()),
            Ok(whole.clone()),
            "chunks of {size}"
        );
    }
}

/// The same guarantee on every upstream series case and every upstream error case
/// (an error must name the same line however the input is split), in both formats.
#[test]
fn chunking_upstream_cases_gives_the_same_result() {
    let cases = cases();
    for group in ["series_tests", "error_tests"] {
        for case in cases[group].as_array().expect(group) {
            let options = ParserOptions {
                skip_created_series: case["parser_options"]["skip_created_series"] == true,
            };
            assert_same_at_every_split(&input_of(case), format_of(case), options);
        }
    }
}

/// Invalid UTF-8 in a text-format comment is fine (Prometheus never decodes
/// comments) and does not disturb the lines around it; in a label value it is an
/// error naming the line.
#[test]
fn invalid_utf8_only_matters_where_text_is_used() {
    let input = b"a 1\n# comment \xff\xfe\nb{x=\"\xc3\xa9\"} 2\n";
    let got = render(
        &[input.as_slice()],
        Format::PrometheusText,
        ParserOptions::default(),
    )
    .expect("valid");
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got[2].contains("\"\u{e9}\"") || got[2].contains("\"é\""),
        "{got:#?}"
    );
    assert_same_at_every_split(input, Format::PrometheusText, ParserOptions::default());
    let bad = b"a 1\n# ok\nb{x=\"\xff\"} 2\nc 3\n";
    let err = parse_all(bad, Format::PrometheusText, &mut |_| {}).expect_err("invalid UTF-8");
    assert_eq!(err.line, 3, "{err}");
    let bad_help = b"# HELP a \xff\n";
    assert!(parse_all(bad_help, Format::PrometheusText, &mut |_| {}).is_err());
}

fn assert_same_at_every_split(input: &[u8], format: Format, options: ParserOptions) {
    let whole = render(&[input], format, options);
    for split in 0..=input.len() {
        let (a, b) = input.split_at(split);
        assert_eq!(
            render(&[a, b], format, options),
            whole,
            "split at {split} of {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(render(&bytes, format, options), whole, "byte by byte");
}

/// Entries (as Debug text) from feeding `chunks` one after another the way the
/// scraper does, or the line of the error.
fn render(chunks: &[&[u8]], format: Format, options: ParserOptions) -> Result<Vec<String>, usize> {
    let mut parser = Parser::with_options(format, options);
    let mut out = Vec::new();
    let mut carry: Vec<u8> = Vec::new();
    let mut sink = |e: Entry<'_>| out.push(format!("{e:?}"));
    for chunk in chunks {
        carry.extend_from_slice(chunk);
        let used = parser.feed(&carry, &mut sink).map_err(|e| e.line)?;
        carry.drain(..used);
    }
    parser.finish(&carry, &mut sink).map_err(|e| e.line)?;
    Ok(out)
}

#[test]
fn errors_name_the_line() {
    let input = b"ok 1\nok 2\nbad{x=\"1\" 3\n";
    let err = parse_all(input, Format::PrometheusText, &mut |_| {}).expect_err("malformed");
    assert_eq!(err.line, 3, "{err}");
    assert!(err.to_string().starts_with("line 3:"), "{err}");
}

/// Arbitrary bytes never panic: a small deterministic fuzz loop over mutations of a
/// valid exposition and random garbage, in both formats.
#[test]
fn random_and_truncated_input_never_panics() {
    let seed_input =
        std::fs::read(conformance_dir().join("prom_textparse_testdata/alltypes.5mfs.om.txt"))
            .expect("payload");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut data = seed_input.clone();
        let len = data.len();
        for _ in 0..(1 + next() % 8) {
            let at = (next() as usize) % len;
            data[at] = (next() % 256) as u8;
        }
        let cut = (next() as usize) % (len + 1);
        data.truncate(cut);
        if round % 10 == 0 {
            data = (0..(next() % 200)).map(|_| (next() % 256) as u8).collect();
        }
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let _ = parse_all(&data, format, &mut |_| {});
        }
    }
}

/// Details of Prometheus' lexers that the upstream cases do not pin down, and the
/// few places where we deliberately refuse what Prometheus would misread.
#[test]
fn lexer_details_match_prometheus() {
    let text = |input: &str| {
        parse_to_json(
            input.as_bytes(),
            Format::PrometheusText,
            ParserOptions::default(),
        )
    };
    let om = |input: &str| {
        parse_to_json(
            input.as_bytes(),
            Format::OpenMetrics,
            ParserOptions::default(),
        )
    };
    let kinds = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or("").to_string())
            .collect()
    };

    // Text format: blanks before a comment, a keyword without a following blank is
    // a comment, the help text keeps all but the first separating byte.
    let got = text("  # HELP a first\n\t# TYPE a gauge\n# HELP\n# TYPE\n# HELP b  two\na 1\n")
        .expect("valid");
    assert_eq!(
        kinds(&got),
        ["help", "type", "comment", "comment", "help", "series"]
    );
    assert_eq!(got[0]["help"], "first");
    assert_eq!(got[4]["help"], " two");
    // TYPE must be exactly one of the type names.
    assert!(text("# TYPE a counter \n").is_err());
    assert!(text("# TYPE a  counter\n").is_err());
    assert!(text("# TYPE a\n").is_err());
    assert!(text("# TYPE a untyped\na 1\n").is_ok());
    // The value may follow a label set directly; a bare name needs a blank.
    let got = text("a{b=\"c\"}1\n").expect("valid");
    assert_eq!(got[0]["value"], 1.0);
    assert!(text("a-1 5\n").is_err());
    // Timestamps are unsigned integers; blanks around them are free.
    assert_eq!(text("a 1 \t 5 \t\n").expect("valid")[0]["timestamp_ms"], 5);
    assert!(text("a 1 -5\n").is_err());
    assert!(text("a 1 5.5\n").is_err());
    // A quoted metric name must be followed by a comma or the closing brace.
    assert!(text("{\"a\" b=\"c\"} 1\n").is_err());
    assert!(text("{\"a\" , b=\"c\"} 1\n").is_ok());
    // Values: Go float syntax, except out of range.
    assert!(text("a 1e400\n").is_err());
    assert!(text("a -nan\n").is_err());
    assert_eq!(text("a +inf\n").expect("valid")[0]["value"], "+Inf");

    // OpenMetrics: no blanks inside label sets, one space between fields.
    assert!(om("a{b=\"c\"} 1\n# EOF\n").is_ok());
    assert!(om("a{ b=\"c\"} 1\n# EOF\n").is_err());
    assert!(om("a{b= \"c\"} 1\n# EOF\n").is_err());
    assert!(om("a{b=\"c\" } 1\n# EOF\n").is_err());
    assert!(om("a{b=\"c\"}1\n# EOF\n").is_err());
    assert!(om("a  1\n# EOF\n").is_err());
    assert!(om("a 1 \n# EOF\n").is_err());
    // Exemplars are validated, then dropped.
    let got = om("a_total 1 2.5 # {id=\"x\"} 3 4.5\n# EOF\n").expect("valid");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["timestamp_ms"], 2500);
    assert!(om("a_total 1 # {id=\"x\"}\n# EOF\n").is_err());
    assert!(om("a_total 1 # {id=\"x\"} 3 4 5\n# EOF\n").is_err());
    assert!(om("a_total 1 # {id=\"x\"} 3 NaN\n# EOF\n").is_err());
    assert!(om("a_total 1 # {\"x\"} 3\n# EOF\n").is_err());
    // Nothing may follow `# EOF`, not even an empty line; `# EOF` may lack its newline.
    assert!(om("a 1\n# EOF").is_ok());
    assert!(om("a 1\n# EOF\n\n").is_err());
    assert!(om("# EOF\n# EOF\n").is_err());
    assert!(om("a 1\n").is_err());
    // Comments other than HELP/TYPE/UNIT/EOF do not exist in OpenMetrics.
    assert!(om("# a comment\n# EOF\n").is_err());
    assert!(om("# TYPE a untyped\n# EOF\n").is_err());
    assert!(om("# UNIT a_seconds seconds\n# EOF\n").is_ok());
}

/// Prometheus rewrites `le` of histograms and `quantile` of summaries to
/// OpenMetrics float form (the type comes from the latest TYPE line); other labels
/// and other types are left as written.
#[test]
fn le_and_quantile_values_are_normalised_like_prometheus() {
    let le = |value: &str| -> String {
        let input = format!("# TYPE h histogram\nh_bucket{{le=\"{value}\"}} 1\n");
        let got = parse_to_json(
            input.as_bytes(),
            Format::PrometheusText,
            ParserOptions::default(),
        )
        .expect("valid");
        got[1]["labels"]["le"].as_str().unwrap_or("").to_string()
    };
    for (written, normalised) in [
        ("1", "1.0"),
        ("0", "0.0"),
        ("250", "250.0"),
        ("999999", "999999.0"),
        ("1000000", "1e+06"),
        ("1e+09", "1e+09"),
        ("1e9", "1e+09"),
        ("0.25", "0.25"),
        ("0.250", "0.25"),
        ("0.0001", "0.0001"),
        ("0.00001", "1e-05"),
        ("0.10000000000000001", "0.1"),
        ("8.999999999999998", "8.999999999999998"),
        ("-0.00099", "-0.00099"),
        ("+Inf", "+Inf"),
        ("inf", "+Inf"),
        ("-Inf", "-Inf"),
        ("nan", "NaN"),
        ("1.5e-7", "1.5e-07"),
        ("123456.5", "123456.5"),
        ("1234567.5", "1.2345675e+06"),
        // Not a Go float: left alone.
        ("foo", "foo"),
        ("1e400", "1e400"),
        ("1_0", "1_0"),
    ] {
        assert_eq!(le(written), normalised, "le={written:?}");
    }

    let input = "# TYPE s summary\ns{quantile=\"1\",le=\"1\"} 1\n# TYPE g gauge\ng{quantile=\"1\",le=\"1\"} 1\n";
    let got = parse_to_json(
        input.as_bytes(),
        Format::PrometheusText,
        ParserOptions::default(),
    )
    .expect("valid");
    assert_eq!(got[1]["labels"]["quantile"], "1.0");
    assert_eq!(got[1]["labels"]["le"], "1");
    assert_eq!(got[3]["labels"]["quantile"], "1");
    assert_eq!(got[3]["labels"]["le"], "1");
}
