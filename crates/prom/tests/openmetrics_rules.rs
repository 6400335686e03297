//! The OpenMetrics 1.0 rules the checker enforces, written from the specification's
//! text one MUST at a time: for each, a valid exposition (no violation) and one that
//! breaks it (that rule named), each read whole and split at every byte, which must
//! give the same result.

// Test code: a failed step panics, which is how a test reports it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use prom::exposition::{Format, OpenMetricsChecker, Parser};

/// The rules broken by `body`, read in two pieces split at `split` (or whole).
fn rules_broken(body: &str, split: Option<usize>) -> Vec<&'static str> {
    let bytes = body.as_bytes();
    let pieces: Vec<&[u8]> = match split {
        Some(at) => vec![&bytes[..at], &bytes[at..]],
        None => vec![bytes],
    };
    let mut parser = Parser::new(Format::OpenMetrics);
    let mut checker = OpenMetricsChecker::new();
    let mut carry: Vec<u8> = Vec::new();
    for piece in pieces {
        carry.extend_from_slice(piece);
        let used = parser
            .feed(&carry, &mut |entry| checker.observe(&entry))
            .unwrap_or_else(|e| panic!("{body:?} does not parse: {e}"));
        carry.drain(..used);
    }
    parser
        .finish(&carry, &mut |entry| checker.observe(&entry))
        .unwrap_or_else(|e| panic!("{body:?} does not parse: {e}"));
    checker.finish();
    assert_eq!(checker.total() as usize, checker.violations().len());
    checker.violations().iter().map(|v| v.rule).collect()
}

/// The rules broken, checked to be the same however the body is split.
fn rules_broken_anywhere(body: &str) -> Vec<&'static str> {
    let whole = rules_broken(body, None);
    for at in 0..=body.len() {
        assert_eq!(
            rules_broken(body, Some(at)),
            whole,
            "{body:?} split at {at}"
        );
    }
    whole
}

/// Expositions that keep every rule.
const VALID: &[&str] = &[
    "# TYPE a counter\n# HELP a Requests.\na_total 1\na_created 1700000000\n# EOF\n",
    "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_count 3\nh_sum 1.5\n# EOF\n",
    "# TYPE h histogram\nh_bucket{path=\"/a\",le=\"1\"} 1\nh_bucket{path=\"/a\",le=\"+Inf\"} 1\nh_count{path=\"/a\"} 1\nh_bucket{path=\"/b\",le=\"1\"} 0\nh_bucket{path=\"/b\",le=\"+Inf\"} 2\nh_count{path=\"/b\"} 2\nh_sum{path=\"/b\"} 4\n# EOF\n",
    "# TYPE g gaugehistogram\ng_gbucket{le=\"1\"} 1\ng_gbucket{le=\"+Inf\"} 2\ng_gcount 2\ng_gsum 1\n# EOF\n",
    "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns{quantile=\"0.99\"} 2\ns_count 2\ns_sum 3\n# EOF\n",
    "# TYPE st stateset\nst{st=\"a\"} 1\nst{st=\"b\"} 0\n# EOF\n",
    "# TYPE i info\ni_info{version=\"1.2\"} 1\n# EOF\n",
    "# TYPE d_seconds gauge\n# UNIT d_seconds seconds\nd_seconds 1\n# EOF\n",
    "# TYPE a counter\na_total 1 # {trace_id=\"abc\"} 1 1700000000\n# EOF\n",
    "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1 # {trace_id=\"abc\"} 0.5\nh_count 1\n# EOF\n",
    "# TYPE g gauge\ng{x=\"1\"} 1\ng{x=\"2\"} 2\n# EOF\n",
    "x 1\ny 2\n# EOF\n",
    "# TYPE g gauge\ng 1 100\ng 2 200\n# EOF\n",
];

