//! The exposition parser, both formats, fed the body whole and in pieces cut at
//! fuzzer-chosen points the way the scraper feeds a streamed response (the unconsumed
//! tail carried in front of the next piece). Both reads must give the same entries,
//! the same result (same error on the same line) and the same OpenMetrics rule
//! violations.
//!
//! Input: 1 flag byte (bit 0 OpenMetrics, bit 1 skip `_created` series), 8
//! little-endian u16 cut points (taken modulo the body length), then the body.
#![no_main]

use fuzz_support::{bit, flags_and_rest};
use libfuzzer_sys::fuzz_target;
use prom::exposition::{Format, OpenMetricsChecker, ParseError, Parser, ParserOptions};

const CUTS: usize = 8;

/// What one read of the body produced, comparable across reads.
#[derive(Debug, PartialEq)]
struct Outcome {
    entries: Vec<String>,
    result: Result<(), ParseError>,
    violations: Vec<String>,
    violations_total: u64,
}

fn read(format: Format, options: ParserOptions, pieces: &[&[u8]]) -> Outcome {
    let mut parser = Parser::with_options(format, options);
    let mut checker = OpenMetricsChecker::new();
    let mut entries = Vec::new();
    let mut sink = |entry: prom::exposition::Entry<'_>| {
        checker.observe(&entry);
        // Debug shows a borrowed and an owned Cow alike and NaN as NaN, so the
        // text is a faithful key for comparing entries.
        entries.push(format!("{entry:?}"));
    };
    let mut carry: Vec<u8> = Vec::new();
    let mut result = Ok(());
    for piece in pieces {
        // As the scraper does: parse a piece in place when nothing is carried.
        let fed = if carry.is_empty() {
            parser.feed(piece, &mut sink).map(|used| {
                carry.extend_from_slice(&piece[used..]);
            })
        } else {
            carry.extend_from_slice(piece);
            parser.feed(&carry, &mut sink).map(|used| {
                carry.drain(..used);
            })
        };
        if let Err(e) = fed {
            result = Err(e);
            break;
        }
    }
    if result.is_ok() {
        result = parser.finish(&carry, &mut sink);
    }
    checker.finish();
    Outcome {
        entries,
        result,
        violations: checker
            .violations()
            .iter()
            .map(ToString::to_string)
            .collect(),
        violations_total: checker.total(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, rest)) = flags_and_rest(data) else {
        return;
    };
    if rest.len() < CUTS * 2 {
        return;
    }
    let (cut_bytes, body) = rest.split_at(CUTS * 2);
    let format = if bit(flags, 0) {
        Format::OpenMetrics
    } else {
        Format::PrometheusText
    };
    let options = ParserOptions {
        skip_created_series: bit(flags, 1),
    };
    let mut cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (body.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut pieces = Vec::with_capacity(CUTS + 1);
    let mut start = 0;
    for cut in cuts {
        pieces.push(&body[start..cut]);
        start = cut;
    }
    pieces.push(&body[start..]);

    let whole = read(format, options, &[body]);
    let split = read(format, options, &pieces);
    assert_eq!(whole, split, "cut at {pieces:?}");
    if let Err(e) = &whole.result {
        // Only a missing `# EOF` in an empty body is on line 0.
        assert!(
            e.line >= 1 || body.is_empty(),
            "an error names its line: {e}"
        );
        let lines = body.iter().filter(|b| **b == b'\n').count() + 1;
        assert!(e.line <= lines, "{e} in a body of {lines} lines");
    }
    assert!(whole.violations.len() as u64 <= whole.violations_total);
});
