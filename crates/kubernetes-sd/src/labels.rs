//! Label names and the labels every role derives from an object's metadata.
//!
//! Prometheus (`discovery/kubernetes/kubernetes.go`, `addObjectMetaLabels` and
//! `addObjectAnnotationsAndLabels`) turns each Kubernetes label `k=v` of a role's object
//! into `__meta_kubernetes_<role>_label_<k'>=v` and `..._labelpresent_<k'>=true`, and each
//! annotation likewise into `_annotation_` / `_annotationpresent_`, where `k'` is `k`
//! through [`sanitize_label_name`].

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::target::Target;

/// `__address__`: where the target is scraped.
pub const ADDRESS: &str = "__address__";
/// `instance`: set by the node role only (to the node's name).
pub const INSTANCE: &str = "instance";
/// The prefix of every label this discovery sets besides [`ADDRESS`] and [`INSTANCE`].
pub const META_PREFIX: &str = "__meta_kubernetes_";
/// `__meta_kubernetes_namespace`: the namespace of a namespaced role's object.
pub const NAMESPACE: &str = "__meta_kubernetes_namespace";

/// Prometheus' `strutil.SanitizeLabelName`: every character that is not
/// `[a-zA-Z0-9_]` becomes `_` (one `_` per character, non-ASCII ones included).
///
/// A leading digit is kept: the rule is only applied to names that get a valid prefix
/// (`__meta_kubernetes_pod_label_` + name), so `8080` stays `8080`. Two keys that differ
/// only in such characters (`app.kubernetes.io/name` and `app_kubernetes_io/name`) map to
/// the same label name; Prometheus then keeps whichever its map iteration visits last
/// (random), here the one whose original key sorts last.
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `__meta_kubernetes_<role>_<suffix>`.
pub(crate) fn meta(role: &str, suffix: &str) -> String {
    let mut name = String::with_capacity(META_PREFIX.len() + role.len() + 1 + suffix.len());
    name.push_str(META_PREFIX);
    name.push_str(role);
    name.push('_');
    name.push_str(suffix);
    name
}

/// Adds the `_label_`, `_labelpresent_`, `_annotation_` and `_annotationpresent_` labels
/// of `metadata` under `__meta_kubernetes_<role>_` (Prometheus' `addObjectAnnotationsAndLabels`;
/// the namespace metadata of `attach_metadata.namespace` uses role `namespace`).
pub fn add_labels_and_annotations(target: &mut Target, role: &str, metadata: &ObjectMeta) {
    let none = BTreeMap::new();
    add_label_maps(
        target,
        role,
        metadata.labels.as_ref().unwrap_or(&none),
        metadata.annotations.as_ref().unwrap_or(&none),
    );
}

/// [`add_labels_and_annotations`] from the two maps (a pod's are kept without their
/// `ObjectMeta`, see [`PodInfo`](crate::roles::pod_info::PodInfo)).
pub fn add_label_maps(
    target: &mut Target,
    role: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) {
    for (what, map) in [("label", labels), ("annotation", annotations)] {
        for (key, value) in map {
            let key = sanitize_label_name(key);
            target.insert(meta(role, &format!("{what}_{key}")), value.clone());
            target.insert(
                meta(role, &format!("{what}present_{key}")),
                "true".to_owned(),
            );
        }
    }
}

/// Adds `__meta_kubernetes_<role>_name` and the labels of [`add_labels_and_annotations`]
/// (Prometheus' `addObjectMetaLabels`). An absent name gives an empty value, as in Go.
pub fn add_object_meta(target: &mut Target, role: &str, metadata: &ObjectMeta) {
    target.insert(
        meta(role, "name"),
        metadata.name.clone().unwrap_or_default(),
    );
    add_labels_and_annotations(target, role, metadata);
}

/// Go's `net.JoinHostPort`: `host:port`, with the host in brackets when it contains a
/// colon (an IPv6 address).
pub(crate) fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A port number as Go's `strconv.FormatUint(uint64(port), 10)` prints an `int32` port
/// (a negative one, which the API server never stores, wraps around as in Go).
pub(crate) fn uint_port(port: i32) -> String {
    // Sign-extending like Go's int32 -> uint64 conversion is the point here.
    #[allow(clippy::cast_sign_loss)]
    let port = i64::from(port) as u64;
    port.to_string()
}

/// Overlays `labels` onto `target` (Prometheus' `LabelSet.Merge`: `labels` win).
pub(crate) fn merge(target: &mut Target, labels: &Target) {
    for (name, value) in labels {
        target.insert(name.clone(), value.clone());
    }
}

/// Go's `strings.ToLower`, which maps rune by rune (`İ` becomes `i`, not `i̇`).
pub(crate) fn go_lowercase(value: &str) -> String {
    value
        .chars()
        .filter_map(|c| c.to_lowercase().next())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn sanitizing_replaces_each_invalid_character_and_keeps_leading_digits() {
        assert_eq!(
            sanitize_label_name("app.kubernetes.io/name"),
            "app_kubernetes_io_name"
        );
        assert_eq!(sanitize_label_name("test-label"), "test_label");
        assert_eq!(sanitize_label_name("8080"), "8080");
        assert_eq!(sanitize_label_name("Mixed_Case9"), "Mixed_Case9");
        assert_eq!(sanitize_label_name("é/ü"), "___");
        assert_eq!(sanitize_label_name(""), "");
    }

    #[test]
    fn object_meta_gives_name_labels_annotations_and_present_flags() {
        let metadata = ObjectMeta {
            name: Some("web".into()),
            labels: Some(BTreeMap::from([("app/name".into(), "shop".into())])),
            annotations: Some(BTreeMap::from([
                ("prometheus.io/scrape".into(), "true".into()),
                ("empty".into(), String::new()),
            ])),
            ..ObjectMeta::default()
        };
        let mut target = Target::new();
        add_object_meta(&mut target, "service", &metadata);
        let want: Target = [
            ("__meta_kubernetes_service_name", "web"),
            ("__meta_kubernetes_service_label_app_name", "shop"),
            ("__meta_kubernetes_service_labelpresent_app_name", "true"),
            (
                "__meta_kubernetes_service_annotation_prometheus_io_scrape",
                "true",
            ),
            (
                "__meta_kubernetes_service_annotationpresent_prometheus_io_scrape",
                "true",
            ),
            ("__meta_kubernetes_service_annotation_empty", ""),
            ("__meta_kubernetes_service_annotationpresent_empty", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(target, want);
    }

    #[test]
    fn absent_metadata_gives_an_empty_name_only() {
        let mut target = Target::new();
        add_object_meta(&mut target, "node", &ObjectMeta::default());
        assert_eq!(
            target,
            Target::from([("__meta_kubernetes_node_name".to_owned(), String::new())])
        );
    }

    #[test]
    fn host_port_joining_and_port_printing_follow_go() {
        assert_eq!(join_host_port("1.2.3.4", "80"), "1.2.3.4:80");
        assert_eq!(join_host_port("fd00::1", "80"), "[fd00::1]:80");
        assert_eq!(join_host_port("web.ns.svc", "443"), "web.ns.svc:443");
        assert_eq!(uint_port(9000), "9000");
        assert_eq!(uint_port(-1), "18446744073709551615");
        assert_eq!(go_lowercase("MemoryPressure"), "memorypressure");
        assert_eq!(go_lowercase("\u{130}"), "i");
    }
}
