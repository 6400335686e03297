//! `role: pod`: one target per declared container port, one port-less target per
//! container without ports.
//!
//! Edge cases follow Prometheus' `discovery/kubernetes/pod.go` (`buildPod`, `podLabels`):
//!
//! - A pod without `status.podIP` (starting, or evicted) gives no targets at all.
//! - With `attach_metadata.node`, a pod whose node is not in the [`Lookup`] gives no
//!   targets (Prometheus drops pods on nodes its node selectors filtered out); otherwise
//!   the node's name, labels and annotations are added.
//! - Containers come first, then init containers (`__meta_kubernetes_pod_container_init`
//!   `true`); ephemeral containers are not targets. A container without ports gives one
//!   target whose `__address__` is the bare pod IP.
//! - `__meta_kubernetes_pod_container_id` comes from the container status of the same
//!   name (init statuses for init containers), empty when there is none.
//! - `__meta_kubernetes_pod_ready` is the `Ready` condition's status in lower case, or
//!   `unknown` without that condition (the docs only mention `true`/`false`).
//! - `__meta_kubernetes_pod_controller_kind`/`_name` come from the owner reference with
//!   `controller: true`, each only when non-empty; `_deployment_name`, `_job_name` and
//!   `_cronjob_name` follow the matching `attach_metadata` switches.

use k8s_openapi::api::core::v1::Pod;

use super::pod_info::PodInfo;
use super::{pod_labels, Lookup};
use crate::labels::{self, NAMESPACE};
use crate::target::{require_namespaced, ObjectError, Target};

