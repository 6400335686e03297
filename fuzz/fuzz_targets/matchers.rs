//! Alertmanager label matchers: the UTF-8 parser, the classic parser and the default
//! that falls back between them, on lists (`{a="b",c=~"d"}`) and single matchers.
//! A refusal has a message; a matcher list that parses renders (`{a="b"}`, as
//! Alertmanager prints routes and silences) to text the UTF-8 parser reads back as
//! the same list (but for an empty name, which Alertmanager renders unreadably too);
//! matching any label value never fails.
//!
//! Input: the text; its first line is also matched against the parsed matchers as a
//! label value.
#![no_main]

use alert_routing::{classic_parser, parse_matcher, parse_matchers, render_matchers, utf8_parser};
use fuzz_support::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let value = text.lines().next().unwrap_or_default();
    let results = [
        parse_matchers(&text),
        utf8_parser::parse_matchers(&text),
        classic_parser::parse_matchers(&text),
    ];
    for result in &results {
        match result {
            Ok(matchers) => {
                for m in matchers {
                    let _ = m.matches(value);
                }
                // An empty name (`{""="x"}`) renders as `{="x"}`, which no parser
                // reads, in Alertmanager too; it is left out of the round trip.
                if matchers.iter().any(|m| m.name.is_empty()) {
                    continue;
                }
                let rendered = render_matchers(matchers);
                let again = utf8_parser::parse_matchers(&rendered)
                    .unwrap_or_else(|e| panic!("{rendered:?} (from {text:?}) does not parse: {e}"));
                assert_eq!(&again, matchers, "{rendered:?} from {text:?}");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    for result in [
        parse_matcher(&text),
        utf8_parser::parse_matcher(&text),
        classic_parser::parse_matcher(&text),
    ] {
        match result {
            Ok(m) if m.name.is_empty() => {
                let _ = m.matches(value);
            }
            Ok(m) => {
                let _ = m.matches(value);
                let rendered = m.to_string();
                let again = utf8_parser::parse_matcher(&rendered)
                    .unwrap_or_else(|e| panic!("{rendered:?} (from {text:?}) does not parse: {e}"));
                assert_eq!(again, m, "{rendered:?} from {text:?}");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
