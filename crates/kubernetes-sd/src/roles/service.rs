//! `role: service`: one target per service port, addressed by the service's DNS name.
//!
//! Edge cases follow Prometheus' `discovery/kubernetes/service.go` (`buildService`) of
//! the v3.14.0 release:
//!
//! - `__address__` is `<name>.<namespace>.svc:<port>` for every type, ExternalName
//!   included; a service without ports gives no targets.
//! - `__meta_kubernetes_service_type` is always set (empty when absent);
//!   `_external_name` only for type `ExternalName`, `_cluster_ip` for every other type
//!   (headless `None` included); `_loadbalancer_ip` only for type `LoadBalancer`, from the
//!   deprecated `spec.loadBalancerIP` (empty when unset). Prometheus' main branch (after
//!   v3.14.0) takes it from `status.loadBalancer.ingress[].ip` instead, comma-joined,
//!   with `spec.loadBalancerIP` as the fallback; that change is not released yet.
//! - `_port_name` and `_port_protocol` are empty when the port has none.

use k8s_openapi::api::core::v1::Service;

use super::Lookup;
use crate::labels::{self, add_object_meta, NAMESPACE};
use crate::target::{require_namespaced, ObjectError, Target};

/// The service's targets, one per port. `lookup` is only used for
/// `attach_metadata.namespace`.
pub fn targets(service: &Service, lookup: &Lookup) -> Result<Vec<Target>, ObjectError> {
    let (namespace, name) = require_namespaced("Service", &service.metadata)?;
    let mut group = service_labels(service, namespace);
    lookup.add_namespace_labels(&mut group, namespace);

    let spec = service.spec.as_ref();
    let ty = spec.and_then(|s| s.type_.as_deref()).unwrap_or_default();
    let host = format!("{name}.{namespace}.svc");
    let text = |value: Option<&String>| value.cloned().unwrap_or_default();
    let mut targets = Vec::new();
    for port in spec.and_then(|s| s.ports.as_deref()).unwrap_or_default() {
        let number = port.port.to_string();
        let mut target = group.clone();
        target.insert(
            labels::ADDRESS.to_owned(),
            labels::join_host_port(&host, &number),
        );
        target.insert(
            labels::meta("service", "port_name"),
            text(port.name.as_ref()),
        );
        target.insert(labels::meta("service", "port_number"), number);
        target.insert(
            labels::meta("service", "port_protocol"),
            text(port.protocol.as_ref()),
        );
        target.insert(labels::meta("service", "type"), ty.to_owned());
        if ty == "ExternalName" {
            target.insert(
                labels::meta("service", "external_name"),
                text(spec.and_then(|s| s.external_name.as_ref())),
            );
        } else {
            target.insert(
                labels::meta("service", "cluster_ip"),
                text(spec.and_then(|s| s.cluster_ip.as_ref())),
            );
        }
        if ty == "LoadBalancer" {
            let ip = text(spec.and_then(|s| s.load_balancer_ip.as_ref()));
            target.insert(labels::meta("service", "loadbalancer_ip"), ip);
        }
        targets.push(target);
    }
    Ok(targets)
}