/// One exposition per rule, breaking it.
const INVALID: &[(&str, &str)] = &[
    (
        "metadata-after-samples",
        "# TYPE g gauge\ng 1\n# HELP g Too late.\n# EOF\n",
    ),
    (
        "metadata-repeated",
        "# TYPE g gauge\n# TYPE g gauge\ng 1\n# EOF\n",
    ),
    (
        "family-interleaved",
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n# EOF\n",
    ),
    (
        "metric-interleaved",
        "# TYPE g gauge\ng{x=\"1\"} 1\ng{x=\"2\"} 1\ng{x=\"1\"} 2\n# EOF\n",
    ),
    (
        "name-clash",
        "# TYPE a counter\na_total 1\n# TYPE a_total gauge\na_total 2\n# EOF\n",
    ),
    ("sample-name", "# TYPE a counter\na 1\n# EOF\n"),
    ("counter-value", "# TYPE a counter\na_total -1\n# EOF\n"),
    ("counter-value", "# TYPE a counter\na_total NaN\n# EOF\n"),
    (
        "histogram-le",
        "# TYPE h histogram\nh_bucket{x=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n# EOF\n",
    ),
    (
        "histogram-bucket-order",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n# EOF\n",
    ),
    (
        "histogram-bucket-cumulative",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n# EOF\n",
    ),
    (
        "histogram-inf-bucket",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\n# EOF\n",
    ),
    (
        "histogram-count",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_count 2\n# EOF\n",
    ),
    (
        "histogram-sum-count",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_sum 2\n# EOF\n",
    ),
    (
        "histogram-count",
        "# TYPE g gaugehistogram\ng_gbucket{le=\"+Inf\"} 2\ng_gcount 1\n# EOF\n",
    ),
    (
        "summary-quantile",
        "# TYPE s summary\ns{quantile=\"1.5\"} 1\n# EOF\n",
    ),
    (
        "stateset-value",
        "# TYPE st stateset\nst{st=\"a\"} 2\n# EOF\n",
    ),
    (
        "stateset-label",
        "# TYPE st stateset\nst{other=\"a\"} 1\n# EOF\n",
    ),
    ("info-value", "# TYPE i info\ni_info{v=\"1\"} 2\n# EOF\n"),
    (
        "exemplar-placement",
        "# TYPE g gauge\ng 1 # {trace_id=\"abc\"} 1\n# EOF\n",
    ),
    (
        "unit-suffix",
        "# TYPE i_bytes info\n# UNIT i_bytes bytes\ni_bytes_info 1\n# EOF\n",
    ),
];

#[test]
fn every_valid_exposition_keeps_every_rule_however_it_is_split() {
    for body in VALID {
        assert_eq!(rules_broken_anywhere(body), Vec::<&str>::new(), "{body:?}");
    }
}

#[test]
fn every_invalid_exposition_names_its_rule_however_it_is_split() {
    for (rule, body) in INVALID {
        let broken = rules_broken_anywhere(body);
        assert!(broken.contains(rule), "{rule}: {broken:?} for {body:?}");
    }
}

#[test]
fn a_unit_the_name_does_not_end_with_is_refused_by_the_parser_itself() {
    // Prometheus refuses it too, so it never reaches the checker, in either mode.
    let mut parser = Parser::new(Format::OpenMetrics);
    let error = parser
        .finish(
            b"# TYPE d gauge\n# UNIT d seconds\nd 1\n# EOF\n",
            &mut |_| {},
        )
        .expect_err("refused");
    assert!(error.to_string().contains("not a suffix"), "{error}");
}

#[test]
fn an_exemplar_over_128_characters_of_labels_is_named() {
    let at_limit = format!(
        "# TYPE a counter\na_total 1 # {{trace_id=\"{}\"}} 1\n# EOF\n",
        "x".repeat(128 - "trace_id".len())
    );
    assert_eq!(rules_broken_anywhere(&at_limit), Vec::<&str>::new());
    let over = format!(
        "# TYPE a counter\na_total 1 # {{trace_id=\"{}\"}} 1\n# EOF\n",
        "é".repeat(129 - "trace_id".len())
    );
    assert_eq!(rules_broken(&over, None), vec!["exemplar-size"]);
}

#[test]
fn only_the_first_twenty_violations_keep_their_text_but_all_are_counted() {
    let mut body = String::from("# TYPE a counter\n");
    for i in 0..30 {
        body.push_str(&format!("a_total{{i=\"{i}\"}} -1\n"));
    }
    body.push_str("# EOF\n");
    let mut parser = Parser::new(Format::OpenMetrics);
    let mut checker = OpenMetricsChecker::new();
    parser
        .finish(body.as_bytes(), &mut |entry| checker.observe(&entry))
        .expect("parses");
    checker.finish();
    assert_eq!(checker.total(), 30);
    assert_eq!(checker.violations().len(), 20);
    assert!(checker.violations()[0]
        .to_string()
        .starts_with("counter-value: a{i=\"0\"}"));
}
