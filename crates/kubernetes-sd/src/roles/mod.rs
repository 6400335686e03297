//! One module per `kubernetes_sd_configs` role, each turning one object into its targets,
//! and the [`Lookup`] of the other objects listed in the same run that some roles join.
//!
//! | role            | function                                   | needs from [`Lookup`]                    |
//! |-----------------|--------------------------------------------|------------------------------------------|
//! | `node`          | [`node::targets`]                          | nothing                                  |
//! | `pod`           | [`pod::targets`]                           | nodes, namespaces, replica sets, jobs (1)|
//! | `service`       | [`service::targets`]                       | namespaces (1)                           |
//! | `endpoints`     | [`endpoints::targets`]                     | pods, services; the rest as for pod (1)  |
//! | `endpointslice` | [`endpointslice::targets`]                 | pods, services; the rest as for pod (1)  |
//! | `ingress`       | [`ingress::targets`]                       | namespaces (1)                           |
//!
//! (1) Only what [`AttachMetadata`] turns on: nodes for `node`, namespaces for
//! `namespace`, replica sets for `deployment`, jobs for `cronjob` (`job` needs none).

pub mod endpoints;
pub mod endpointslice;
pub mod ingress;
pub mod node;
pub mod pod;
pub mod pod_info;
pub mod service;

use std::collections::HashMap;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Node, ObjectReference, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::labels::{self, add_label_maps, add_labels_and_annotations, add_object_meta};
use crate::target::{require_name, require_namespaced, ObjectError, Target};
use pod_info::{ContainerInfo, PodInfo};

/// Prometheus' `attach_metadata` block: which extra objects' metadata to attach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachMetadata {
    /// `node`: the node's name, labels and annotations on pod, endpoints and
    /// endpointslice targets. For the pod role it also drops pods whose node is not in
    /// the [`Lookup`] (Prometheus' node selectors work that way).
    pub node: bool,
    /// `namespace`: the namespace's labels and annotations on every namespaced role.
    pub namespace: bool,
    /// `deployment`: `__meta_kubernetes_pod_deployment_name` via the pod's ReplicaSet.
    pub deployment: bool,
    /// `job`: `__meta_kubernetes_pod_job_name` for pods controlled by a Job.
    pub job: bool,
    /// `cronjob`: `__meta_kubernetes_pod_cronjob_name` via the pod's Job.
    pub cronjob: bool,
}

/// The objects listed in the same discovery run that a role joins with the one it is
/// building targets for, plus the `attach_metadata` switches.
///
/// Build it from the LIST results: [`Lookup::new`] then the `insert_*` methods (each
/// refuses an object without a name, or without a namespace for namespaced kinds, so
/// the caller can count it). Which objects each role needs: see the [module docs](self).
/// Objects of a kind the configuration does not use can simply be left out.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    attach: AttachMetadata,
    pods: Namespaced<PodInfo>,
    services: Namespaced<Service>,
    replica_sets: Namespaced<ReplicaSet>,
    jobs: Namespaced<Job>,
    nodes: HashMap<String, Node>,
    namespaces: HashMap<String, Namespace>,
}

/// Objects by namespace, then name (looked up by `&str` without allocating).
type Namespaced<T> = HashMap<String, HashMap<String, T>>;

fn insert_namespaced<T>(
    map: &mut Namespaced<T>,
    kind: &'static str,
    object: T,
    meta: impl Fn(&T) -> &ObjectMeta,
) -> Result<(), ObjectError> {
    let (namespace, name) = require_namespaced(kind, meta(&object))?;
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    map.entry(namespace).or_default().insert(name, object);
    Ok(())
}

fn get_namespaced<'a, T>(map: &'a Namespaced<T>, namespace: &str, name: &str) -> Option<&'a T> {
    map.get(namespace).and_then(|names| names.get(name))
}

