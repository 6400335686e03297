//! `role: node`: one target per node, the kubelet's address.
//!
//! Edge cases follow Prometheus' `discovery/kubernetes/node.go` (`buildNode`,
//! `nodeAddress`, `nodeLabels`):
//!
//! - `__address__` is the node's first address of the first type present in the order
//!   `InternalIP`, `InternalDNS`, `ExternalIP`, `ExternalDNS`, `LegacyHostIP`,
//!   `Hostname`, joined with `status.daemonEndpoints.kubeletEndpoint.Port` (0 when
//!   absent). The docs list only InternalIP, ExternalIP, LegacyHostIP and HostName; the
//!   code (followed here) also tries the two DNS types. A node with none of these gets no
//!   target ([`Problem::NoNodeAddress`] here, a
//!   warning in Prometheus).
//! - `instance` is the node's name.
//! - `__meta_kubernetes_node_address_<Type>` holds the first address of every type the
//!   node has, the type's case kept (`..._address_InternalIP`).
//! - `__meta_kubernetes_node_provider_id` is always set (empty without one);
//!   `__meta_kubernetes_node_condition_<type>` is set per condition, type and status in
//!   lower case.

use k8s_openapi::api::core::v1::Node;

use crate::labels::{self, add_object_meta, go_lowercase, sanitize_label_name};
use crate::target::{require_name, ObjectError, Problem, Target};

/// Address types in the order Prometheus picks `__address__` from.
const ADDRESS_PRECEDENCE: [&str; 6] = [
    "InternalIP",
    "InternalDNS",
    "ExternalIP",
    "ExternalDNS",
    "LegacyHostIP",
    "Hostname",
];

