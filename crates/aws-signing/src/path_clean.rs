//! The URL path cleaning Prometheus applies before signing remote-write requests
//! (Go's `path.Clean`), so we sign and send exactly what AMP verifies.

use crate::SigningError;

/// Returns `url` with its path cleaned like Go's `path.Clean` (see [`clean_path`]),
/// the query kept as is and any `#fragment` dropped (fragments are never sent).
/// [`crate::sign_request`] signs this URL, so it is the one to send. Idempotent.
///
/// Like the rest of signing, this works on the path as written (percent-encoded): an
/// encoded `%2F` or `%2E` is not treated as `/` or `.`, whereas Go cleans the decoded
/// path. Remote-write URLs never contain those.
pub fn clean_url(url: &str) -> Result<String, SigningError> {
    let fail = |reason: &str| SigningError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| fail("no scheme"))?;
    let path_start = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(path_start);
    if authority.is_empty() {
        return Err(fail("no host"));
    }
    let (before_fragment, _fragment) = tail.split_once('#').unwrap_or((tail, ""));
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = format!("{scheme}://{authority}{}", clean_path(path));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// Go's `path.Clean` for an absolute URL path: repeated slashes collapsed, `.`
/// segments removed, `..` resolved (never above the root), no trailing slash. An empty
/// path becomes `/` (Go would return `.`, which is not a URL path).
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go() {
        assert_eq!(clean_path("/test//test"), "/test/test");
        assert_eq!(clean_path("/a/./b/../c/"), "/a/c");
        assert_eq!(clean_path("/../a"), "/a");
        assert_eq!(clean_path(""), "/");
        assert_eq!(
            clean_url("https://h:9/w//api/v1/write?x=1").ok().as_deref(),
            Some("https://h:9/w/api/v1/write?x=1")
        );
        assert!(clean_url("nothing").is_err());
    }
}
