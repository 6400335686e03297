//! `role: endpointslice`: one target per endpoint, port and address of the slice, plus
//! one per container port of a backing pod that no slice port covers.
//!
//! Edge cases follow Prometheus' `discovery/kubernetes/endpointslice.go`
//! (`buildEndpointSlice`, `nonPrimaryIPFamilySlice`):
//!
//! - Loop order: endpoints, then the slice's ports, then the endpoint's addresses. A
//!   slice without ports gives no targets; a port without a number gives the bare address.
//! - The group carries the namespace, `_endpointslice_address_type` (a group label, not a
//!   per-target one as the docs list it), the slice's name, labels and annotations and,
//!   when the service named by its `kubernetes.io/service-name` label is listed, the
//!   service's name, labels and annotations.
//! - The secondary slice of a dual-stack service (policy `PreferDualStack` or
//!   `RequireDualStack`, address type not the first of `spec.ipFamilies`) gives no
//!   targets, so each endpoint is scraped once.
//! - Each optional field sets its label only when present: port name, protocol, number
//!   and `_port_app_protocol` (missing from the docs); the ready, serving and terminating
//!   conditions; `_endpoint_hostname` (even empty), `_endpoint_node_name`,
//!   `_endpoint_zone`; `_address_target_kind`/`_name` whenever `targetRef` is set (even
//!   empty); `_endpoint_topology_<key>` and `_endpoint_topology_present_<key>` per
//!   `deprecatedTopology` entry.
//! - With `attach_metadata.node`, the node named by a `targetRef` of kind `Node`, else by
//!   `nodeName`, adds its name, labels and annotations (when listed).
//! - Pod-backed endpoints work as in the endpoints role, except that the matched
//!   container's `_container_port_protocol` is the container port's own protocol.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::service::service_labels;
use super::{container_port_labels, Lookup, SeenPods};
use crate::labels::{self, add_object_meta, merge, sanitize_label_name, NAMESPACE};
use crate::target::{require_namespaced, ObjectError, Target};

/// The label on an EndpointSlice naming the service it belongs to.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The EndpointSlice's targets. `lookup` supplies the service, the backing pods and what
/// `attach_metadata` asks for.
pub fn targets(slice: &EndpointSlice, lookup: &Lookup) -> Result<Vec<Target>, ObjectError> {
    let (namespace, _) = require_namespaced("EndpointSlice", &slice.metadata)?;
    let mut group = Target::new();
    group.insert(NAMESPACE.to_owned(), namespace.to_owned());
    group.insert(
        labels::meta("endpointslice", "address_type"),
        slice.address_type.clone(),
    );
    add_object_meta(&mut group, "endpointslice", &slice.metadata);
    let service = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME_LABEL))
        .and_then(|name| lookup.service(namespace, name));
    if let Some(service) = service {
        merge(&mut group, &service_labels(service, namespace));
    }
    lookup.add_namespace_labels(&mut group, namespace);

    if service.is_some_and(|s| is_secondary_family(s, slice)) {
        return Ok(Vec::new());
    }

    let mut builder = Builder {
        group: &group,
        lookup,
        seen: SeenPods::default(),
        targets: Vec::new(),
    };
    for endpoint in &slice.endpoints {
        for port in slice.ports.as_deref().unwrap_or_default() {
            for address in &endpoint.addresses {
                builder.add(address, endpoint, port);
            }
        }
    }
    let Builder {
        seen, mut targets, ..
    } = builder;
    targets.extend(seen.extra_targets(&group));
    Ok(targets)
}

/// Whether `slice` holds the secondary IP family of a dual-stack `service`.
fn is_secondary_family(service: &Service, slice: &EndpointSlice) -> bool {
    let Some(spec) = service.spec.as_ref() else {
        return false;
    };
    let dual_stack = matches!(
        spec.ip_family_policy.as_deref(),
        Some("PreferDualStack" | "RequireDualStack")
    );
    let primary = spec.ip_families.as_deref().and_then(<[String]>::first);
    match primary {
        Some(primary) if dual_stack => *primary != slice.address_type,
        _ => false,
    }
}

struct Builder<'a> {
    group: &'a Target,
    lookup: &'a Lookup,
    seen: SeenPods<'a>,
    targets: Vec<Target>,
}