/// The node's target: exactly one, or an error when it has no name or no usable address.
pub fn targets(node: &Node) -> Result<Vec<Target>, ObjectError> {
    let name = require_name("Node", &node.metadata)?;
    let status = node.status.as_ref();
    let addresses = status
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();

    let first_of = |ty: &str| {
        addresses
            .iter()
            .find(|a| a.type_ == ty)
            .map(|a| a.address.as_str())
    };
    let host = ADDRESS_PRECEDENCE
        .iter()
        .find_map(|ty| first_of(ty))
        .ok_or_else(|| ObjectError::new("Node", &node.metadata, Problem::NoNodeAddress))?;
    let port = status
        .and_then(|s| s.daemon_endpoints.as_ref())
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map_or(0, |k| k.port);

    let mut target = Target::new();
    let provider_id = node.spec.as_ref().and_then(|s| s.provider_id.clone());
    target.insert(
        labels::meta("node", "provider_id"),
        provider_id.unwrap_or_default(),
    );
    for condition in status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
    {
        let ty = sanitize_label_name(&go_lowercase(&condition.type_));
        target.insert(
            labels::meta("node", &format!("condition_{ty}")),
            go_lowercase(&condition.status),
        );
    }
    add_object_meta(&mut target, "node", &node.metadata);

    target.insert(
        labels::ADDRESS.to_owned(),
        labels::join_host_port(host, &port.to_string()),
    );
    target.insert(labels::INSTANCE.to_owned(), name.to_owned());
    for address in addresses {
        let label = labels::meta(
            "node",
            &format!("address_{}", sanitize_label_name(&address.type_)),
        );
        // The first address of each type wins.
        target
            .entry(label)
            .or_insert_with(|| address.address.clone());
    }
    Ok(vec![target])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::roles::test_support::{labels, object, with};

    fn node(value: serde_json::Value) -> Node {
        object(value)
    }

    /// A node like Prometheus' `makeNode`: one InternalIP, kubelet on 10250.
    fn basic_node(extra_metadata: serde_json::Value, conditions: serde_json::Value) -> Node {
        let mut metadata = json!({"name": "test"});
        if let (Some(m), Some(extra)) = (metadata.as_object_mut(), extra_metadata.as_object()) {
            m.extend(extra.clone());
        }
        node(json!({
            "metadata": metadata,
            "spec": {"providerID": "aws:///nl-north-7b/i-03149834983492827"},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "1.2.3.4"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "conditions": conditions,
            },
        }))
    }

    fn base() -> Target {
        labels(&[
            ("__address__", "1.2.3.4:10250"),
            ("instance", "test"),
            ("__meta_kubernetes_node_address_InternalIP", "1.2.3.4"),
            ("__meta_kubernetes_node_name", "test"),
            (
                "__meta_kubernetes_node_provider_id",
                "aws:///nl-north-7b/i-03149834983492827",
            ),
        ])
    }

    #[test]
    fn node_with_labels_and_annotations() {
        let n = basic_node(
            json!({"labels": {"test-label": "testvalue"}, "annotations": {"test-annotation": "testannotationvalue"}}),
            json!([]),
        );
        let want = with(
            &base(),
            &[
                ("__meta_kubernetes_node_label_test_label", "testvalue"),
                ("__meta_kubernetes_node_labelpresent_test_label", "true"),
                (
                    "__meta_kubernetes_node_annotation_test_annotation",
                    "testannotationvalue",
                ),
                (
                    "__meta_kubernetes_node_annotationpresent_test_annotation",
                    "true",
                ),
            ],
        );
        assert_eq!(targets(&n).unwrap(), vec![want]);
    }

    #[test]
    fn node_without_labels() {
        assert_eq!(
            targets(&basic_node(json!({}), json!(null))).unwrap(),
            vec![base()]
        );
        let n = basic_node(json!({"labels": {"Unschedulable": "true"}}), json!(null));
        let want = with(
            &base(),
            &[
                ("__meta_kubernetes_node_label_Unschedulable", "true"),
                ("__meta_kubernetes_node_labelpresent_Unschedulable", "true"),
            ],
        );
        assert_eq!(targets(&n).unwrap(), vec![want]);
    }

    #[test]
    fn conditions_become_lower_case_labels() {
        let cases = [
            (
                json!([{"type": "Ready", "status": "True"}]),
                vec![("__meta_kubernetes_node_condition_ready", "true")],
            ),
            (
                json!([{"type": "Ready", "status": "False"}]),
                vec![("__meta_kubernetes_node_condition_ready", "false")],
            ),
            (
                json!([{"type": "Ready", "status": "Unknown"}]),
                vec![("__meta_kubernetes_node_condition_ready", "unknown")],
            ),
            (json!(null), vec![]),
            (
                json!([
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True"},
                    {"type": "DiskPressure", "status": "False"},
                    {"type": "example.com/Custom-Thing", "status": "True"},
                ]),
                vec![
                    ("__meta_kubernetes_node_condition_memorypressure", "false"),
                    ("__meta_kubernetes_node_condition_ready", "true"),
                    ("__meta_kubernetes_node_condition_diskpressure", "false"),
                    (
                        "__meta_kubernetes_node_condition_example_com_custom_thing",
                        "true",
                    ),
                ],
            ),
        ];
        for (conditions, extra) in cases {
            let got = targets(&basic_node(json!({}), conditions.clone())).unwrap();
            assert_eq!(got, vec![with(&base(), &extra)], "conditions {conditions}");
        }
    }

    #[test]
    fn address_precedence_and_one_label_per_type() {
        let n = node(json!({
            "metadata": {"name": "n1"},
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": "n1.local"},
                    {"type": "ExternalIP", "address": "203.0.113.7"},
                    {"type": "ExternalIP", "address": "203.0.113.8"},
                    {"type": "InternalDNS", "address": "n1.internal"},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            },
        }));
        let want = labels(&[
            ("__address__", "n1.internal:10250"),
            ("instance", "n1"),
            ("__meta_kubernetes_node_address_Hostname", "n1.local"),
            ("__meta_kubernetes_node_address_ExternalIP", "203.0.113.7"),
            ("__meta_kubernetes_node_address_InternalDNS", "n1.internal"),
            ("__meta_kubernetes_node_name", "n1"),
            ("__meta_kubernetes_node_provider_id", ""),
        ]);
        assert_eq!(targets(&n).unwrap(), vec![want]);

        let order = [
            ("LegacyHostIP", "10.1.1.1"),
            ("Hostname", "host"),
            ("ExternalDNS", "ext.example"),
        ];
        let addresses: Vec<_> = order
            .iter()
            .map(|(t, a)| json!({"type": t, "address": a}))
            .collect();
        let n = node(json!({"metadata": {"name": "n2"}, "status": {"addresses": addresses}}));
        assert_eq!(targets(&n).unwrap()[0]["__address__"], "ext.example:0");
    }

    #[test]
    fn ipv6_address_is_bracketed_and_missing_port_is_zero() {
        let n = node(json!({
            "metadata": {"name": "v6"},
            "status": {"addresses": [{"type": "InternalIP", "address": "fd00::5"}], "daemonEndpoints": {}},
        }));
        assert_eq!(targets(&n).unwrap()[0]["__address__"], "[fd00::5]:0");
    }

    #[test]
    fn unusable_nodes_are_errors() {
        let err = targets(&node(json!({"metadata": {"name": "bare"}}))).unwrap_err();
        assert_eq!(err.problem, Problem::NoNodeAddress);
        assert_eq!(err.name.as_deref(), Some("bare"));
        let unknown_type = json!({"metadata": {"name": "odd"}, "status": {"addresses": [{"type": "Other", "address": "x"}]}});
        assert_eq!(
            targets(&node(unknown_type)).unwrap_err().problem,
            Problem::NoNodeAddress
        );
        let err = targets(&node(
            json!({"status": {"addresses": [{"type": "InternalIP", "address": "1.1.1.1"}]}}),
        ))
        .unwrap_err();
        assert_eq!(err.problem, Problem::MissingName);
        assert_eq!(
            targets(&Node::default()).unwrap_err().problem,
            Problem::MissingName
        );
    }
}
