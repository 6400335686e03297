//! Ours, beyond Prometheus: a task's exporter containers as targets. A container
//! whose definition carries the port docker label (`PROMETHEUS_EXPORTER_PORT` by
//! default, the community's ECS discovery convention) is one target:
//!
//! - awsvpc tasks (Fargate, or EC2 with awsvpc): at the task's ENI address and the
//!   labelled container port;
//! - bridge and host tasks: at the host's address and the host port ECS bound to that
//!   container port (`networkBindings`, dynamic ports included);
//!
//! with the path and scheme labels as `__metrics_path__` / `__scheme__`, the job label
//! as `job`, and the container's name, image, port and every docker label as meta
//! labels, next to the task's `__meta_ecs_*` ones. A container whose label is not a
//! port, or whose port is not bound, is skipped and reported with the reason.

use aws_sdk_ecs::types::{Task, TaskDefinition};
use kubernetes_sd::labels::sanitize_label_name;
use kubernetes_sd::Target;

use super::ecs::{join_host_port, TaskNetwork};
use crate::config::ContainerTargets;

/// The containers' targets, and the containers skipped with why.
#[derive(Debug, Default)]
pub struct Built {
    /// One per exporter container.
    pub targets: Vec<Target>,
    /// `task T container C: why`.
    pub skipped: Vec<String>,
}

/// The targets of `task`'s exporter containers, each starting from the task's
/// `labels`.
pub fn container_targets(
    task: &Task,
    definition: &TaskDefinition,
    labels: &Target,
    network: &TaskNetwork,
    convention: &ContainerTargets,
) -> Built {
    let mut built = Built::default();
    let task_arn = task.task_arn().unwrap_or("?");
    for container in definition.container_definitions() {
        let name = container.name().unwrap_or("");
        let Some(docker_labels) = container.docker_labels() else {
            continue;
        };
        let Some(port_text) = docker_labels.get(&convention.port_label) else {
            continue;
        };
        let skip = |why: String| format!("task {task_arn} container {name}: {why}");
        let Ok(port) = port_text.trim().parse::<u16>() else {
            built.skipped.push(skip(format!(
                "{} {port_text:?} is not a port",
                convention.port_label
            )));
            continue;
        };
        let target_port = if network.mode == "awsvpc" {
            Some(port)
        } else {
            host_port(task, name, port)
        };
        let Some(target_port) = target_port.filter(|p| *p != 0) else {
            built.skipped.push(skip(format!(
                "no host port is bound to container port {port} (networkBindings)"
            )));
            continue;
        };
        let scheme = docker_labels.get(&convention.scheme_label);
        if let Some(scheme) = scheme {
            if scheme != "http" && scheme != "https" {
                built.skipped.push(skip(format!(
                    "{} {scheme:?} is not http or https",
                    convention.scheme_label
                )));
                continue;
            }
        }
        let mut target = labels.clone();
        target.insert("__meta_ecs_container_name".into(), name.to_string());
        target.insert(
            "__meta_ecs_container_image".into(),
            container.image().unwrap_or("").to_string(),
        );
        target.insert("__meta_ecs_container_port".into(), port.to_string());
        for (key, value) in docker_labels {
            target.insert(
                format!("__meta_ecs_container_label_{}", sanitize_label_name(key)),
                value.clone(),
            );
        }
        if let Some(path) = docker_labels.get(&convention.path_label) {
            target.insert("__metrics_path__".into(), path.clone());
        }
        if let Some(scheme) = scheme {
            target.insert("__scheme__".into(), scheme.clone());
        }
        if let Some(job) = docker_labels
            .get(&convention.job_label)
            .filter(|j| !j.is_empty())
        {
            target.insert("job".into(), job.clone());
        }
        target.insert(
            "__address__".into(),
            join_host_port(&network.ip, target_port),
        );
        built.targets.push(target);
    }
    built
}