impl Lookup {
    /// An empty lookup with the given `attach_metadata` switches.
    pub fn new(attach: AttachMetadata) -> Self {
        Self {
            attach,
            ..Self::default()
        }
    }

    /// The `attach_metadata` switches.
    pub fn attach(&self) -> AttachMetadata {
        self.attach
    }

    /// Adds a pod (the endpoints roles join the pods their addresses reference), kept
    /// as its [`PodInfo`]: every pod of a cluster may be held at once.
    pub fn insert_pod(&mut self, pod: Pod) -> Result<(), ObjectError> {
        let (namespace, name) = require_namespaced("Pod", &pod.metadata)?;
        let (namespace, name) = (namespace.to_owned(), name.to_owned());
        let info = PodInfo::new(&pod);
        self.pods.entry(namespace).or_default().insert(name, info);
        Ok(())
    }

    /// Adds a service (the endpoints roles join the service of the same name, the
    /// endpointslice role the one named by its `kubernetes.io/service-name` label).
    pub fn insert_service(&mut self, service: Service) -> Result<(), ObjectError> {
        insert_namespaced(&mut self.services, "Service", service, |s| &s.metadata)
    }

    /// Adds a node (for `attach_metadata.node`).
    pub fn insert_node(&mut self, node: Node) -> Result<(), ObjectError> {
        let name = require_name("Node", &node.metadata)?.to_owned();
        self.nodes.insert(name, node);
        Ok(())
    }

    /// Adds a namespace (for `attach_metadata.namespace`).
    pub fn insert_namespace(&mut self, namespace: Namespace) -> Result<(), ObjectError> {
        let name = require_name("Namespace", &namespace.metadata)?.to_owned();
        self.namespaces.insert(name, namespace);
        Ok(())
    }

    /// Adds a replica set (for `attach_metadata.deployment`).
    pub fn insert_replica_set(&mut self, replica_set: ReplicaSet) -> Result<(), ObjectError> {
        insert_namespaced(&mut self.replica_sets, "ReplicaSet", replica_set, |r| {
            &r.metadata
        })
    }

    /// Adds a job (for `attach_metadata.cronjob`).
    pub fn insert_job(&mut self, job: Job) -> Result<(), ObjectError> {
        insert_namespaced(&mut self.jobs, "Job", job, |j| &j.metadata)
    }

    /// The pod `namespace/name`, if listed.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodInfo> {
        get_namespaced(&self.pods, namespace, name)
    }

    /// The service `namespace/name`, if listed.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        get_namespaced(&self.services, namespace, name)
    }

    /// The node `name`, if listed.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The namespace `name`, if listed.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    /// The replica set `namespace/name`, if listed.
    pub fn replica_set(&self, namespace: &str, name: &str) -> Option<&ReplicaSet> {
        get_namespaced(&self.replica_sets, namespace, name)
    }

    /// The job `namespace/name`, if listed.
    pub fn job(&self, namespace: &str, name: &str) -> Option<&Job> {
        get_namespaced(&self.jobs, namespace, name)
    }

    /// With `attach_metadata.node`, the node's name, labels and annotations
    /// (Prometheus' `addNodeLabels`: only when the node is listed).
    fn add_node_labels(&self, target: &mut Target, node_name: Option<&str>) {
        if !self.attach.node {
            return;
        }
        if let Some(node) = node_name.and_then(|name| self.node(name)) {
            add_object_meta(target, "node", &node.metadata);
        }
    }

    /// With `attach_metadata.namespace`, the namespace's labels and annotations
    /// (Prometheus' `addNamespaceLabels`; its name is `__meta_kubernetes_namespace` already).
    fn add_namespace_labels(&self, target: &mut Target, namespace: &str) {
        if !self.attach.namespace {
            return;
        }
        if let Some(ns) = self.namespace(namespace) {
            add_labels_and_annotations(target, "namespace", &ns.metadata);
        }
    }

    /// The pod an endpoint address references (`targetRef` of kind `Pod`), if listed.
    fn referenced_pod(&self, reference: Option<&ObjectReference>) -> Option<&PodInfo> {
        let reference = reference?;
        if reference.kind.as_deref() != Some("Pod") {
            return None;
        }
        self.pod(
            reference.namespace.as_deref().unwrap_or_default(),
            reference.name.as_deref().unwrap_or_default(),
        )
    }
}

