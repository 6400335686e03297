//! Label names from free-form keys (Grafana rule tags, CloudWatch dimension names):
//! Alertmanager and Prometheus accept only `[a-zA-Z_][a-zA-Z0-9_]*`, and an alert
//! whose label name breaks that rule is refused by Alertmanager's API and cannot be
//! matched by a route or silence. Such keys are rewritten as Prometheus'
//! `SanitizeFullLabelName` does: every character not allowed where it stands becomes
//! `_` (`tag name` -> `tag_name`, `1st` -> `_st`), and an empty key becomes `_`.

/// `key` as a valid label name (unchanged when it already is one).
pub fn sanitize_label_name(key: &str) -> String {
    if key.is_empty() {
        return "_".to_string();
    }
    key.chars()
        .enumerate()
        .map(|(i, c)| {
            let allowed = c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit());
            if allowed {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_valid_label_names_as_prometheus_rewrites_them() {
        for (key, want) in [
            ("team", "team"),
            ("tag name", "tag_name"),
            ("kubernetes.io/name", "kubernetes_io_name"),
            ("1st", "_st"),
            ("a1", "a1"),
            ("größe", "gr__e"),
            ("", "_"),
            ("__meta", "__meta"),
        ] {
            assert_eq!(sanitize_label_name(key), want, "{key:?}");
        }
    }
}