/// The host port ECS bound to `container_port` of container `name`.
fn host_port(task: &Task, name: &str, container_port: u16) -> Option<u16> {
    task.containers()
        .iter()
        .filter(|c| c.name() == Some(name))
        .flat_map(|c| c.network_bindings())
        .find(|b| b.container_port().and_then(|p| u16::try_from(p).ok()) == Some(container_port))
        .and_then(|b| b.host_port())
        .and_then(|p| u16::try_from(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, ContainerDefinition, NetworkBinding};
    use std::collections::HashMap;

    fn definition(containers: &[(&str, &[(&str, &str)])]) -> TaskDefinition {
        let mut builder = TaskDefinition::builder();
        for (name, labels) in containers {
            let labels: HashMap<String, String> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            builder = builder.container_definitions(
                ContainerDefinition::builder()
                    .name(*name)
                    .image(format!("{name}:1"))
                    .set_docker_labels((!labels.is_empty()).then_some(labels))
                    .build(),
            );
        }
        builder.build()
    }

    fn task_labels() -> Target {
        Target::from([("__meta_ecs_cluster".to_string(), "prod".to_string())])
    }

    #[test]
    fn awsvpc_containers_are_reached_at_the_task_ip_and_their_labelled_port() {
        let task = Task::builder().task_arn("t1").build();
        let definition = definition(&[
            ("app", &[("PROMETHEUS_EXPORTER_PORT", "8080")]),
            (
                "envoy",
                &[
                    ("PROMETHEUS_EXPORTER_PORT", "9901"),
                    ("PROMETHEUS_EXPORTER_PATH", "/stats/prometheus"),
                    ("PROMETHEUS_EXPORTER_JOB_NAME", "envoy"),
                    ("team.name", "shop"),
                ],
            ),
            ("sidecar", &[]),
        ]);
        let network = TaskNetwork {
            mode: "awsvpc",
            ip: "10.0.0.5".into(),
        };
        let built = container_targets(
            &task,
            &definition,
            &task_labels(),
            &network,
            &ContainerTargets::default(),
        );
        assert!(built.skipped.is_empty(), "{:?}", built.skipped);
        assert_eq!(built.targets.len(), 2);
        let app = &built.targets[0];
        assert_eq!(app["__address__"], "10.0.0.5:8080");
        assert_eq!(app["__meta_ecs_cluster"], "prod");
        assert_eq!(app["__meta_ecs_container_name"], "app");
        assert_eq!(app["__meta_ecs_container_image"], "app:1");
        assert!(!app.contains_key("__metrics_path__"));
        assert!(!app.contains_key("job"));
        let envoy = &built.targets[1];
        assert_eq!(envoy["__address__"], "10.0.0.5:9901");
        assert_eq!(envoy["__metrics_path__"], "/stats/prometheus");
        assert_eq!(envoy["job"], "envoy");
        assert_eq!(envoy["__meta_ecs_container_label_team_name"], "shop");
        assert_eq!(envoy["__meta_ecs_container_port"], "9901");
    }

    #[test]
    fn bridge_containers_use_the_bound_host_port_and_unbound_ones_are_reported() {
        let task = Task::builder()
            .task_arn("t2")
            .containers(
                Container::builder()
                    .name("node")
                    .network_bindings(
                        NetworkBinding::builder()
                            .container_port(9100)
                            .host_port(32768)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let definition = definition(&[
            ("node", &[("PROMETHEUS_EXPORTER_PORT", "9100")]),
            ("lost", &[("PROMETHEUS_EXPORTER_PORT", "9200")]),
            ("bad", &[("PROMETHEUS_EXPORTER_PORT", "http")]),
            (
                "odd",
                &[
                    ("PROMETHEUS_EXPORTER_PORT", "9100"),
                    ("PROMETHEUS_EXPORTER_SCHEME", "ftp"),
                ],
            ),
        ]);
        let network = TaskNetwork {
            mode: "bridge",
            ip: "10.0.9.9".into(),
        };
        let built = container_targets(
            &task,
            &definition,
            &task_labels(),
            &network,
            &ContainerTargets::default(),
        );
        assert_eq!(built.targets.len(), 1);
        assert_eq!(built.targets[0]["__address__"], "10.0.9.9:32768");
        assert_eq!(built.skipped.len(), 3, "{:?}", built.skipped);
        assert!(built.skipped[0]
            .contains("container lost: no host port is bound to container port 9200"));
        assert!(built.skipped[1].contains("\"http\" is not a port"));
        assert!(
            built.skipped[2].contains("container odd"),
            "{:?}",
            built.skipped
        );
    }
}