/// Prometheus' `serviceLabels`: the namespace and the service's name, labels and
/// annotations. The endpoints roles add these to their groups; the per-port labels
/// (`_cluster_ip`, `_port_*`, `_type`, ...) are the service role's only.
pub(super) fn service_labels(service: &Service, namespace: &str) -> Target {
    let mut labels = Target::new();
    labels.insert(NAMESPACE.to_owned(), namespace.to_owned());
    add_object_meta(&mut labels, "service", &service.metadata);
    labels
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Namespace;
    use serde_json::json;

    use super::*;
    use crate::roles::test_support::{labels, object, with};
    use crate::roles::AttachMetadata;
    use crate::target::Problem;

    fn service(value: serde_json::Value) -> Service {
        object(value)
    }

    fn off() -> Lookup {
        Lookup::default()
    }

    fn group(name: &str, namespace: &str) -> Target {
        labels(&[
            ("__meta_kubernetes_service_name", name),
            ("__meta_kubernetes_namespace", namespace),
        ])
    }

    #[test]
    fn cluster_ip_external_name_and_load_balancer_services() {
        let cluster_ip = service(json!({
            "metadata": {"name": "testservice", "namespace": "default"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [{"name": "testport", "protocol": "TCP", "port": 30900}]},
        }));
        let want = with(
            &group("testservice", "default"),
            &[
                ("__address__", "testservice.default.svc:30900"),
                ("__meta_kubernetes_service_type", "ClusterIP"),
                ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                ("__meta_kubernetes_service_port_name", "testport"),
                ("__meta_kubernetes_service_port_number", "30900"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
            ],
        );
        assert_eq!(targets(&cluster_ip, &off()).unwrap(), vec![want]);

        let external = service(json!({
            "metadata": {"name": "testservice-external", "namespace": "default"},
            "spec": {"type": "ExternalName", "externalName": "FooExternalName", "ports": [{"name": "testport", "protocol": "TCP", "port": 31900}]},
        }));
        let want = with(
            &group("testservice-external", "default"),
            &[
                ("__address__", "testservice-external.default.svc:31900"),
                ("__meta_kubernetes_service_type", "ExternalName"),
                ("__meta_kubernetes_service_external_name", "FooExternalName"),
                ("__meta_kubernetes_service_port_name", "testport"),
                ("__meta_kubernetes_service_port_number", "31900"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
            ],
        );
        assert_eq!(targets(&external, &off()).unwrap(), vec![want]);

        let load_balancer = service(json!({
            "metadata": {"name": "testservice-loadbalancer", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "loadBalancerIP": "127.0.0.1", "clusterIP": "10.0.0.1",
                     "ports": [{"name": "testport", "protocol": "TCP", "port": 31900}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}},
        }));
        let want = with(
            &group("testservice-loadbalancer", "default"),
            &[
                ("__address__", "testservice-loadbalancer.default.svc:31900"),
                ("__meta_kubernetes_service_type", "LoadBalancer"),
                ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                ("__meta_kubernetes_service_loadbalancer_ip", "127.0.0.1"),
                ("__meta_kubernetes_service_port_name", "testport"),
                ("__meta_kubernetes_service_port_number", "31900"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
            ],
        );
        assert_eq!(targets(&load_balancer, &off()).unwrap(), vec![want]);
    }

    #[test]
    fn multi_port_service_with_labels_and_annotations() {
        let svc = service(json!({
            "metadata": {"name": "testservice", "namespace": "default",
                         "labels": {"test-label": "testvalue"}, "annotations": {"test-annotation": "testannotationvalue"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [
                {"name": "testport0", "protocol": "TCP", "port": 30900},
                {"name": "testport1", "protocol": "UDP", "port": 30901},
            ]},
        }));
        let group = with(
            &group("testservice", "default"),
            &[
                ("__meta_kubernetes_service_label_test_label", "testvalue"),
                ("__meta_kubernetes_service_labelpresent_test_label", "true"),
                (
                    "__meta_kubernetes_service_annotation_test_annotation",
                    "testannotationvalue",
                ),
                (
                    "__meta_kubernetes_service_annotationpresent_test_annotation",
                    "true",
                ),
                ("__meta_kubernetes_service_type", "ClusterIP"),
                ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
            ],
        );
        let port = |number: &str, name: &str, protocol: &str| {
            with(
                &group,
                &[
                    ("__address__", &format!("testservice.default.svc:{number}")),
                    ("__meta_kubernetes_service_port_name", name),
                    ("__meta_kubernetes_service_port_number", number),
                    ("__meta_kubernetes_service_port_protocol", protocol),
                ],
            )
        };
        let want = vec![
            port("30900", "testport0", "TCP"),
            port("30901", "testport1", "UDP"),
        ];
        assert_eq!(targets(&svc, &off()).unwrap(), want);
    }

    #[test]
    fn sparse_services() {
        let headless_unnamed = service(json!({
            "metadata": {"name": "h", "namespace": "n"},
            "spec": {"clusterIP": "None", "ports": [{"port": 80}]},
        }));
        let want = with(
            &group("h", "n"),
            &[
                ("__address__", "h.n.svc:80"),
                ("__meta_kubernetes_service_type", ""),
                ("__meta_kubernetes_service_cluster_ip", "None"),
                ("__meta_kubernetes_service_port_name", ""),
                ("__meta_kubernetes_service_port_number", "80"),
                ("__meta_kubernetes_service_port_protocol", ""),
            ],
        );
        assert_eq!(targets(&headless_unnamed, &off()).unwrap(), vec![want]);
        let no_spec = service(json!({"metadata": {"name": "h", "namespace": "n"}}));
        assert_eq!(targets(&no_spec, &off()).unwrap(), Vec::<Target>::new());
        let lb_without_ip = service(
            json!({"metadata": {"name": "l", "namespace": "n"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 1}]}}),
        );
        assert_eq!(
            targets(&lb_without_ip, &off()).unwrap()[0]
                ["__meta_kubernetes_service_loadbalancer_ip"],
            ""
        );
        let err = targets(&service(json!({"metadata": {"name": "x"}})), &off()).unwrap_err();
        assert_eq!(err.problem, Problem::MissingNamespace);
    }

    #[test]
    fn namespace_metadata_is_attached() {
        let svc = service(json!({
            "metadata": {"name": "testservice", "namespace": "ns1"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [{"name": "testport", "protocol": "TCP", "port": 30900}]},
        }));
        let mut lookup = Lookup::new(AttachMetadata {
            namespace: true,
            ..AttachMetadata::default()
        });
        let ns: Namespace = object(
            json!({"metadata": {"name": "ns1", "labels": {"service": "web"}, "annotations": {"team": "a"}}}),
        );
        lookup.insert_namespace(ns).unwrap();
        let got = targets(&svc, &lookup).unwrap();
        let want = with(
            &group("testservice", "ns1"),
            &[
                ("__address__", "testservice.ns1.svc:30900"),
                ("__meta_kubernetes_service_type", "ClusterIP"),
                ("__meta_kubernetes_service_cluster_ip", "10.0.0.1"),
                ("__meta_kubernetes_service_port_name", "testport"),
                ("__meta_kubernetes_service_port_number", "30900"),
                ("__meta_kubernetes_service_port_protocol", "TCP"),
                ("__meta_kubernetes_namespace_label_service", "web"),
                ("__meta_kubernetes_namespace_labelpresent_service", "true"),
                ("__meta_kubernetes_namespace_annotation_team", "a"),
                ("__meta_kubernetes_namespace_annotationpresent_team", "true"),
            ],
        );
        assert_eq!(got, vec![want]);
    }
}