impl<'a> Builder<'a> {
    fn add(&mut self, address: &str, endpoint: &Endpoint, port: &EndpointPort) {
        let number = port.port.map(labels::uint_port);
        let mut target = self.group.clone();
        let addr = match &number {
            Some(number) => labels::join_host_port(address, number),
            None => address.to_owned(),
        };
        target.insert(labels::ADDRESS.to_owned(), addr);

        let mut set = |suffix: &str, value: Option<String>| {
            if let Some(value) = value {
                target.insert(labels::meta("endpointslice", suffix), value);
            }
        };
        set("port_name", port.name.clone());
        set("port_protocol", port.protocol.clone());
        set("port", number.clone());
        set("port_app_protocol", port.app_protocol.clone());
        let conditions = endpoint.conditions.as_ref();
        set(
            "endpoint_conditions_ready",
            conditions.and_then(|c| c.ready).map(|b| b.to_string()),
        );
        set(
            "endpoint_conditions_serving",
            conditions.and_then(|c| c.serving).map(|b| b.to_string()),
        );
        set(
            "endpoint_conditions_terminating",
            conditions
                .and_then(|c| c.terminating)
                .map(|b| b.to_string()),
        );
        set("endpoint_hostname", endpoint.hostname.clone());
        let reference = endpoint.target_ref.as_ref();
        if let Some(reference) = reference {
            set(
                "address_target_kind",
                Some(reference.kind.clone().unwrap_or_default()),
            );
            set(
                "address_target_name",
                Some(reference.name.clone().unwrap_or_default()),
            );
        }
        set("endpoint_node_name", endpoint.node_name.clone());
        set("endpoint_zone", endpoint.zone.clone());
        for (key, value) in endpoint.deprecated_topology.iter().flatten() {
            let key = sanitize_label_name(key);
            set(&format!("endpoint_topology_{key}"), Some(value.clone()));
            set(
                &format!("endpoint_topology_present_{key}"),
                Some("true".to_owned()),
            );
        }

        let node = match reference {
            Some(r) if r.kind.as_deref() == Some("Node") => {
                Some(r.name.as_deref().unwrap_or_default())
            }
            _ => endpoint.node_name.as_deref(),
        };
        self.lookup.add_node_labels(&mut target, node);

        let lookup: &'a Lookup = self.lookup;
        if let Some(pod) = lookup.referenced_pod(reference) {
            merge(&mut target, self.seen.record(pod, port.port, lookup));
            if let (Some(wanted), Some(number)) = (port.port, &number) {
                for container in &pod.containers {
                    if let Some(cport) = container.ports.iter().find(|c| c.number == wanted) {
                        container_port_labels(
                            &mut target,
                            container,
                            cport.name.as_ref(),
                            number,
                            cport.protocol.as_ref(),
                        );
                    }
                }
            }
        }
        self.targets.push(target);
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
    use serde_json::json;

    use super::*;
    use crate::roles::test_support::{container, labels, object, with, with_owned};
    use crate::roles::AttachMetadata;

    /// Prometheus' `makeEndpointSliceV1`: four endpoints covering every optional field,
    /// an empty target reference and a node target reference.
    fn slice(namespace: &str) -> EndpointSlice {
        object(json!({
            "metadata": {
                "name": "testendpoints", "namespace": namespace,
                "labels": {"kubernetes.io/service-name": "testendpoints"},
                "annotations": {"test.annotation": "test"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "testport", "port": 9000, "protocol": "TCP", "appProtocol": "http"}],
            "endpoints": [
                {
                    "addresses": ["1.2.3.4"],
                    "conditions": {"ready": true, "serving": true, "terminating": false},
                    "hostname": "testendpoint1", "targetRef": {}, "nodeName": "foobar",
                    "deprecatedTopology": {"topology": "value"}, "zone": "us-east-1a",
                },
                {"addresses": ["2.3.4.5"], "conditions": {"ready": true, "serving": true, "terminating": false}, "zone": "us-east-1b"},
                {"addresses": ["3.4.5.6"], "conditions": {"ready": false, "serving": true, "terminating": true}, "zone": "us-east-1c"},
                {
                    "addresses": ["4.5.6.7"], "conditions": {"ready": true, "serving": true, "terminating": false},
                    "targetRef": {"kind": "Node", "name": "barbaz"}, "zone": "us-east-1a",
                },
            ],
        }))
    }

    fn slice_group(namespace: &str) -> Target {
        labels(&[
            ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
            ("__meta_kubernetes_namespace", namespace),
            ("__meta_kubernetes_endpointslice_name", "testendpoints"),
            (
                "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
                "testendpoints",
            ),
            (
                "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name",
                "true",
            ),
            (
                "__meta_kubernetes_endpointslice_annotation_test_annotation",
                "test",
            ),
            (
                "__meta_kubernetes_endpointslice_annotationpresent_test_annotation",
                "true",
            ),
        ])
    }

    fn slice_targets(group: &Target, extra: [&[(&str, &str)]; 4]) -> Vec<Target> {
        let port = with(
            group,
            &[
                ("__meta_kubernetes_endpointslice_port", "9000"),
                ("__meta_kubernetes_endpointslice_port_app_protocol", "http"),
                ("__meta_kubernetes_endpointslice_port_name", "testport"),
                ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
            ],
        );
        let endpoint = |address: &str, ready: &str, terminating: &str, zone: &str| {
            with(
                &port,
                &[
                    ("__address__", address),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                        ready,
                    ),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_conditions_serving",
                        "true",
                    ),
                    (
                        "__meta_kubernetes_endpointslice_endpoint_conditions_terminating",
                        terminating,
                    ),
                    ("__meta_kubernetes_endpointslice_endpoint_zone", zone),
                ],
            )
        };
        vec![
            with(
                &with(
                    &endpoint("1.2.3.4:9000", "true", "false", "us-east-1a"),
                    &[
                        ("__meta_kubernetes_endpointslice_address_target_kind", ""),
                        ("__meta_kubernetes_endpointslice_address_target_name", ""),
                        (
                            "__meta_kubernetes_endpointslice_endpoint_hostname",
                            "testendpoint1",
                        ),
                        (
                            "__meta_kubernetes_endpointslice_endpoint_node_name",
                            "foobar",
                        ),
                        (
                            "__meta_kubernetes_endpointslice_endpoint_topology_present_topology",
                            "true",
                        ),
                        (
                            "__meta_kubernetes_endpointslice_endpoint_topology_topology",
                            "value",
                        ),
                    ],
                ),
                extra[0],
            ),
            with(
                &endpoint("2.3.4.5:9000", "true", "false", "us-east-1b"),
                extra[1],
            ),
            with(
                &endpoint("3.4.5.6:9000", "false", "true", "us-east-1c"),
                extra[2],
            ),
            with(
                &with(
                    &endpoint("4.5.6.7:9000", "true", "false", "us-east-1a"),
                    &[
                        (
                            "__meta_kubernetes_endpointslice_address_target_kind",
                            "Node",
                        ),
                        (
                            "__meta_kubernetes_endpointslice_address_target_name",
                            "barbaz",
                        ),
                    ],
                ),
                extra[3],
            ),
        ]
    }

    const NONE: [&[(&str, &str)]; 4] = [&[], &[], &[], &[]];

    fn service_with_label(namespace: &str) -> Service {
        object(
            json!({"metadata": {"name": "testendpoints", "namespace": namespace, "labels": {"app/name": "test"}}}),
        )
    }

    fn with_service(group: &Target) -> Target {
        with(
            group,
            &[
                ("__meta_kubernetes_service_label_app_name", "test"),
                ("__meta_kubernetes_service_labelpresent_app_name", "true"),
                ("__meta_kubernetes_service_name", "testendpoints"),
            ],
        )
    }

    #[test]
    fn plain_slice() {
        assert_eq!(
            targets(&slice("default"), &Lookup::default()).unwrap(),
            slice_targets(&slice_group("default"), NONE)
        );
    }

    #[test]
    fn service_labels_join_the_group() {
        let mut lookup = Lookup::default();
        lookup
            .insert_service(service_with_label("default"))
            .unwrap();
        let want = slice_targets(&with_service(&slice_group("default")), NONE);
        assert_eq!(targets(&slice("default"), &lookup).unwrap(), want);

        // Without the service-name label no service is joined.
        let mut unlabelled = slice("default");
        unlabelled.metadata.labels = None;
        let group: Target = slice_group("default")
            .into_iter()
            .filter(|(k, _)| !k.contains("kubernetes_io_service_name"))
            .collect();
        assert_eq!(
            targets(&unlabelled, &lookup).unwrap(),
            slice_targets(&group, NONE)
        );
    }

    #[test]
    fn node_metadata_by_node_target_ref_or_node_name() {
        let mut lookup = Lookup::new(AttachMetadata {
            node: true,
            ..AttachMetadata::default()
        });
        lookup
            .insert_service(service_with_label("default"))
            .unwrap();
        for (name, az) in [("foobar", "us-east1"), ("barbaz", "us-west2")] {
            lookup
                .insert_node(object::<Node>(
                    json!({"metadata": {"name": name, "labels": {"az": az}}}),
                ))
                .unwrap();
        }
        let want = slice_targets(
            &with_service(&slice_group("default")),
            [
                &[
                    ("__meta_kubernetes_node_label_az", "us-east1"),
                    ("__meta_kubernetes_node_labelpresent_az", "true"),
                    ("__meta_kubernetes_node_name", "foobar"),
                ],
                &[],
                &[],
                &[
                    ("__meta_kubernetes_node_label_az", "us-west2"),
                    ("__meta_kubernetes_node_labelpresent_az", "true"),
                    ("__meta_kubernetes_node_name", "barbaz"),
                ],
            ],
        );
        assert_eq!(targets(&slice("default"), &lookup).unwrap(), want);
    }

    #[test]
    fn empty_endpoints_or_ports_give_no_targets() {
        let mut empty = slice("default");
        empty.endpoints.clear();
        assert_eq!(
            targets(&empty, &Lookup::default()).unwrap(),
            Vec::<Target>::new()
        );
        let mut portless = slice("default");
        portless.ports = None;
        assert_eq!(
            targets(&portless, &Lookup::default()).unwrap(),
            Vec::<Target>::new()
        );
    }

    #[test]
    fn port_without_number_gives_the_bare_address() {
        let s: EndpointSlice = object(json!({
            "metadata": {"name": "s", "namespace": "n"},
            "addressType": "IPv6",
            "ports": [{}],
            "endpoints": [{"addresses": ["fd00::1"], "hostname": ""}],
        }));
        let want = labels(&[
            ("__address__", "fd00::1"),
            ("__meta_kubernetes_namespace", "n"),
            ("__meta_kubernetes_endpointslice_address_type", "IPv6"),
            ("__meta_kubernetes_endpointslice_name", "s"),
            ("__meta_kubernetes_endpointslice_endpoint_hostname", ""),
        ]);
        assert_eq!(targets(&s, &Lookup::default()).unwrap(), vec![want]);
    }

    fn pod_labels_of(ip: &str) -> Vec<(&'static str, String)> {
        vec![
            ("__meta_kubernetes_pod_name", "testpod".to_owned()),
            ("__meta_kubernetes_pod_ip", ip.to_owned()),
            ("__meta_kubernetes_pod_ready", "unknown".to_owned()),
            ("__meta_kubernetes_pod_phase", String::new()),
            ("__meta_kubernetes_pod_node_name", "testnode".to_owned()),
            ("__meta_kubernetes_pod_host_ip", "2.3.4.5".to_owned()),
            ("__meta_kubernetes_pod_uid", "deadbeef".to_owned()),
        ]
    }

    #[test]
    fn pod_backed_endpoint_and_uncovered_container_port() {
        let pod: Pod = object(json!({
            "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
            "spec": {"nodeName": "testnode", "containers": [
                {"name": "c1", "image": "c1:latest", "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}]},
                {"name": "c2", "image": "c2:latest", "ports": [{"name": "sideport", "containerPort": 9001, "protocol": "TCP"}]},
            ]},
            "status": {"hostIP": "2.3.4.5", "podIP": "1.2.3.4"},
        }));
        let s: EndpointSlice = object(json!({
            "metadata": {"name": "testendpoints", "namespace": "default"},
            "addressType": "IPv4",
            "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
            "endpoints": [{
                "addresses": ["4.3.2.1"],
                "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"},
                "conditions": {"ready": false},
            }],
        }));
        let mut lookup = Lookup::default();
        lookup.insert_pod(pod).unwrap();
        let group = labels(&[
            ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
            ("__meta_kubernetes_endpointslice_name", "testendpoints"),
            ("__meta_kubernetes_namespace", "default"),
        ]);
        let with_pod = with_owned(&group, &pod_labels_of("1.2.3.4"));
        let want = vec![
            with_owned(
                &with(
                    &with_pod,
                    &[
                        ("__address__", "4.3.2.1:9000"),
                        ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
                        (
                            "__meta_kubernetes_endpointslice_address_target_name",
                            "testpod",
                        ),
                        (
                            "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                            "false",
                        ),
                        ("__meta_kubernetes_endpointslice_port", "9000"),
                        ("__meta_kubernetes_endpointslice_port_name", "testport"),
                        ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
                    ],
                ),
                &container("c1", "mainport", "9000", "false"),
            ),
            with_owned(
                &with(&with_pod, &[("__address__", "1.2.3.4:9001")]),
                &container("c2", "sideport", "9001", "false"),
            ),
        ];
        assert_eq!(targets(&s, &lookup).unwrap(), want);
    }

    #[test]
    fn sidecar_init_container_ports() {
        let pod: Pod = object(json!({
            "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
            "spec": {
                "nodeName": "testnode",
                "initContainers": [
                    {"name": "ic1", "image": "ic1:latest", "ports": [{"name": "initport", "containerPort": 1111, "protocol": "TCP"}]},
                    {"name": "ic2", "image": "ic2:latest", "ports": [{"name": "initport", "containerPort": 9111, "protocol": "TCP"}]},
                ],
                "containers": [{"name": "c1", "image": "c1:latest", "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}]}],
            },
            "status": {"hostIP": "2.3.4.5", "podIP": "4.3.2.1"},
        }));
        let s: EndpointSlice = object(json!({
            "metadata": {"name": "testsidecar", "namespace": "default"},
            "addressType": "IPv4",
            "ports": [
                {"name": "testport", "port": 9000, "protocol": "TCP"},
                {"name": "initport", "port": 9111, "protocol": "TCP"},
            ],
            "endpoints": [{"addresses": ["4.3.2.1"], "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
        }));
        let mut lookup = Lookup::default();
        lookup.insert_pod(pod).unwrap();
        let group = labels(&[
            ("__meta_kubernetes_endpointslice_address_type", "IPv4"),
            ("__meta_kubernetes_endpointslice_name", "testsidecar"),
            ("__meta_kubernetes_namespace", "default"),
        ]);
        let with_pod = with_owned(&group, &pod_labels_of("4.3.2.1"));
        let endpoint = |address: &str, port: &str, name: &str| {
            with(
                &with_pod,
                &[
                    ("__address__", address),
                    ("__meta_kubernetes_endpointslice_address_target_kind", "Pod"),
                    (
                        "__meta_kubernetes_endpointslice_address_target_name",
                        "testpod",
                    ),
                    ("__meta_kubernetes_endpointslice_port", port),
                    ("__meta_kubernetes_endpointslice_port_name", name),
                    ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
                ],
            )
        };
        let want = vec![
            with_owned(
                &endpoint("4.3.2.1:9000", "9000", "testport"),
                &container("c1", "mainport", "9000", "false"),
            ),
            with_owned(
                &endpoint("4.3.2.1:9111", "9111", "initport"),
                &container("ic2", "initport", "9111", "true"),
            ),
            with_owned(
                &with(&with_pod, &[("__address__", "4.3.2.1:1111")]),
                &container("ic1", "initport", "1111", "true"),
            ),
        ];
        assert_eq!(targets(&s, &lookup).unwrap(), want);
    }

    #[test]
    fn container_port_protocol_is_the_container_ports() {
        let pod: Pod = object(json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 54}]}]},
            "status": {"podIP": "10.0.0.1"},
        }));
        let s: EndpointSlice = object(json!({
            "metadata": {"name": "s", "namespace": "n"},
            "addressType": "IPv4",
            "ports": [{"port": 53, "protocol": "TCP"}, {"name": "unnumbered"}],
            "endpoints": [{"addresses": ["10.0.0.1"], "targetRef": {"kind": "Pod", "name": "p", "namespace": "n"}}],
        }));
        let mut lookup = Lookup::default();
        lookup.insert_pod(pod).unwrap();
        let got = targets(&s, &lookup).unwrap();
        let addresses: Vec<&str> = got.iter().map(|t| t["__address__"].as_str()).collect();
        assert_eq!(addresses, ["10.0.0.1:53", "10.0.0.1", "10.0.0.1:54"]);
        assert_eq!(
            got[0]["__meta_kubernetes_endpointslice_port_protocol"],
            "TCP"
        );
        assert_eq!(
            got[0]["__meta_kubernetes_pod_container_port_protocol"],
            "UDP"
        );
        // The port without a number matches no container port.
        assert!(!got[1].contains_key("__meta_kubernetes_pod_container_name"));
        assert_eq!(got[1]["__meta_kubernetes_pod_name"], "p");
        assert_eq!(got[2]["__meta_kubernetes_pod_container_port_protocol"], "");
    }

    #[test]
    fn namespace_metadata_is_attached() {
        let mut lookup = Lookup::new(AttachMetadata {
            namespace: true,
            ..AttachMetadata::default()
        });
        lookup.insert_service(service_with_label("ns1")).unwrap();
        let ns: Namespace = object(
            json!({"metadata": {"name": "ns1", "labels": {"layer": "backend"}, "annotations": {"owner": "x"}}}),
        );
        lookup.insert_namespace(ns).unwrap();
        let group = with(
            &with_service(&slice_group("ns1")),
            &[
                ("__meta_kubernetes_namespace_label_layer", "backend"),
                ("__meta_kubernetes_namespace_labelpresent_layer", "true"),
                ("__meta_kubernetes_namespace_annotation_owner", "x"),
                (
                    "__meta_kubernetes_namespace_annotationpresent_owner",
                    "true",
                ),
            ],
        );
        assert_eq!(
            targets(&slice("ns1"), &lookup).unwrap(),
            slice_targets(&group, NONE)
        );
    }

    fn dual_stack_service(policy: &str, families: &[&str]) -> Service {
        object(
            json!({"metadata": {"name": "testsvc", "namespace": "default"}, "spec": {"ipFamilyPolicy": policy, "ipFamilies": families}}),
        )
    }

    fn dual_stack_slice(name: &str, address_type: &str, address: &str) -> EndpointSlice {
        object(json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"kubernetes.io/service-name": "testsvc"}},
            "addressType": address_type,
            "ports": [{"name": "http", "port": 9000, "protocol": "TCP"}],
            "endpoints": [{"addresses": [address], "conditions": {"ready": true}}],
        }))
    }

    fn dual_stack_target(name: &str, address_type: &str, address: &str) -> Target {
        labels(&[
            ("__meta_kubernetes_namespace", "default"),
            ("__meta_kubernetes_endpointslice_address_type", address_type),
            ("__meta_kubernetes_endpointslice_name", name),
            (
                "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name",
                "testsvc",
            ),
            (
                "__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name",
                "true",
            ),
            ("__meta_kubernetes_service_name", "testsvc"),
            ("__address__", address),
            (
                "__meta_kubernetes_endpointslice_endpoint_conditions_ready",
                "true",
            ),
            ("__meta_kubernetes_endpointslice_port", "9000"),
            ("__meta_kubernetes_endpointslice_port_name", "http"),
            ("__meta_kubernetes_endpointslice_port_protocol", "TCP"),
        ])
    }

    #[test]
    fn dual_stack_services_skip_the_secondary_family_slice() {
        let v4 = dual_stack_slice("testsvc-ipv4", "IPv4", "1.2.3.4");
        let v6 = dual_stack_slice("testsvc-ipv6", "IPv6", "fd00::1");
        let v4_target = dual_stack_target("testsvc-ipv4", "IPv4", "1.2.3.4:9000");
        let v6_target = dual_stack_target("testsvc-ipv6", "IPv6", "[fd00::1]:9000");
        let cases = [
            (
                "PreferDualStack",
                vec!["IPv4", "IPv6"],
                vec![v4_target.clone()],
                vec![],
            ),
            (
                "RequireDualStack",
                vec!["IPv4", "IPv6"],
                vec![v4_target.clone()],
                vec![],
            ),
            (
                "PreferDualStack",
                vec!["IPv6", "IPv4"],
                vec![],
                vec![v6_target.clone()],
            ),
            (
                "SingleStack",
                vec!["IPv4"],
                vec![v4_target.clone()],
                vec![v6_target.clone()],
            ),
            (
                "SingleStack",
                vec!["IPv6"],
                vec![v4_target.clone()],
                vec![v6_target.clone()],
            ),
            ("PreferDualStack", vec![], vec![v4_target], vec![v6_target]),
        ];
        for (policy, families, want_v4, want_v6) in cases {
            let mut lookup = Lookup::default();
            lookup
                .insert_service(dual_stack_service(policy, &families))
                .unwrap();
            assert_eq!(
                targets(&v4, &lookup).unwrap(),
                want_v4,
                "{policy} {families:?} IPv4 slice"
            );
            assert_eq!(
                targets(&v6, &lookup).unwrap(),
                want_v6,
                "{policy} {families:?} IPv6 slice"
            );
        }
    }
}