/// The pod's targets (none while it has no IP). `lookup` supplies the node, namespace,
/// replica set and job the `attach_metadata` switches ask for.
pub fn targets(pod: &Pod, lookup: &Lookup) -> Result<Vec<Target>, ObjectError> {
    let (namespace, _) = require_namespaced("Pod", &pod.metadata)?;
    let info = PodInfo::new(pod);
    let Some(ip) = info.ip() else {
        return Ok(Vec::new());
    };
    let node_name = info.node_name.as_deref();
    if lookup.attach.node && node_name.and_then(|n| lookup.node(n)).is_none() {
        return Ok(Vec::new());
    }

    let mut group = pod_labels(&info, lookup);
    group.insert(NAMESPACE.to_owned(), namespace.to_owned());
    lookup.add_node_labels(&mut group, node_name);
    lookup.add_namespace_labels(&mut group, namespace);

    let mut targets = Vec::new();
    for container in &info.containers {
        let mut base = group.clone();
        base.insert(
            labels::meta("pod", "container_name"),
            container.name.clone(),
        );
        base.insert(labels::meta("pod", "container_id"), container.id.clone());
        base.insert(
            labels::meta("pod", "container_image"),
            container.image.clone(),
        );
        base.insert(
            labels::meta("pod", "container_init"),
            container.init.to_string(),
        );

        if container.ports.is_empty() {
            base.insert(labels::ADDRESS.to_owned(), ip.to_owned());
            targets.push(base);
            continue;
        }
        for port in &container.ports {
            let number = labels::uint_port(port.number);
            let mut target = base.clone();
            target.insert(
                labels::ADDRESS.to_owned(),
                labels::join_host_port(ip, &number),
            );
            target.insert(labels::meta("pod", "container_port_number"), number);
            target.insert(
                labels::meta("pod", "container_port_name"),
                port.name.clone().unwrap_or_default(),
            );
            target.insert(
                labels::meta("pod", "container_port_protocol"),
                port.protocol.clone().unwrap_or_default(),
            );
            targets.push(target);
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::{Namespace, Node};
    use serde_json::json;

    use super::*;
    use crate::roles::test_support::{labels, object, with};
    use crate::roles::AttachMetadata;
    use crate::target::Problem;

    /// Prometheus' `makeMultiPortPods`: two ports on one container, none on the other,
    /// labels, annotations and a controller.
    fn multi_port_pod() -> Pod {
        object(json!({
            "metadata": {
                "name": "testpod", "namespace": "default", "uid": "abc123",
                "labels": {"test/label": "testvalue"},
                "annotations": {"test/annotation": "testannotationvalue"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "testcontrollerkind", "name": "testcontrollername", "uid": "u1", "controller": true}],
            },
            "spec": {
                "nodeName": "testnode",
                "containers": [
                    {"name": "testcontainer0", "image": "testcontainer0:latest", "ports": [
                        {"name": "testport0", "protocol": "TCP", "containerPort": 9000},
                        {"name": "testport1", "protocol": "UDP", "containerPort": 9001},
                    ]},
                    {"name": "testcontainer1", "image": "testcontainer1:latest"},
                ],
            },
            "status": {
                "podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [
                    {"name": "testcontainer0", "containerID": "docker://a1b2c3d4e5f6", "image": "", "imageID": "", "ready": true, "restartCount": 0},
                    {"name": "testcontainer1", "containerID": "containerd://6f5e4d3c2b1a", "image": "", "imageID": "", "ready": true, "restartCount": 0},
                ],
            },
        }))
    }

    /// Prometheus' `makePods`: one container with one port, no labels.
    fn simple_pod(namespace: &str) -> Pod {
        object(json!({
            "metadata": {"name": "testpod", "namespace": namespace, "uid": "abc123"},
            "spec": {
                "nodeName": "testnode",
                "containers": [{"name": "testcontainer", "image": "testcontainer:latest", "ports": [
                    {"name": "testport", "protocol": "TCP", "containerPort": 9000},
                ]}],
            },
            "status": {
                "podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6", "image": "", "imageID": "", "ready": true, "restartCount": 0}],
            },
        }))
    }

    fn simple_pod_group(namespace: &str) -> Target {
        labels(&[
            ("__meta_kubernetes_pod_name", "testpod"),
            ("__meta_kubernetes_namespace", namespace),
            ("__meta_kubernetes_pod_node_name", "testnode"),
            ("__meta_kubernetes_pod_ip", "1.2.3.4"),
            ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
            ("__meta_kubernetes_pod_ready", "true"),
            ("__meta_kubernetes_pod_phase", "Running"),
            ("__meta_kubernetes_pod_uid", "abc123"),
        ])
    }

    fn simple_pod_target(group: &Target) -> Target {
        with(
            group,
            &[
                ("__address__", "1.2.3.4:9000"),
                ("__meta_kubernetes_pod_container_name", "testcontainer"),
                (
                    "__meta_kubernetes_pod_container_image",
                    "testcontainer:latest",
                ),
                ("__meta_kubernetes_pod_container_port_name", "testport"),
                ("__meta_kubernetes_pod_container_port_number", "9000"),
                ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                ("__meta_kubernetes_pod_container_init", "false"),
                (
                    "__meta_kubernetes_pod_container_id",
                    "docker://a1b2c3d4e5f6",
                ),
            ],
        )
    }

    fn off() -> Lookup {
        Lookup::default()
    }

    #[test]
    fn multi_port_pod_gives_one_target_per_port_and_a_portless_one() {
        let group = labels(&[
            ("__meta_kubernetes_pod_name", "testpod"),
            ("__meta_kubernetes_namespace", "default"),
            ("__meta_kubernetes_pod_label_test_label", "testvalue"),
            ("__meta_kubernetes_pod_labelpresent_test_label", "true"),
            (
                "__meta_kubernetes_pod_annotation_test_annotation",
                "testannotationvalue",
            ),
            (
                "__meta_kubernetes_pod_annotationpresent_test_annotation",
                "true",
            ),
            ("__meta_kubernetes_pod_node_name", "testnode"),
            ("__meta_kubernetes_pod_ip", "1.2.3.4"),
            ("__meta_kubernetes_pod_host_ip", "2.3.4.5"),
            ("__meta_kubernetes_pod_ready", "true"),
            ("__meta_kubernetes_pod_phase", "Running"),
            ("__meta_kubernetes_pod_uid", "abc123"),
            (
                "__meta_kubernetes_pod_controller_kind",
                "testcontrollerkind",
            ),
            (
                "__meta_kubernetes_pod_controller_name",
                "testcontrollername",
            ),
        ]);
        let want = vec![
            with(
                &group,
                &[
                    ("__address__", "1.2.3.4:9000"),
                    ("__meta_kubernetes_pod_container_name", "testcontainer0"),
                    (
                        "__meta_kubernetes_pod_container_image",
                        "testcontainer0:latest",
                    ),
                    ("__meta_kubernetes_pod_container_port_name", "testport0"),
                    ("__meta_kubernetes_pod_container_port_number", "9000"),
                    ("__meta_kubernetes_pod_container_port_protocol", "TCP"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    (
                        "__meta_kubernetes_pod_container_id",
                        "docker://a1b2c3d4e5f6",
                    ),
                ],
            ),
            with(
                &group,
                &[
                    ("__address__", "1.2.3.4:9001"),
                    ("__meta_kubernetes_pod_container_name", "testcontainer0"),
                    (
                        "__meta_kubernetes_pod_container_image",
                        "testcontainer0:latest",
                    ),
                    ("__meta_kubernetes_pod_container_port_name", "testport1"),
                    ("__meta_kubernetes_pod_container_port_number", "9001"),
                    ("__meta_kubernetes_pod_container_port_protocol", "UDP"),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    (
                        "__meta_kubernetes_pod_container_id",
                        "docker://a1b2c3d4e5f6",
                    ),
                ],
            ),
            with(
                &group,
                &[
                    ("__address__", "1.2.3.4"),
                    ("__meta_kubernetes_pod_container_name", "testcontainer1"),
                    (
                        "__meta_kubernetes_pod_container_image",
                        "testcontainer1:latest",
                    ),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    (
                        "__meta_kubernetes_pod_container_id",
                        "containerd://6f5e4d3c2b1a",
                    ),
                ],
            ),
        ];
        assert_eq!(targets(&multi_port_pod(), &off()).unwrap(), want);
    }

    #[test]
    fn simple_pod_in_any_namespace() {
        for ns in ["default", "ns1", "own-ns"] {
            let got = targets(&simple_pod(ns), &off()).unwrap();
            assert_eq!(got, vec![simple_pod_target(&simple_pod_group(ns))]);
        }
    }

    #[test]
    fn init_containers_follow_containers() {
        let pod: Pod = object(json!({
            "metadata": {"name": "testpod", "namespace": "default", "uid": "abc123"},
            "spec": {
                "nodeName": "testnode",
                "containers": [{"name": "testcontainer", "image": "testcontainer:latest", "ports": [
                    {"name": "testport", "protocol": "TCP", "containerPort": 9000},
                ]}],
                "initContainers": [{"name": "initcontainer", "image": "initcontainer:latest"}],
            },
            "status": {
                "podIP": "1.2.3.4", "hostIP": "2.3.4.5", "phase": "Pending",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6", "image": "", "imageID": "", "ready": true, "restartCount": 0}],
                "initContainerStatuses": [{"name": "initcontainer", "containerID": "containerd://6f5e4d3c2b1a", "image": "", "imageID": "", "ready": true, "restartCount": 0}],
            },
        }));
        let group = with(
            &simple_pod_group("default"),
            &[
                ("__meta_kubernetes_pod_phase", "Pending"),
                ("__meta_kubernetes_pod_ready", "false"),
            ],
        );
        let want = vec![
            simple_pod_target(&group),
            with(
                &group,
                &[
                    ("__address__", "1.2.3.4"),
                    ("__meta_kubernetes_pod_container_name", "initcontainer"),
                    (
                        "__meta_kubernetes_pod_container_image",
                        "initcontainer:latest",
                    ),
                    ("__meta_kubernetes_pod_container_init", "true"),
                    (
                        "__meta_kubernetes_pod_container_id",
                        "containerd://6f5e4d3c2b1a",
                    ),
                ],
            ),
        ];
        assert_eq!(targets(&pod, &off()).unwrap(), want);
    }

    #[test]
    fn pod_without_ip_gives_no_targets() {
        let mut pod = simple_pod("default");
        if let Some(status) = pod.status.as_mut() {
            status.pod_ip = Some(String::new());
        }
        assert_eq!(targets(&pod, &off()).unwrap(), Vec::<Target>::new());
        pod.status = None;
        assert_eq!(targets(&pod, &off()).unwrap(), Vec::<Target>::new());
    }

    #[test]
    fn node_metadata_is_attached_and_pods_on_unlisted_nodes_are_dropped() {
        let mut lookup = Lookup::new(AttachMetadata {
            node: true,
            ..AttachMetadata::default()
        });
        let node: Node = object(
            json!({"metadata": {"name": "testnode", "labels": {"l1": "v1"}, "annotations": {"a/b": "c"}}}),
        );
        lookup.insert_node(node).unwrap();
        let group = with(
            &simple_pod_group("default"),
            &[
                ("__meta_kubernetes_node_name", "testnode"),
                ("__meta_kubernetes_node_label_l1", "v1"),
                ("__meta_kubernetes_node_labelpresent_l1", "true"),
                ("__meta_kubernetes_node_annotation_a_b", "c"),
                ("__meta_kubernetes_node_annotationpresent_a_b", "true"),
            ],
        );
        assert_eq!(
            targets(&simple_pod("default"), &lookup).unwrap(),
            vec![simple_pod_target(&group)]
        );

        // Prometheus' TestPodDiscoveryWithNodeSelector: the filtered node is not listed.
        let mut elsewhere = simple_pod("default");
        if let Some(spec) = elsewhere.spec.as_mut() {
            spec.node_name = Some("filtered-node".into());
        }
        assert_eq!(targets(&elsewhere, &lookup).unwrap(), Vec::<Target>::new());
        if let Some(spec) = elsewhere.spec.as_mut() {
            spec.node_name = None;
        }
        assert_eq!(targets(&elsewhere, &lookup).unwrap(), Vec::<Target>::new());

        // Without the switch the listed node is ignored and no pod is dropped.
        let mut detached = lookup.clone();
        detached.attach = AttachMetadata::default();
        assert_eq!(targets(&simple_pod("default"), &detached).unwrap().len(), 1);
        assert_eq!(targets(&elsewhere, &detached).unwrap().len(), 1);
    }

    #[test]
    fn namespace_metadata_is_attached() {
        let mut lookup = Lookup::new(AttachMetadata {
            namespace: true,
            ..AttachMetadata::default()
        });
        let ns: Namespace = object(json!({"metadata": {
            "name": "test-ns",
            "labels": {"app": "web", "tier": "frontend"},
            "annotations": {"maintainer": "devops", "build": "v3.4.5"},
        }}));
        lookup.insert_namespace(ns).unwrap();
        let group = with(
            &simple_pod_group("test-ns"),
            &[
                (
                    "__meta_kubernetes_namespace_annotation_maintainer",
                    "devops",
                ),
                (
                    "__meta_kubernetes_namespace_annotationpresent_maintainer",
                    "true",
                ),
                ("__meta_kubernetes_namespace_annotation_build", "v3.4.5"),
                (
                    "__meta_kubernetes_namespace_annotationpresent_build",
                    "true",
                ),
                ("__meta_kubernetes_namespace_label_app", "web"),
                ("__meta_kubernetes_namespace_labelpresent_app", "true"),
                ("__meta_kubernetes_namespace_label_tier", "frontend"),
                ("__meta_kubernetes_namespace_labelpresent_tier", "true"),
            ],
        );
        assert_eq!(
            targets(&simple_pod("test-ns"), &lookup).unwrap(),
            vec![simple_pod_target(&group)]
        );
        // A namespace that is not listed adds nothing.
        assert_eq!(
            targets(&simple_pod("other"), &lookup).unwrap(),
            vec![simple_pod_target(&simple_pod_group("other"))]
        );
    }

    fn owned_pod(kind: &str, name: &str) -> Pod {
        let mut pod = simple_pod("default");
        pod.metadata.owner_references = Some(vec![
            object(
                json!({"apiVersion": "v1", "kind": "Other", "name": "not-the-controller", "uid": "u0"}),
            ),
            object(
                json!({"apiVersion": "v1", "kind": kind, "name": name, "uid": "u1", "controller": true}),
            ),
        ]);
        pod
    }

    fn owned_by(kind: &str, name: &str) -> serde_json::Value {
        json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u2", "controller": true}])
    }

    #[test]
    fn deployment_name_needs_the_switch_and_the_replica_set() {
        let pod = owned_pod("ReplicaSet", "testdeployment-rs-abc");
        let rs: ReplicaSet = object(json!({"metadata": {
            "name": "testdeployment-rs-abc", "namespace": "default",
            "ownerReferences": owned_by("Deployment", "testdeployment"),
        }}));
        let controller = with(
            &simple_pod_group("default"),
            &[
                ("__meta_kubernetes_pod_controller_kind", "ReplicaSet"),
                (
                    "__meta_kubernetes_pod_controller_name",
                    "testdeployment-rs-abc",
                ),
            ],
        );
        let mut lookup = Lookup::new(AttachMetadata {
            deployment: true,
            ..AttachMetadata::default()
        });
        assert_eq!(
            targets(&pod, &lookup).unwrap(),
            vec![simple_pod_target(&controller)]
        );
        lookup.insert_replica_set(rs).unwrap();
        let group = with(
            &controller,
            &[("__meta_kubernetes_pod_deployment_name", "testdeployment")],
        );
        assert_eq!(
            targets(&pod, &lookup).unwrap(),
            vec![simple_pod_target(&group)]
        );
        lookup.attach.deployment = false;
        assert_eq!(
            targets(&pod, &lookup).unwrap(),
            vec![simple_pod_target(&controller)]
        );
    }

    #[test]
    fn job_and_cronjob_names() {
        let pod = owned_pod("Job", "testcronjob-job-abc");
        let job: Job = object(json!({"metadata": {
            "name": "testcronjob-job-abc", "namespace": "default",
            "ownerReferences": owned_by("CronJob", "testcronjob"),
        }}));
        let controller = with(
            &simple_pod_group("default"),
            &[
                ("__meta_kubernetes_pod_controller_kind", "Job"),
                (
                    "__meta_kubernetes_pod_controller_name",
                    "testcronjob-job-abc",
                ),
            ],
        );
        let job_name = [("__meta_kubernetes_pod_job_name", "testcronjob-job-abc")];
        let cron_name = [("__meta_kubernetes_pod_cronjob_name", "testcronjob")];

        // `job` alone names the job, without listing jobs.
        let lookup = Lookup::new(AttachMetadata {
            job: true,
            ..AttachMetadata::default()
        });
        assert_eq!(
            targets(&pod, &lookup).unwrap(),
            vec![simple_pod_target(&with(&controller, &job_name))]
        );

        let mut lookup = Lookup::new(AttachMetadata {
            cronjob: true,
            ..AttachMetadata::default()
        });
        lookup.insert_job(job).unwrap();
        assert_eq!(
            targets(&pod, &lookup).unwrap(),
            vec![simple_pod_target(&with(&controller, &cron_name))]
        );

        lookup.attach.job = true;
        let both = with(&with(&controller, &job_name), &cron_name);
        assert_eq!(
            targets(&pod, &lookup).unwrap(),
            vec![simple_pod_target(&both)]
        );

        // A job without a CronJob controller gives no cronjob name.
        let plain = owned_pod("Job", "testjob");
        let want = with(
            &controller,
            &[
                ("__meta_kubernetes_pod_controller_name", "testjob"),
                ("__meta_kubernetes_pod_job_name", "testjob"),
            ],
        );
        assert_eq!(
            targets(&plain, &lookup).unwrap(),
            vec![simple_pod_target(&want)]
        );
    }

    #[test]
    fn controller_with_empty_kind_or_name_sets_only_the_other() {
        let pod = owned_pod("", "orphan");
        let got = targets(&pod, &off()).unwrap();
        assert_eq!(
            got[0]
                .get("__meta_kubernetes_pod_controller_name")
                .map(String::as_str),
            Some("orphan")
        );
        assert!(!got[0].contains_key("__meta_kubernetes_pod_controller_kind"));
    }

    #[test]
    fn sparse_pod_gives_empty_labels_not_panics() {
        let pod: Pod = object(json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}, {"name": "d", "ports": []}]},
            "status": {"podIP": "fd00::9"},
        }));
        let group = labels(&[
            ("__meta_kubernetes_pod_name", "p"),
            ("__meta_kubernetes_namespace", "n"),
            ("__meta_kubernetes_pod_node_name", ""),
            ("__meta_kubernetes_pod_ip", "fd00::9"),
            ("__meta_kubernetes_pod_host_ip", ""),
            ("__meta_kubernetes_pod_ready", "unknown"),
            ("__meta_kubernetes_pod_phase", ""),
            ("__meta_kubernetes_pod_uid", ""),
        ]);
        let container = |name: &str| {
            with(
                &group,
                &[
                    ("__meta_kubernetes_pod_container_name", name),
                    ("__meta_kubernetes_pod_container_image", ""),
                    ("__meta_kubernetes_pod_container_init", "false"),
                    ("__meta_kubernetes_pod_container_id", ""),
                ],
            )
        };
        let want = vec![
            with(
                &container("c"),
                &[
                    ("__address__", "[fd00::9]:8080"),
                    ("__meta_kubernetes_pod_container_port_name", ""),
                    ("__meta_kubernetes_pod_container_port_number", "8080"),
                    ("__meta_kubernetes_pod_container_port_protocol", ""),
                ],
            ),
            with(&container("d"), &[("__address__", "fd00::9")]),
        ];
        assert_eq!(targets(&pod, &off()).unwrap(), want);

        // No spec at all: the pod has an IP but nothing to scrape.
        let bare: Pod = object(
            json!({"metadata": {"name": "p", "namespace": "n"}, "status": {"podIP": "10.0.0.1"}}),
        );
        assert_eq!(targets(&bare, &off()).unwrap(), Vec::<Target>::new());
    }

    #[test]
    fn pods_without_name_or_namespace_are_errors() {
        let mut pod = simple_pod("default");
        pod.metadata.namespace = None;
        assert_eq!(
            targets(&pod, &off()).unwrap_err().problem,
            Problem::MissingNamespace
        );
        assert_eq!(
            targets(&Pod::default(), &off()).unwrap_err().problem,
            Problem::MissingName
        );
    }
}
