//! Error text with its causes, because HTTP and AWS errors hide the useful part
//! (connection refused, DNS, TLS) in their sources, and config errors keep theirs
//! (a regex that does not compile) as a source rather than in their text.

/// `error: cause: cause ...`. A cause whose text the message already ends with is
/// skipped: wrappers that show their inner error (`invalid config: {0}`) would
/// otherwise repeat it.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Shows(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("inner")]
    struct Inner(#[source] std::num::ParseIntError);

    #[test]
    fn causes_follow_once() {
        let Err(cause) = "x".parse::<u32>() else {
            panic!("\"x\" parsed as a number")
        };
        assert_eq!(
            error_chain(&Shows(Inner(cause))),
            "outer: inner: invalid digit found in string"
        );
    }
}
