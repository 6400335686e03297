//! What the roles read of a pod, and nothing more. The endpoints roles join every pod
//! of the cluster, so the [`Lookup`](super::Lookup) holds all of them at once: as
//! decoded `k8s_openapi` objects that is about 21 KB a pod (a `Container` alone is
//! 2.1 KB of mostly empty fields), 210 MB for 10,000 pods. This summary keeps only the
//! fields Prometheus' `podLabels` and the container port labels use, about 1 KB a pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use super::controller_of;
use crate::labels::go_lowercase;
use crate::target::non_empty;

/// A pod, reduced to what becomes its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    /// `metadata.namespace` (empty when absent).
    pub namespace: String,
    /// `metadata.name` (empty when absent).
    pub name: String,
    /// `metadata.uid` (empty when absent).
    pub uid: String,
    /// `status.podIP` as written (empty when absent).
    pub pod_ip: String,
    /// `status.hostIP` as written.
    pub host_ip: String,
    /// `status.phase` as written.
    pub phase: String,
    /// The `Ready` condition's status in lower case, `unknown` without one.
    pub ready: String,
    /// `spec.nodeName`.
    pub node_name: Option<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// Kind and name of the owner reference with `controller: true`.
    pub controller: Option<(String, String)>,
    /// Containers, then init containers (Prometheus' order; ephemeral ones are not used).
    pub containers: Vec<ContainerInfo>,
}

/// A container, reduced to what becomes its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Its name.
    pub name: String,
    /// Its image (empty when absent).
    pub image: String,
    /// The `containerID` of the status of the same name (init statuses for init
    /// containers), empty when there is none.
    pub id: String,
    /// Whether it is an init container.
    pub init: bool,
    /// Its declared ports.
    pub ports: Vec<PortInfo>,
}

/// A declared container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// `name`.
    pub name: Option<String>,
    /// `containerPort`.
    pub number: i32,
    /// `protocol`.
    pub protocol: Option<String>,
}

impl PodInfo {
    /// The summary of `pod`.
    pub fn new(pod: &Pod) -> PodInfo {
        let meta = &pod.metadata;
        let status = pod.status.as_ref();
        let spec = pod.spec.as_ref();
        let text = |value: Option<&String>| value.cloned().unwrap_or_default();
        let ready = status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .find(|c| c.type_ == "Ready")
            .map_or_else(|| "unknown".to_owned(), |c| go_lowercase(&c.status));
        let regular = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        let init = status
            .and_then(|s| s.init_container_statuses.as_deref())
            .unwrap_or_default();
        let mut containers = Vec::new();
        if let Some(spec) = spec {
            for container in &spec.containers {
                containers.push(ContainerInfo::new(container, false, regular));
            }
            for container in spec.init_containers.as_deref().unwrap_or_default() {
                containers.push(ContainerInfo::new(container, true, init));
            }
        }
        PodInfo {
            namespace: text(meta.namespace.as_ref()),
            name: text(meta.name.as_ref()),
            uid: text(meta.uid.as_ref()),
            pod_ip: text(status.and_then(|s| s.pod_ip.as_ref())),
            host_ip: text(status.and_then(|s| s.host_ip.as_ref())),
            phase: text(status.and_then(|s| s.phase.as_ref())),
            ready,
            node_name: spec.and_then(|s| s.node_name.clone()),
            labels: meta.labels.clone().unwrap_or_default(),
            annotations: meta.annotations.clone().unwrap_or_default(),
            controller: controller_of(meta).map(|c| (c.kind.clone(), c.name.clone())),
            containers,
        }
    }

    /// The pod's IP, when it has one (none while starting or once evicted).
    pub fn ip(&self) -> Option<&str> {
        non_empty(Some(self.pod_ip.as_str()))
    }
}

impl ContainerInfo {
    fn new(container: &Container, init: bool, statuses: &[ContainerStatus]) -> ContainerInfo {
        ContainerInfo {
            name: container.name.clone(),
            image: container.image.clone().unwrap_or_default(),
            id: statuses
                .iter()
                .find(|s| s.name == container.name)
                .and_then(|s| s.container_id.clone())
                .unwrap_or_default(),
            init,
            ports: container
                .ports
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|p| PortInfo {
                    name: p.name.clone(),
                    number: p.container_port,
                    protocol: p.protocol.clone(),
                })
                .collect(),
        }
    }
}
