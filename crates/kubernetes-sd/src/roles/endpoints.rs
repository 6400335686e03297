//! `role: endpoints`: one target per address and port of each subset, plus one per
//! container port of a backing pod that no endpoint port covers.
//!
//! Edge cases follow Prometheus' `discovery/kubernetes/endpoints.go` (`buildEndpoints`):
//!
//! - Per subset, per port: every ready address (`__meta_kubernetes_endpoint_ready`
//!   `true`), then every not-ready one (`false`). An address listed as both gives two
//!   targets.
//! - The group carries the namespace, the Endpoints' name, labels and annotations and,
//!   when the service of the same name is listed, the service's name, labels and
//!   annotations (not its per-port labels, despite the docs' "all labels of the
//!   `role: service` discovery").
//! - `_address_target_kind`/`_name` are set whenever the address has a `targetRef` (even
//!   empty); `_node_name` whenever `nodeName` is set; `_hostname` only when non-empty.
//! - With `attach_metadata.node`, the node named by `nodeName`, else by a `targetRef` of
//!   kind `Node`, adds its name, labels and annotations (when listed).
//! - An address whose `targetRef` is a listed pod gets the pod's labels (overriding), and
//!   the container labels of the last container (containers, then init containers)
//!   declaring the endpoint's port number; `_container_port_protocol` is then the
//!   *endpoint* port's protocol and no `_container_id` is set.
//! - Then, for each such pod with an IP, every container port whose number no endpoint
//!   port of that pod used gives a target `<pod IP>:<port>` with the container labels (the
//!   container port's protocol) and the pod's labels, but no endpoint or node labels.
//!   Prometheus emits these in random (Go map) order; here in the order the pods were
//!   first referenced.

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, Endpoints};

use super::service::service_labels;
use super::{container_port_labels, Lookup, SeenPods};
use crate::labels::{self, add_object_meta, merge, NAMESPACE};
use crate::target::{non_empty, require_namespaced, ObjectError, Target};

/// The Endpoints object's targets. `lookup` supplies the service, the backing pods and
/// what `attach_metadata` asks for.
pub fn targets(endpoints: &Endpoints, lookup: &Lookup) -> Result<Vec<Target>, ObjectError> {
    let (namespace, name) = require_namespaced("Endpoints", &endpoints.metadata)?;
    let mut group = Target::new();
    group.insert(NAMESPACE.to_owned(), namespace.to_owned());
    if let Some(service) = lookup.service(namespace, name) {
        merge(&mut group, &service_labels(service, namespace));
    }
    add_object_meta(&mut group, "endpoints", &endpoints.metadata);
    lookup.add_namespace_labels(&mut group, namespace);

    let mut builder = Builder {
        group: &group,
        lookup,
        seen: SeenPods::default(),
        targets: Vec::new(),
    };
    for subset in endpoints.subsets.as_deref().unwrap_or_default() {
        for port in subset.ports.as_deref().unwrap_or_default() {
            for address in subset.addresses.as_deref().unwrap_or_default() {
                builder.add(address, port, true);
            }
            for address in subset.not_ready_addresses.as_deref().unwrap_or_default() {
                builder.add(address, port, false);
            }
        }
    }
    let Builder {
        seen, mut targets, ..
    } = builder;
    targets.extend(seen.extra_targets(&group));
    Ok(targets)
}

struct Builder<'a> {
    group: &'a Target,
    lookup: &'a Lookup,
    seen: SeenPods<'a>,
    targets: Vec<Target>,
}

