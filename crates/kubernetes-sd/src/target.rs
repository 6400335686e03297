//! What a role produces ([`Target`]) and why an object produced nothing ([`ObjectError`]).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The full label set of one discovered target, before relabeling: `__address__`, every
/// `__meta_kubernetes_*` label Prometheus sets for it and, for the node role, `instance`.
///
/// Prometheus hands its scrape manager target groups (labels shared by the group plus
/// one label set per target); a target's labels win over the group's. Here the merge is
/// already done: each `Target` holds the group's labels overlaid with its own.
///
/// Labels with an empty value are kept exactly as Prometheus' discovery emits them (for
/// example `__meta_kubernetes_pod_phase=""` for a pod with no phase). Prometheus' scrape
/// layer then treats an empty value as an absent label (`labels.Builder` drops it), so a
/// caller that builds the final label set should do the same.
pub type Target = BTreeMap<String, String>;

/// Why one object (or one object handed to [`crate::roles::Lookup`]) cannot be used.
///
/// Every field of the Kubernetes API structs is optional; the roles never panic on a
/// missing one. Most absences have a defined Prometheus meaning (an empty label, no
/// target); the few that leave nothing sensible to build are reported here so the caller
/// can skip the object and count it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {}: {problem}", Describe(.namespace.as_deref(), .name.as_deref()))]
pub struct ObjectError {
    /// The object's Kubernetes kind, e.g. `Pod` or `EndpointSlice`.
    pub kind: &'static str,
    /// `metadata.namespace`, when the object has one.
    pub namespace: Option<String>,
    /// `metadata.name`, when the object has one.
    pub name: Option<String>,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with an object, see [`ObjectError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `metadata.name` is absent or empty: the API server never returns such an object.
    #[error("metadata.name is missing or empty")]
    MissingName,
    /// `metadata.namespace` is absent or empty on a namespaced kind.
    #[error("metadata.namespace is missing or empty")]
    MissingNamespace,
    /// A node with no address of a type Prometheus knows (`InternalIP`, `InternalDNS`,
    /// `ExternalIP`, `ExternalDNS`, `LegacyHostIP`, `Hostname`). Prometheus logs "No node
    /// address found" and emits no target for it.
    #[error("status.addresses has no InternalIP, InternalDNS, ExternalIP, ExternalDNS, LegacyHostIP or Hostname address")]
    NoNodeAddress,
}

impl ObjectError {
    /// An error about the object whose metadata is `meta`.
    pub fn new(kind: &'static str, meta: &ObjectMeta, problem: Problem) -> Self {
        Self {
            kind,
            namespace: non_empty(meta.namespace.as_deref()).map(str::to_owned),
            name: non_empty(meta.name.as_deref()).map(str::to_owned),
            problem,
        }
    }
}

/// `namespace/name`, `name` or `(unnamed)` for an error message.
struct Describe<'a>(Option<&'a str>, Option<&'a str>);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(ns), Some(name)) => write!(f, "{ns}/{name}"),
            (None, Some(name)) => f.write_str(name),
            (Some(ns), None) => write!(f, "{ns}/(unnamed)"),
            (None, None) => f.write_str("(unnamed)"),
        }
    }
}

pub(crate) fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The object's name, or [`Problem::MissingName`].
pub(crate) fn require_name<'a>(
    kind: &'static str,
    meta: &'a ObjectMeta,
) -> Result<&'a str, ObjectError> {
    non_empty(meta.name.as_deref())
        .ok_or_else(|| ObjectError::new(kind, meta, Problem::MissingName))
}

/// The object's namespace and name, or [`Problem::MissingName`] / [`Problem::MissingNamespace`].
pub(crate) fn require_namespaced<'a>(
    kind: &'static str,
    meta: &'a ObjectMeta,
) -> Result<(&'a str, &'a str), ObjectError> {
    let name = require_name(kind, meta)?;
    let namespace = non_empty(meta.namespace.as_deref())
        .ok_or_else(|| ObjectError::new(kind, meta, Problem::MissingNamespace))?;
    Ok((namespace, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_kind_object_and_problem() {
        let meta = ObjectMeta {
            namespace: Some("team-a".into()),
            name: Some("web-0".into()),
            ..ObjectMeta::default()
        };
        let err = ObjectError::new("Pod", &meta, Problem::MissingNamespace);
        assert_eq!(
            err.to_string(),
            "Pod team-a/web-0: metadata.namespace is missing or empty"
        );

        let err = ObjectError::new("Node", &ObjectMeta::default(), Problem::MissingName);
        assert_eq!(
            err.to_string(),
            "Node (unnamed): metadata.name is missing or empty"
        );

        let meta = ObjectMeta {
            namespace: Some("ns".into()),
            name: Some(String::new()),
            ..ObjectMeta::default()
        };
        assert_eq!(
            require_name("Service", &meta).unwrap_err().to_string(),
            "Service ns/(unnamed): metadata.name is missing or empty"
        );
    }
}
