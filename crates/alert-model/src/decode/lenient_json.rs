//! A forgiving JSON reader for bodies that are almost JSON: Alertmanager's AWS
//! "send as JSON" template prints label and annotation values without escaping (a
//! quote or a newline in an annotation breaks strict parsing), and senders cut long
//! bodies at a size limit. Strings may hold raw control characters; a quote ends a
//! string only when what follows it is structural (`,` `:` `}` `]` or the end); at the
//! end of input every open string, list and object is closed, and objects closed
//! that way are marked with [`INCOMPLETE`] so callers can skip half an alert.

use serde_json::{Map, Value};

/// Key added to objects the input ended inside of.
pub const INCOMPLETE: &str = "\u{0}incomplete";

/// What had to be repaired.
#[derive(Debug, Default, Clone, Copy)]
pub struct Repair {
    /// The input ended inside a value.
    pub truncated: bool,
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    repair: Repair,
    depth: usize,
    /// The last scalar or string was ended by the end of input, not by its syntax.
    cut: bool,
}

/// Where a string is: a key ends at a quote before `:`; a value ends at a quote
/// before `}` / `]` / the end, or before `,` and the start of the next member/item.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Key,
    Member,
    Item,
}

const MAX_DEPTH: usize = 64;

/// Reads `text` as leniently as described above; never fails (unreadable parts
/// become `null`).
pub fn parse(text: &str) -> (Value, Repair) {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        repair: Repair::default(),
        depth: 0,
        cut: false,
    };
    let value = reader.value(Place::Item);
    (value, reader.repair)
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn value(&mut self, place: Place) -> Value {
        self.cut = false;
        self.skip_ws();
        if self.depth > MAX_DEPTH {
            self.pos = self.bytes.len();
            return Value::Null;
        }
        match self.bytes.get(self.pos) {
            None => {
                self.repair.truncated = true;
                self.cut = true;
                Value::Null
            }
            Some(b'{') => {
                self.pos += 1;
                self.depth += 1;
                let v = self.object();
                self.depth -= 1;
                // A container is kept (marked incomplete if it was cut).
                self.cut = false;
                v
            }
            Some(b'[') => {
                self.pos += 1;
                self.depth += 1;
                let v = self.array();
                self.depth -= 1;
                self.cut = false;
                v
            }
            Some(b'"') => {
                self.pos += 1;
                Value::String(self.string(place))
            }
            Some(_) => self.scalar(),
        }
    }

    fn object(&mut self) -> Value {
        let mut map = Map::new();
        loop {
            self.skip_ws();
            match self.bytes.get(self.pos) {
                None => {
                    self.repair.truncated = true;
                    map.insert(INCOMPLETE.into(), Value::Bool(true));
                    return Value::Object(map);
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Value::Object(map);
                }
                Some(b',') => self.pos += 1,
                Some(b'"') => {
                    self.pos += 1;
                    let key = self.string(Place::Key);
                    self.skip_ws();
                    if self.bytes.get(self.pos) == Some(&b':') {
                        self.pos += 1;
                    }
                    let value = self.value(Place::Member);
                    let cut = self.cut;
                    let incomplete = self.pos >= self.bytes.len() && !self.closed_value(&value);
                    // A value the input ended inside of may be cut short: leave it out.
                    if !cut {
                        map.insert(key, value);
                    }
                    if incomplete {
                        self.repair.truncated = true;
                        map.insert(INCOMPLETE.into(), Value::Bool(true));
                        return Value::Object(map);
                    }
                }
                Some(_) => {
                    // Garbage between members: skip a byte.
                    self.pos += 1;
                }
            }
        }
    }

    /// Whether a value that ended at the end of input was complete (only nested
    /// containers know; scalars at the very end are suspect).
    fn closed_value(&self, value: &Value) -> bool {
        match value {
            Value::Object(m) => !m.contains_key(INCOMPLETE),
            _ => false,
        }
    }

    fn array(&mut self) -> Value {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.bytes.get(self.pos) {
                None => {
                    self.repair.truncated = true;
                    return Value::Array(items);
                }
                Some(b']') => {
                    self.pos += 1;
                    return Value::Array(items);
                }
                Some(b',') => self.pos += 1,
                Some(_) => {
                    let before = self.pos;
                    let item = self.value(Place::Item);
                    if !self.cut {
                        items.push(item);
                    }
                    if self.pos == before {
                        self.pos += 1;
                    }
                }
            }
        }
    }

    /// After the opening quote. A quote closes the string only if the next
    /// non-blank byte is structural or the input ends.
    /// Whether the byte at `at` (after blanks) starts a `"name":` member.
    fn member_starts_at(&self, at: usize) -> bool {
        let at = self.skip_blanks(at);
        if self.bytes.get(at) != Some(&b'"') {
            return false;
        }
        let mut i = at + 1;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'"' => {
                    let after = self.skip_blanks(i + 1);
                    return matches!(self.bytes.get(after), None | Some(b':'));
                }
                b'\\' => i += 2,
                b'\n' => return false,
                _ => i += 1,
            }
        }
        true
    }

    fn skip_blanks(&self, mut at: usize) -> usize {
        while self
            .bytes
            .get(at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        {
            at += 1;
        }
        at
    }

    /// Whether a quote at `at` closes a string in `place`.
    fn closes(&self, at: usize, place: Place) -> bool {
        let next = self.skip_blanks(at + 1);
        match (place, self.bytes.get(next)) {
            (_, None) => true,
            (Place::Key, Some(b)) => *b == b':',
            (_, Some(b'}' | b']')) => true,
            (Place::Member, Some(b',')) => self.member_starts_at(next + 1),
            (Place::Item, Some(b',')) => {
                let after = self.skip_blanks(next + 1);
                matches!(
                    self.bytes.get(after),
                    None | Some(b'"' | b'{' | b'[' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
                )
            }
            _ => false,
        }
    }

    fn string(&mut self, place: Place) -> String {
        let mut out = String::new();
        let start = self.pos;
        let mut run_start = start;
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\\' => {
                    out.push_str(self.text.get(run_start..self.pos).unwrap_or(""));
                    self.pos += 1;
                    let Some(&e) = self.bytes.get(self.pos) else {
                        break;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let hex = self.text.get(self.pos..self.pos + 4).unwrap_or("");
                            match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                                Some(c) => {
                                    out.push(c);
                                    self.pos += 4;
                                }
                                None => out.push('\u{fffd}'),
                            }
                        }
                        other => {
                            // `\"`, `\\`, `\/` and unknown escapes keep the character.
                            let char_start = self.pos - 1;
                            let c = self.text.get(char_start..).and_then(|s| s.chars().next());
                            match c {
                                Some(c) if other < 0x80 => out.push(c),
                                Some(c) => {
                                    out.push(c);
                                    self.pos = char_start + c.len_utf8();
                                }
                                None => {}
                            }
                        }
                    }
                    run_start = self.pos;
                }
                b'"' => {
                    if self.closes(self.pos, place) {
                        out.push_str(self.text.get(run_start..self.pos).unwrap_or(""));
                        self.pos += 1;
                        return out;
                    }
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        self.repair.truncated = true;
        self.cut = true;
        out.push_str(self.text.get(run_start..).unwrap_or(""));
        out
    }

    fn scalar(&mut self) -> Value {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.pos += 1;
        }
        let word = self.text.get(start..self.pos).unwrap_or("");
        if self.pos >= self.bytes.len() {
            self.repair.truncated = true;
            self.cut = true;
        }
        if self.pos == start {
            self.pos += 1;
        }
        serde_json::from_str(word).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unescaped_quotes_and_newlines_are_kept() {
        let text = "{\"a\": \"say \"hi\" now\", \"b\": \"line1\nline2\", \"n\": 3}";
        let (value, repair) = parse(text);
        assert_eq!(
            value,
            json!({"a": "say \"hi\" now", "b": "line1\nline2", "n": 3})
        );
        assert!(!repair.truncated);
    }

    #[test]
    fn truncation_marks_the_open_objects() {
        let (value, repair) = parse(r#"{"alerts": [{"x": "1"}, {"x": "2", "y": "ab"#);
        assert!(repair.truncated);
        assert_eq!(value["alerts"][0], json!({"x": "1"}));
        assert_eq!(value["alerts"][1][INCOMPLETE], json!(true));
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let text =
            "{\"a\": [1, 2.5, true, null, \"\\u00e9\\\"x\", {\"k\": \"v\u{e9}\"}], \"b\": \"\\";
        for end in 0..=text.len() {
            if text.is_char_boundary(end) {
                let _ = parse(&text[..end]);
            }
        }
    }
}