impl<'a> Builder<'a> {
    fn add(&mut self, address: &EndpointAddress, port: &EndpointPort, ready: bool) {
        let number = labels::uint_port(port.port);
        let mut target = self.group.clone();
        target.insert(
            labels::ADDRESS.to_owned(),
            labels::join_host_port(&address.ip, &number),
        );
        target.insert(
            labels::meta("endpoint", "port_name"),
            port.name.clone().unwrap_or_default(),
        );
        target.insert(
            labels::meta("endpoint", "port_protocol"),
            port.protocol.clone().unwrap_or_default(),
        );
        target.insert(labels::meta("endpoint", "ready"), ready.to_string());
        let reference = address.target_ref.as_ref();
        if let Some(reference) = reference {
            target.insert(
                labels::meta("endpoint", "address_target_kind"),
                reference.kind.clone().unwrap_or_default(),
            );
            target.insert(
                labels::meta("endpoint", "address_target_name"),
                reference.name.clone().unwrap_or_default(),
            );
        }
        if let Some(node_name) = &address.node_name {
            target.insert(labels::meta("endpoint", "node_name"), node_name.clone());
        }
        if let Some(hostname) = non_empty(address.hostname.as_deref()) {
            target.insert(labels::meta("endpoint", "hostname"), hostname.to_owned());
        }
        let node = match (&address.node_name, reference) {
            (Some(node_name), _) => Some(node_name.as_str()),
            (None, Some(r)) if r.kind.as_deref() == Some("Node") => {
                Some(r.name.as_deref().unwrap_or_default())
            }
            _ => None,
        };
        self.lookup.add_node_labels(&mut target, node);

        let lookup: &'a Lookup = self.lookup;
        if let Some(pod) = lookup.referenced_pod(reference) {
            merge(&mut target, self.seen.record(pod, Some(port.port), lookup));
            for container in &pod.containers {
                if let Some(cport) = container.ports.iter().find(|c| c.number == port.port) {
                    container_port_labels(
                        &mut target,
                        container,
                        cport.name.as_ref(),
                        &number,
                        port.protocol.as_ref(),
                    );
                }
            }
        }
        self.targets.push(target);
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
    use serde_json::json;

    use super::*;
    use crate::roles::test_support::{container, labels, object, with, with_owned};
    use crate::roles::AttachMetadata;

    /// Prometheus' `makeEndpoints`: three subsets covering hostname and node name, an
    /// address both ready and not ready, and a node target reference.
    fn endpoints(namespace: &str) -> Endpoints {
        object(json!({
            "metadata": {"name": "testendpoints", "namespace": namespace, "annotations": {"test.annotation": "test"}},
            "subsets": [
                {
                    "addresses": [{"ip": "1.2.3.4", "hostname": "testendpoint1", "nodeName": "foobar"}],
                    "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
                },
                {
                    "addresses": [{"ip": "2.3.4.5"}],
                    "notReadyAddresses": [{"ip": "2.3.4.5"}],
                    "ports": [{"name": "testport", "port": 9001, "protocol": "TCP"}],
                },
                {
                    "addresses": [{"ip": "6.7.8.9", "targetRef": {"kind": "Node", "name": "barbaz"}}],
                    "ports": [{"name": "testport", "port": 9002, "protocol": "TCP"}],
                },
            ],
        }))
    }

    fn endpoints_group(namespace: &str) -> Target {
        labels(&[
            ("__meta_kubernetes_namespace", namespace),
            ("__meta_kubernetes_endpoints_name", "testendpoints"),
            (
                "__meta_kubernetes_endpoints_annotation_test_annotation",
                "test",
            ),
            (
                "__meta_kubernetes_endpoints_annotationpresent_test_annotation",
                "true",
            ),
        ])
    }

    /// The four targets of [`endpoints`], each with `extra[i]` added.
    fn endpoints_targets(group: &Target, extra: [&[(&str, &str)]; 4]) -> Vec<Target> {
        let port = |p: &str, ready: &str| {
            with(
                group,
                &[
                    ("__meta_kubernetes_endpoint_port_name", "testport"),
                    ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                    ("__meta_kubernetes_endpoint_ready", ready),
                    ("__address__", p),
                ],
            )
        };
        vec![
            with(
                &with(
                    &port("1.2.3.4:9000", "true"),
                    &[
                        ("__meta_kubernetes_endpoint_hostname", "testendpoint1"),
                        ("__meta_kubernetes_endpoint_node_name", "foobar"),
                    ],
                ),
                extra[0],
            ),
            with(&port("2.3.4.5:9001", "true"), extra[1]),
            with(&port("2.3.4.5:9001", "false"), extra[2]),
            with(
                &with(
                    &port("6.7.8.9:9002", "true"),
                    &[
                        ("__meta_kubernetes_endpoint_address_target_kind", "Node"),
                        ("__meta_kubernetes_endpoint_address_target_name", "barbaz"),
                    ],
                ),
                extra[3],
            ),
        ]
    }

    fn service_with_label() -> Service {
        object(
            json!({"metadata": {"name": "testendpoints", "namespace": "default", "labels": {"app/name": "test"}}}),
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
    fn plain_endpoints() {
        let want = endpoints_targets(&endpoints_group("default"), [&[], &[], &[], &[]]);
        assert_eq!(
            targets(&endpoints("default"), &Lookup::default()).unwrap(),
            want
        );
    }

    #[test]
    fn service_labels_join_the_group() {
        let mut lookup = Lookup::default();
        lookup.insert_service(service_with_label()).unwrap();
        let want = endpoints_targets(
            &with_service(&endpoints_group("default")),
            [&[], &[], &[], &[]],
        );
        assert_eq!(targets(&endpoints("default"), &lookup).unwrap(), want);
        // A service of the same name in another namespace is not this one's.
        let want = endpoints_targets(&endpoints_group("other"), [&[], &[], &[], &[]]);
        assert_eq!(targets(&endpoints("other"), &lookup).unwrap(), want);
    }

    #[test]
    fn node_metadata_by_node_name_or_node_target_ref() {
        let mut lookup = Lookup::new(AttachMetadata {
            node: true,
            ..AttachMetadata::default()
        });
        lookup.insert_service(service_with_label()).unwrap();
        for (name, az) in [("foobar", "us-east1"), ("barbaz", "us-west2")] {
            let node: Node = object(json!({"metadata": {"name": name, "labels": {"az": az}}}));
            lookup.insert_node(node).unwrap();
        }
        let want = endpoints_targets(
            &with_service(&endpoints_group("default")),
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
        assert_eq!(targets(&endpoints("default"), &lookup).unwrap(), want);

        // Listed nodes without the switch add nothing.
        let mut detached = lookup.clone();
        detached.attach.node = false;
        let want = endpoints_targets(
            &with_service(&endpoints_group("default")),
            [&[], &[], &[], &[]],
        );
        assert_eq!(targets(&endpoints("default"), &detached).unwrap(), want);
    }

    #[test]
    fn empty_subsets_give_no_targets() {
        let e: Endpoints = object(
            json!({"metadata": {"name": "testendpoints", "namespace": "default"}, "subsets": []}),
        );
        assert_eq!(
            targets(&e, &Lookup::default()).unwrap(),
            Vec::<Target>::new()
        );
        let e: Endpoints =
            object(json!({"metadata": {"name": "testendpoints", "namespace": "default"}}));
        assert_eq!(
            targets(&e, &Lookup::default()).unwrap(),
            Vec::<Target>::new()
        );
        // Addresses without ports give nothing either.
        let e: Endpoints = object(
            json!({"metadata": {"name": "e", "namespace": "n"}, "subsets": [{"addresses": [{"ip": "1.1.1.1"}]}]}),
        );
        assert_eq!(
            targets(&e, &Lookup::default()).unwrap(),
            Vec::<Target>::new()
        );
    }

    fn pod_group() -> Target {
        labels(&[
            ("__meta_kubernetes_pod_name", "testpod"),
            ("__meta_kubernetes_pod_ip", "1.2.3.4"),
            ("__meta_kubernetes_pod_ready", "unknown"),
            ("__meta_kubernetes_pod_phase", ""),
            ("__meta_kubernetes_pod_node_name", "testnode"),
            ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
            ("__meta_kubernetes_pod_uid", "deadbeef"),
        ])
    }

    fn two_container_pod(pod_ip: &str) -> Pod {
        object(json!({
            "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
            "spec": {"nodeName": "testnode", "containers": [
                {"name": "c1", "image": "c1:latest", "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}]},
                {"name": "c2", "image": "c2:latest", "ports": [{"name": "sideport", "containerPort": 9001, "protocol": "TCP"}]},
            ]},
            "status": {"hostIP": "2.3.4.5", "podIP": pod_ip},
        }))
    }

    fn pod_backed_endpoints() -> Endpoints {
        object(json!({
            "metadata": {"name": "testendpoints", "namespace": "default"},
            "subsets": [{
                "addresses": [{"ip": "4.3.2.1", "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
                "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
            }],
        }))
    }

    #[test]
    fn pod_backed_address_and_uncovered_container_port() {
        let mut lookup = Lookup::default();
        lookup.insert_pod(two_container_pod("1.2.3.4")).unwrap();
        let group = labels(&[
            ("__meta_kubernetes_endpoints_name", "testendpoints"),
            ("__meta_kubernetes_namespace", "default"),
        ]);
        let with_pod = with(
            &group,
            &pod_group()
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        );
        let want = vec![
            with_owned(
                &with(
                    &with_pod,
                    &[
                        ("__address__", "4.3.2.1:9000"),
                        ("__meta_kubernetes_endpoint_port_name", "testport"),
                        ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                        ("__meta_kubernetes_endpoint_ready", "true"),
                        ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                        ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                    ],
                ),
                &container("c1", "mainport", "9000", "false"),
            ),
            with_owned(
                &with(&with_pod, &[("__address__", "1.2.3.4:9001")]),
                &container("c2", "sideport", "9001", "false"),
            ),
        ];
        assert_eq!(targets(&pod_backed_endpoints(), &lookup).unwrap(), want);

        // The pod is not listed: the address is a plain target.
        let got = targets(&pod_backed_endpoints(), &Lookup::default()).unwrap();
        assert_eq!(got.len(), 1);
        assert!(!got[0].contains_key("__meta_kubernetes_pod_name"));

        // The pod has lost its IP: no extra targets for its other ports.
        let mut lookup = Lookup::default();
        lookup.insert_pod(two_container_pod("")).unwrap();
        let got = targets(&pod_backed_endpoints(), &lookup).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["__meta_kubernetes_pod_ip"], "");
    }

    #[test]
    fn sidecar_init_container_ports() {
        let e: Endpoints = object(json!({
            "metadata": {"name": "testsidecar", "namespace": "default"},
            "subsets": [{
                "addresses": [{"ip": "4.3.2.1", "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}],
                "ports": [
                    {"name": "testport", "port": 9000, "protocol": "TCP"},
                    {"name": "initport", "port": 9111, "protocol": "TCP"},
                ],
            }],
        }));
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
        let mut lookup = Lookup::default();
        lookup.insert_pod(pod).unwrap();
        let group = labels(&[
            ("__meta_kubernetes_endpoints_name", "testsidecar"),
            ("__meta_kubernetes_namespace", "default"),
        ]);
        let pod_labels = with(&pod_group(), &[("__meta_kubernetes_pod_ip", "4.3.2.1")]);
        let with_pod = with(
            &group,
            &pod_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        );
        let endpoint = |address: &str, port_name: &str| {
            with(
                &with_pod,
                &[
                    ("__address__", address),
                    ("__meta_kubernetes_endpoint_address_target_kind", "Pod"),
                    ("__meta_kubernetes_endpoint_address_target_name", "testpod"),
                    ("__meta_kubernetes_endpoint_port_name", port_name),
                    ("__meta_kubernetes_endpoint_port_protocol", "TCP"),
                    ("__meta_kubernetes_endpoint_ready", "true"),
                ],
            )
        };
        let want = vec![
            with_owned(
                &endpoint("4.3.2.1:9000", "testport"),
                &container("c1", "mainport", "9000", "false"),
            ),
            with_owned(
                &endpoint("4.3.2.1:9111", "initport"),
                &container("ic2", "initport", "9111", "true"),
            ),
            with_owned(
                &with(&with_pod, &[("__address__", "4.3.2.1:1111")]),
                &container("ic1", "initport", "1111", "true"),
            ),
        ];
        assert_eq!(targets(&e, &lookup).unwrap(), want);
    }

    #[test]
    fn endpoint_port_protocol_wins_on_matched_container_and_last_container_wins() {
        let e: Endpoints = object(json!({
            "metadata": {"name": "e", "namespace": "n"},
            "subsets": [{
                "addresses": [{"ip": "10.0.0.1", "hostname": "", "targetRef": {"kind": "Pod", "name": "p", "namespace": "n"}}],
                "ports": [{"port": 8080, "protocol": "UDP"}],
            }],
        }));
        let pod: Pod = object(json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [
                {"name": "a", "ports": [{"name": "first", "containerPort": 8080, "protocol": "TCP"}]},
                {"name": "b", "ports": [{"name": "second", "containerPort": 8080, "protocol": "TCP"}, {"name": "dup", "containerPort": 8080}]},
            ]},
            "status": {"podIP": "10.0.0.1"},
        }));
        let mut lookup = Lookup::default();
        lookup.insert_pod(pod).unwrap();
        let got = targets(&e, &lookup).unwrap();
        assert_eq!(
            got.len(),
            1,
            "every container port is covered by the endpoint port"
        );
        let t = &got[0];
        assert_eq!(t["__meta_kubernetes_pod_container_name"], "b");
        assert_eq!(t["__meta_kubernetes_pod_container_port_name"], "second");
        assert_eq!(t["__meta_kubernetes_pod_container_port_protocol"], "UDP");
        assert_eq!(t["__meta_kubernetes_pod_container_image"], "");
        assert_eq!(t["__meta_kubernetes_endpoint_port_name"], "");
        assert!(
            !t.contains_key("__meta_kubernetes_endpoint_hostname"),
            "empty hostname is not set"
        );
        assert!(!t.contains_key("__meta_kubernetes_pod_container_id"));
    }

    #[test]
    fn namespace_metadata_is_attached() {
        let mut lookup = Lookup::new(AttachMetadata {
            namespace: true,
            ..AttachMetadata::default()
        });
        let ns: Namespace =
            object(json!({"metadata": {"name": "ns1", "labels": {"environment": "production"}}}));
        lookup.insert_namespace(ns).unwrap();
        let group = with(
            &endpoints_group("ns1"),
            &[
                (
                    "__meta_kubernetes_namespace_label_environment",
                    "production",
                ),
                (
                    "__meta_kubernetes_namespace_labelpresent_environment",
                    "true",
                ),
            ],
        );
        assert_eq!(
            targets(&endpoints("ns1"), &lookup).unwrap(),
            endpoints_targets(&group, [&[], &[], &[], &[]])
        );
    }

    #[test]
    fn target_refs_without_fields_give_empty_labels() {
        let e: Endpoints = object(json!({
            "metadata": {"name": "e", "namespace": "n"},
            "subsets": [{"addresses": [{"ip": "10.0.0.1", "targetRef": {}}], "ports": [{"port": 80}]}],
        }));
        let want = labels(&[
            ("__address__", "10.0.0.1:80"),
            ("__meta_kubernetes_namespace", "n"),
            ("__meta_kubernetes_endpoints_name", "e"),
            ("__meta_kubernetes_endpoint_port_name", ""),
            ("__meta_kubernetes_endpoint_port_protocol", ""),
            ("__meta_kubernetes_endpoint_ready", "true"),
            ("__meta_kubernetes_endpoint_address_target_kind", ""),
            ("__meta_kubernetes_endpoint_address_target_name", ""),
        ]);
        assert_eq!(targets(&e, &Lookup::default()).unwrap(), vec![want]);
    }
}