/// The first owner reference with `controller: true` (apimachinery's `GetControllerOf`).
fn controller_of(metadata: &ObjectMeta) -> Option<&OwnerReference> {
    metadata
        .owner_references
        .as_deref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The labels Prometheus' `podLabels` gives a pod: shared by the pod role's group and
/// every pod-backed target of the endpoints roles.
fn pod_labels(pod: &PodInfo, lookup: &Lookup) -> Target {
    let mut labels = Target::new();
    labels.insert(labels::meta("pod", "ip"), pod.pod_ip.clone());
    labels.insert(labels::meta("pod", "ready"), pod.ready.clone());
    labels.insert(labels::meta("pod", "phase"), pod.phase.clone());
    labels.insert(
        labels::meta("pod", "node_name"),
        pod.node_name.clone().unwrap_or_default(),
    );
    labels.insert(labels::meta("pod", "host_ip"), pod.host_ip.clone());
    labels.insert(labels::meta("pod", "uid"), pod.uid.clone());
    labels.insert(labels::meta("pod", "name"), pod.name.clone());
    add_label_maps(&mut labels, "pod", &pod.labels, &pod.annotations);

    let Some((kind, name)) = &pod.controller else {
        return labels;
    };
    if !kind.is_empty() {
        labels.insert(labels::meta("pod", "controller_kind"), kind.clone());
    }
    if !name.is_empty() {
        labels.insert(labels::meta("pod", "controller_name"), name.clone());
    }
    let namespace = pod.namespace.as_str();
    let attach = lookup.attach;
    match kind.as_str() {
        "ReplicaSet" if attach.deployment => {
            let owner = lookup
                .replica_set(namespace, name)
                .and_then(|rs| controller_of(&rs.metadata));
            if let Some(owner) = owner.filter(|o| o.kind == "Deployment") {
                labels.insert(labels::meta("pod", "deployment_name"), owner.name.clone());
            }
        }
        "Job" => {
            if attach.job {
                labels.insert(labels::meta("pod", "job_name"), name.clone());
            }
            if attach.cronjob {
                let owner = lookup
                    .job(namespace, name)
                    .and_then(|job| controller_of(&job.metadata));
                if let Some(owner) = owner.filter(|o| o.kind == "CronJob") {
                    labels.insert(labels::meta("pod", "cronjob_name"), owner.name.clone());
                }
            }
        }
        _ => {}
    }
    labels
}

/// The container labels the endpoints roles set on a target; `protocol` is the
/// protocol each role chooses (the endpoint port's or the container port's).
fn container_port_labels(
    target: &mut Target,
    container: &ContainerInfo,
    port_name: Option<&String>,
    number: &str,
    protocol: Option<&String>,
) {
    target.insert(
        labels::meta("pod", "container_name"),
        container.name.clone(),
    );
    target.insert(
        labels::meta("pod", "container_image"),
        container.image.clone(),
    );
    target.insert(
        labels::meta("pod", "container_port_name"),
        port_name.cloned().unwrap_or_default(),
    );
    target.insert(
        labels::meta("pod", "container_port_number"),
        number.to_owned(),
    );
    target.insert(
        labels::meta("pod", "container_port_protocol"),
        protocol.cloned().unwrap_or_default(),
    );
    target.insert(
        labels::meta("pod", "container_init"),
        container.init.to_string(),
    );
}

/// What the endpoints roles remember of a pod-backed endpoint: its labels (built once,
/// however many addresses and ports reference it) and the ports endpoint ports covered,
/// to add the targets of the pod's container ports that none covered (in first-seen
/// order; Prometheus walks a Go map, so its order varies).
#[derive(Default)]
struct SeenPods<'a> {
    pods: Vec<SeenPod<'a>>,
}

