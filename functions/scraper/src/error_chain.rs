//! Error text with its causes, because HTTP and AWS errors hide the useful part
//! (connection refused, DNS, TLS) in their sources.

/// `error: cause: cause ...`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
