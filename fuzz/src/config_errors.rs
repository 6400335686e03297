//! The property every config target checks on a refusal: the error says where. A
//! YAML error carries a line inside the text (when the parser knows one); a field
//! error names a well-formed path, or is one of the few refusals of the config as a
//! whole that the target lists.

use config_error::{FieldError, YamlError};

/// A YAML refusal of `text`: non-empty message, and a 1-based line and column that
/// exist in the text when given.
pub fn assert_yaml_error_placed(error: &YamlError, text: &str) {
    assert!(!error.to_string().is_empty(), "empty YAML error message");
    if let Some((line, column)) = error.location {
        // YAML ends a line at \n, \r\n, a lone \r, NEL, U+2028 or U+2029; counting
        // each character is an upper bound.
        let breaks = text
            .chars()
            .filter(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
            .count();
        assert!(
            line >= 1 && line <= breaks + 2,
            "{error}: line {line} outside a text of {breaks} line breaks"
        );
        assert!(column >= 1, "{error}: column {column}");
    }
}

/// A field refusal: a reason, and a path starting with a field name unless the reason is one of
/// `whole_config` (refusals of the config as a whole, such as "no jobs").
pub fn assert_field_error_placed(error: &FieldError, whole_config: &[&str]) {
    assert!(
        !error.reason.is_empty(),
        "field error without a reason: {error:?}"
    );
    if error.at.is_empty() {
        assert!(
            whole_config.iter().any(|r| error.reason.starts_with(r)),
            "field error naming no field: {error}"
        );
        return;
    }
    assert_well_formed_path(&error.at);
}

/// `a.b[2].c`: paths carry the user's own keys (a label name, a route's matchers), so
/// only their start is checked: a field name of the config's top level.
fn assert_well_formed_path(path: &str) {
    let first = path.split(['.', '[', ' ']).next().unwrap_or_default();
    assert!(
        !first.is_empty()
            && first
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "field path {path:?} does not start with a field name"
    );
}