struct SeenPod<'a> {
    pod: &'a PodInfo,
    labels: Target,
    ports: Vec<i32>,
}

impl<'a> SeenPods<'a> {
    /// Notes that an endpoint `port` (if any) of `pod` was covered; the pod's labels.
    fn record(&mut self, pod: &'a PodInfo, port: Option<i32>, lookup: &Lookup) -> &Target {
        let position = self
            .pods
            .iter()
            .position(|seen| seen.pod.namespace == pod.namespace && seen.pod.name == pod.name);
        let index = position.unwrap_or_else(|| {
            self.pods.push(SeenPod {
                pod,
                labels: pod_labels(pod, lookup),
                ports: Vec::new(),
            });
            self.pods.len() - 1
        });
        let seen = &mut self.pods[index];
        if let Some(port) = port {
            seen.ports.push(port);
        }
        &seen.labels
    }

    /// Targets for every container port of the seen pods that no endpoint port matched:
    /// `<pod IP>:<port>` with the container labels and the pod's labels (no endpoint
    /// labels). Pods without an IP give none.
    fn extra_targets(&self, group: &Target) -> Vec<Target> {
        let mut targets = Vec::new();
        for seen in &self.pods {
            let Some(ip) = seen.pod.ip() else { continue };
            for container in &seen.pod.containers {
                for cport in &container.ports {
                    if seen.ports.contains(&cport.number) {
                        continue;
                    }
                    let number = labels::uint_port(cport.number);
                    let mut target = group.clone();
                    target.insert(
                        labels::ADDRESS.to_owned(),
                        labels::join_host_port(ip, &number),
                    );
                    container_port_labels(
                        &mut target,
                        container,
                        cport.name.as_ref(),
                        &number,
                        cport.protocol.as_ref(),
                    );
                    labels::merge(&mut target, &seen.labels);
                    targets.push(target);
                }
            }
        }
        targets
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the role tests: objects from JSON, label sets from pairs.

    use serde::de::DeserializeOwned;

    use crate::target::Target;

    /// A Kubernetes object from its JSON form (as the API returns it).
    pub fn object<T: DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    /// A label set from `(name, value)` pairs.
    pub fn labels(pairs: &[(&str, &str)]) -> Target {
        let target: Target = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(
            target.len(),
            pairs.len(),
            "duplicate label name in {pairs:?}"
        );
        target
    }

    /// `base` with `extra` added (overriding).
    pub fn with(base: &Target, extra: &[(&str, &str)]) -> Target {
        let mut target = base.clone();
        for (k, v) in extra {
            target.insert((*k).to_owned(), (*v).to_owned());
        }
        target
    }

    /// The pod container labels an endpoints-role target carries (image
    /// `<name>:latest`, protocol TCP).
    pub fn container(
        name: &str,
        port_name: &str,
        number: &str,
        init: &str,
    ) -> [(&'static str, String); 6] {
        [
            ("__meta_kubernetes_pod_container_name", name.to_owned()),
            (
                "__meta_kubernetes_pod_container_image",
                format!("{name}:latest"),
            ),
            (
                "__meta_kubernetes_pod_container_port_name",
                port_name.to_owned(),
            ),
            (
                "__meta_kubernetes_pod_container_port_number",
                number.to_owned(),
            ),
            (
                "__meta_kubernetes_pod_container_port_protocol",
                "TCP".to_owned(),
            ),
            ("__meta_kubernetes_pod_container_init", init.to_owned()),
        ]
    }

    /// [`with`] for owned values.
    pub fn with_owned(base: &Target, extra: &[(&'static str, String)]) -> Target {
        let pairs: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with(base, &pairs)
    }
}
