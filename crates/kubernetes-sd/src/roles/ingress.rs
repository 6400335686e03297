//! `role: ingress`: one target per rule host and path, addressed by the bare host.
//!
//! Edge cases follow Prometheus' `discovery/kubernetes/ingress.go` (`buildIngress`,
//! `pathsFromIngressPaths`, `matchesHostnamePattern`):
//!
//! - `__address__` and `__meta_kubernetes_ingress_host` are the rule's host, without a
//!   port (empty for a rule without host). An ingress without rules (only a default
//!   backend) gives no targets.
//! - A rule without an `http` block gives one target with path `/`; a rule whose `http`
//!   block has no paths gives none; a path that is empty or absent becomes `/`.
//! - `__meta_kubernetes_ingress_scheme` is `https` only when some `spec.tls[].hosts`
//!   entry matches the rule's host (equal, or a `*.` wildcard standing for exactly one
//!   leading label), `http` otherwise; the docs' "`https` if TLS config is set" is looser.
//! - `__meta_kubernetes_ingress_class_name` is set only when `spec.ingressClassName` is
//!   (the legacy `kubernetes.io/ingress.class` annotation is only an annotation label).

use k8s_openapi::api::networking::v1::{Ingress, IngressRule};

use super::Lookup;
use crate::labels::{self, add_object_meta, NAMESPACE};
use crate::target::{require_namespaced, ObjectError, Target};

/// The ingress's targets. `lookup` is only used for `attach_metadata.namespace`.
pub fn targets(ingress: &Ingress, lookup: &Lookup) -> Result<Vec<Target>, ObjectError> {
    let (namespace, _) = require_namespaced("Ingress", &ingress.metadata)?;
    let spec = ingress.spec.as_ref();
    let mut group = Target::new();
    group.insert(NAMESPACE.to_owned(), namespace.to_owned());
    if let Some(class) = spec.and_then(|s| s.ingress_class_name.as_ref()) {
        group.insert(labels::meta("ingress", "class_name"), class.clone());
    }
    add_object_meta(&mut group, "ingress", &ingress.metadata);
    lookup.add_namespace_labels(&mut group, namespace);

    let tls_hosts: Vec<&str> = spec
        .and_then(|s| s.tls.as_deref())
        .unwrap_or_default()
        .iter()
        .flat_map(|tls| tls.hosts.as_deref().unwrap_or_default())
        .map(String::as_str)
        .collect();
    let mut targets = Vec::new();
    for rule in spec.and_then(|s| s.rules.as_deref()).unwrap_or_default() {
        let host = rule.host.as_deref().unwrap_or_default();
        let https = tls_hosts.iter().any(|pattern| matches_host(pattern, host));
        let scheme = if https { "https" } else { "http" };
        for path in paths(rule) {
            let mut target = group.clone();
            target.insert(labels::ADDRESS.to_owned(), host.to_owned());
            target.insert(labels::meta("ingress", "scheme"), scheme.to_owned());
            target.insert(labels::meta("ingress", "host"), host.to_owned());
            target.insert(labels::meta("ingress", "path"), path.to_owned());
            targets.push(target);
        }
    }
    Ok(targets)
}

