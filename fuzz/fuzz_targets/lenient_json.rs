//! The lenient JSON reader the alert decoders fall back to on broken JSON. It never
//! fails; on a valid JSON object or array (within its nesting limit) it reads exactly
//! what serde_json reads and reports no repair; an object is marked incomplete only
//! when the reader reports the input was cut.
//!
//! Input: the text.
#![no_main]

use alert_model::lenient_json::{parse, INCOMPLETE};
use fuzz_support::text;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The reader's nesting limit (deeper input is read as null).
const MAX_DEPTH: usize = 64;

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn has_incomplete_mark(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(has_incomplete_mark),
        Value::Object(map) => map.contains_key(INCOMPLETE) || map.values().any(has_incomplete_mark),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = text(data);
    let (value, repair) = parse(&text);
    // The mark is a key starting with NUL; input may spell that key itself.
    let may_spell_mark = text.contains('\0') || text.to_ascii_lowercase().contains("\\u0000");
    if has_incomplete_mark(&value) && !may_spell_mark {
        assert!(
            repair.truncated,
            "an object marked incomplete without a cut: {value}"
        );
    }
    if let Ok(strict) = serde_json::from_str::<Value>(&text) {
        // A bare scalar at the end of input may be cut ("12" of "123"), so the reader
        // cannot call it complete; alert bodies are objects.
        let container = strict.is_object() || strict.is_array();
        if container && depth(&strict) <= MAX_DEPTH && !has_incomplete_mark(&strict) {
            assert!(!repair.truncated, "valid JSON reported cut: {text:?}");
            assert_eq!(value, strict, "valid JSON read differently: {text:?}");
        }
    }
});
