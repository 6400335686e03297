//! Go's `strings.ToLower` / `strings.ToUpper`, which the `lowercase` / `uppercase`
//! actions use. Go maps each character by Unicode's *simple* case mapping (one
//! character to one character, no context), while Rust's `str::to_lowercase` uses the
//! full mapping (`ß` → `SS`, final sigma, `İ` → `i̇`). Per-character Rust mapping agrees
//! with Go except where the full mapping has several characters; those are listed here.

/// Appends Go's `strings.ToLower(s)` to `out`.
pub(super) fn push_lower(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        return;
    }
    for c in s.chars() {
        let mut mapped = c.to_lowercase();
        match (mapped.next(), mapped.next()) {
            (Some(one), None) => out.push(one),
            // Only U+0130 (İ) lower-cases to two characters; its simple mapping is `i`.
            _ if c == '\u{130}' => out.push('i'),
            _ => out.push(c),
        }
    }
}

/// Appends Go's `strings.ToUpper(s)` to `out`.
pub(super) fn push_upper(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_uppercase())));
        return;
    }
    for c in s.chars() {
        let mut mapped = c.to_uppercase();
        match (mapped.next(), mapped.next()) {
            (Some(one), None) => out.push(one),
            _ => out.push(simple_upper_of_multi(c)),
        }
    }
}

/// The simple upper-case mapping of a character whose full mapping is several
/// characters: the Greek letters with ypogegrammeni map to their title-case forms;
/// everything else (ß, ligatures, letters with combining marks) has none and stays.
fn simple_upper_of_multi(c: char) -> char {
    let shifted = match u32::from(c) {
        cp @ (0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7) => cp + 8,
        0x1FB3 => 0x1FBC,
        0x1FC3 => 0x1FCC,
        0x1FF3 => 0x1FFC,
        _ => return c,
    };
    char::from_u32(shifted).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(s: &str) -> String {
        let mut out = String::new();
        push_lower(s, &mut out);
        out
    }

    fn upper(s: &str) -> String {
        let mut out = String::new();
        push_upper(s, &mut out);
        out
    }

    #[test]
    fn matches_go_simple_case_mapping() {
        assert_eq!(lower("AbC-1"), "abc-1");
        assert_eq!(upper("AbC-1"), "ABC-1");
        assert_eq!(lower("ÄÖÜ"), "äöü");
        assert_eq!(upper("straße"), "STRAßE");
        assert_eq!(lower("İ"), "i");
        assert_eq!(lower("ΟΔΟΣ"), "οδοσ", "no final-sigma rule in Go");
        assert_eq!(upper("ﬁ"), "ﬁ");
        assert_eq!(upper("ᾳ"), "ᾼ");
        assert_eq!(upper("ᾀ"), "ᾈ");
        assert_eq!(upper("ᾈ"), "ᾈ");
        assert_eq!(upper("ǆ"), "Ǆ");
        assert_eq!(lower("ǅ"), "ǆ");
    }
}