/// The rule's paths, `/` standing in for an absent `http` block or an empty path.
fn paths(rule: &IngressRule) -> Vec<&str> {
    let Some(http) = &rule.http else {
        return vec!["/"];
    };
    http.paths
        .iter()
        .map(|p| p.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/"))
        .collect()
}

/// Whether TLS host `pattern` covers `host`: equal, or `*.rest` against `<label>.rest`.
fn matches_host(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.split('.').collect();
    let host_parts: Vec<&str> = host.split('.').collect();
    pattern_parts.first() == Some(&"*")
        && pattern_parts.len() == host_parts.len()
        && pattern_parts
            .iter()
            .zip(&host_parts)
            .skip(1)
            .all(|(p, h)| p == h)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Namespace;
    use serde_json::json;

    use super::*;
    use crate::roles::test_support::{labels, object, with};
    use crate::roles::AttachMetadata;
    use crate::target::Problem;

    /// Prometheus' `makeIngress`: a two-path rule, a rule with an empty `http` block and
    /// a rule with one empty path; `tls` is the TLS hosts, if any.
    fn ingress(namespace: &str, tls: Option<&[&str]>) -> Ingress {
        let mut value = json!({
            "metadata": {
                "name": "testingress", "namespace": namespace,
                "labels": {"test/label": "testvalue"},
                "annotations": {"test/annotation": "testannotationvalue"},
            },
            "spec": {
                "ingressClassName": "testclass",
                "rules": [
                    {"host": "example.com", "http": {"paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {}},
                        {"path": "/foo", "pathType": "Prefix", "backend": {}},
                    ]}},
                    {"host": "nobackend.example.com", "http": {"paths": []}},
                    {"host": "test.example.com", "http": {"paths": [{"pathType": "Prefix", "backend": {}}]}},
                ],
            },
        });
        if let (Some(hosts), Some(spec)) =
            (tls, value.get_mut("spec").and_then(|s| s.as_object_mut()))
        {
            spec.insert("tls".into(), json!([{"hosts": hosts}]));
        }
        object(value)
    }

    fn expected(namespace: &str, scheme1: &str, scheme2: &str) -> Vec<Target> {
        let group = labels(&[
            ("__meta_kubernetes_ingress_name", "testingress"),
            ("__meta_kubernetes_namespace", namespace),
            ("__meta_kubernetes_ingress_label_test_label", "testvalue"),
            ("__meta_kubernetes_ingress_labelpresent_test_label", "true"),
            (
                "__meta_kubernetes_ingress_annotation_test_annotation",
                "testannotationvalue",
            ),
            (
                "__meta_kubernetes_ingress_annotationpresent_test_annotation",
                "true",
            ),
            ("__meta_kubernetes_ingress_class_name", "testclass"),
        ]);
        let target = |scheme: &str, host: &str, path: &str| {
            with(
                &group,
                &[
                    ("__meta_kubernetes_ingress_scheme", scheme),
                    ("__meta_kubernetes_ingress_host", host),
                    ("__meta_kubernetes_ingress_path", path),
                    ("__address__", host),
                ],
            )
        };
        vec![
            target(scheme1, "example.com", "/"),
            target(scheme1, "example.com", "/foo"),
            target(scheme2, "test.example.com", "/"),
        ]
    }

    #[test]
    fn schemes_follow_matching_tls_hosts() {
        let off = Lookup::default();
        assert_eq!(
            targets(&ingress("default", None), &off).unwrap(),
            expected("default", "http", "http")
        );
        let both: &[&str] = &["example.com", "test.example.com"];
        assert_eq!(
            targets(&ingress("default", Some(both)), &off).unwrap(),
            expected("default", "https", "https")
        );
        let mixed: &[&str] = &["example.com"];
        assert_eq!(
            targets(&ingress("default", Some(mixed)), &off).unwrap(),
            expected("default", "https", "http")
        );
        let wildcard: &[&str] = &["*.example.com"];
        assert_eq!(
            targets(&ingress("default", Some(wildcard)), &off).unwrap(),
            expected("default", "http", "https")
        );
        for ns in ["ns1", "ns2"] {
            assert_eq!(
                targets(&ingress(ns, None), &off).unwrap(),
                expected(ns, "http", "http")
            );
        }
    }

    #[test]
    fn hostname_patterns() {
        assert!(matches_host("example.com", "example.com"));
        assert!(matches_host("*.example.com", "a.example.com"));
        assert!(!matches_host("*.example.com", "a.b.example.com"));
        assert!(!matches_host("*.example.com", "example.com"));
        assert!(!matches_host("a.*.com", "a.example.com"));
        assert!(!matches_host("*.example.com", "a.example.org"));
        assert!(matches_host("", ""));
        assert!(matches_host("*", ""), "Go splits \"\" into one empty label");
        assert!(matches_host("*", "localhost"));
    }

    #[test]
    fn sparse_ingresses() {
        let off = Lookup::default();
        let bare: Ingress = object(json!({
            "metadata": {"name": "i", "namespace": "n"},
            "spec": {"rules": [{}], "tls": [{"secretName": "s"}]},
        }));
        let want = labels(&[
            ("__meta_kubernetes_ingress_name", "i"),
            ("__meta_kubernetes_namespace", "n"),
            ("__meta_kubernetes_ingress_scheme", "http"),
            ("__meta_kubernetes_ingress_host", ""),
            ("__meta_kubernetes_ingress_path", "/"),
            ("__address__", ""),
        ]);
        assert_eq!(targets(&bare, &off).unwrap(), vec![want]);
        let default_backend_only: Ingress = object(
            json!({"metadata": {"name": "i", "namespace": "n"}, "spec": {"defaultBackend": {}}}),
        );
        assert_eq!(
            targets(&default_backend_only, &off).unwrap(),
            Vec::<Target>::new()
        );
        let no_spec: Ingress = object(json!({"metadata": {"name": "i", "namespace": "n"}}));
        assert_eq!(targets(&no_spec, &off).unwrap(), Vec::<Target>::new());
        let unnamed: Ingress = object(json!({"metadata": {"namespace": "n"}}));
        assert_eq!(
            targets(&unnamed, &off).unwrap_err().problem,
            Problem::MissingName
        );
    }

    #[test]
    fn namespace_metadata_is_attached() {
        let mut lookup = Lookup::new(AttachMetadata {
            namespace: true,
            ..AttachMetadata::default()
        });
        let ns: Namespace =
            object(json!({"metadata": {"name": "ns1", "labels": {"service": "web"}}}));
        lookup.insert_namespace(ns).unwrap();
        let extra = [
            ("__meta_kubernetes_namespace_label_service", "web"),
            ("__meta_kubernetes_namespace_labelpresent_service", "true"),
        ];
        let want: Vec<Target> = expected("ns1", "http", "http")
            .iter()
            .map(|t| with(t, &extra))
            .collect();
        assert_eq!(targets(&ingress("ns1", None), &lookup).unwrap(), want);
    }
}
