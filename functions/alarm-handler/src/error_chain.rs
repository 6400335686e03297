//! An error and its causes as one line, for the places that keep only text (the
//! Lambda error string, a summary warning).

use std::error::Error;

/// `error: cause: cause's cause`. A cause whose text the message already contains
/// (an error that both shows and chains its source) is not repeated.
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_error::FieldError;

    #[test]
    fn causes_follow_the_error_once() {
        let io = std::io::Error::other("no such file");
        let e = FieldError::new("templates[0]", "cannot read /x").caused_by(io);
        assert_eq!(
            error_chain(&e),
            "templates[0]: cannot read /x: no such file"
        );
        let shown = std::io::Error::other("templates[0]: cannot read /x: no such file");
        assert_eq!(
            error_chain(&shown),
            "templates[0]: cannot read /x: no such file"
        );
    }
}
