//! ECS tasks as targets (`aws_sd_configs` with `role: ecs`), with Prometheus'
//! `__meta_ecs_*` labels, read in as few calls as the API allows:
//!
//! - clusters: the entry's (names or ARNs) or ListClusters, then DescribeClusters
//!   (100 per call, with tags);
//! - per cluster: ListTasks (desired status RUNNING, every page), DescribeTasks (100
//!   per call, with tags), DescribeServices (10 per call, with tags) for the services
//!   the tasks' `service:<name>` groups name, so no ListServices is needed;
//! - the hosts: DescribeContainerInstances (100 per call) for tasks on EC2 container
//!   instances, ec2:DescribeInstances and ec2:DescribeNetworkInterfaces (for public
//!   IPs) for the instances and task ENIs found;
//! - with `container_targets`: DescribeTaskDefinition once per task definition.
//!
//! Any failed call fails the entry (its targets are rolled back and the error is
//! reported); the job's other targets still scrape.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_ecs::types::{
    ClusterField, DesiredStatus, ServiceField, Task, TaskDefinition, TaskField,
};
use kubernetes_sd::labels::sanitize_label_name;
use kubernetes_sd::Target;

use super::calls::ApiCalls;
use super::ecs_containers::container_targets;
use crate::config::AwsSdConfig;

/// DescribeTasks, DescribeClusters and DescribeContainerInstances take 100 at most.
const DESCRIBE_BATCH: usize = 100;
/// DescribeServices takes 10 at most.
const SERVICES_BATCH: usize = 10;
/// IDs per ec2:DescribeInstances / DescribeNetworkInterfaces call.
const EC2_BATCH: usize = 100;

/// Why the entry's tasks could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    /// An ECS call failed.
    #[error("{operation} failed")]
    Ecs {
        /// The operation.
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: aws_sdk_ecs::Error,
    },
    /// An EC2 call (the hosts of bridge tasks, task ENIs' public IPs) failed.
    #[error("{operation} failed")]
    Ec2 {
        /// The operation.
        operation: &'static str,
        /// The SDK's error.
        #[source]
        source: aws_sdk_ec2::Error,
    },
    /// A configured cluster does not exist.
    #[error("cluster {cluster:?}: {reason}")]
    Cluster {
        /// The cluster as configured.
        cluster: String,
        /// ECS's reason (`MISSING`).
        reason: String,
    },
}

fn ecs_error<E>(operation: &'static str) -> impl FnOnce(E) -> EcsError
where
    aws_sdk_ecs::Error: From<E>,
{
    move |e| EcsError::Ecs {
        operation,
        source: aws_sdk_ecs::Error::from(e),
    }
}

fn ec2_error<E>(operation: &'static str) -> impl FnOnce(E) -> EcsError
where
    aws_sdk_ec2::Error: From<E>,
{
    move |e| EcsError::Ec2 {
        operation,
        source: aws_sdk_ec2::Error::from(e),
    }
}

/// What the entry reads, and where the counts go.
pub struct EcsDiscovery<'a> {
    /// The ECS client.
    pub ecs: &'a aws_sdk_ecs::Client,
    /// The EC2 client (hosts, ENIs).
    pub ec2: &'a aws_sdk_ec2::Client,
    /// The entry.
    pub sd: &'a AwsSdConfig,
    /// The resolved region.
    pub region: &'a str,
    /// Calls per operation.
    pub calls: &'a mut ApiCalls,
    /// Tasks described.
    pub objects: u64,
    /// Containers or tasks skipped, each with why.
    pub skipped: Vec<String>,
}

/// A cluster as DescribeClusters returns it.
struct Cluster {
    arn: String,
    name: String,
    tags: Vec<(String, String)>,
}

/// A service as DescribeServices returns it.
struct Service {
    arn: String,
    status: String,
    tags: Vec<(String, String)>,
}

/// The EC2 facts of a container instance's host.
#[derive(Default, Clone)]
struct Host {
    id: String,
    instance_type: String,
    private_ip: Option<String>,
    public_ip: Option<String>,
    subnet: Option<String>,
    tags: Vec<(String, String)>,
}

/// Where a task is reached.
pub struct TaskNetwork {
    /// `awsvpc` (its own ENI) or `bridge` (the host's address, also for host mode).
    pub mode: &'static str,
    /// The address targets use.
    pub ip: String,
}

impl EcsDiscovery<'_> {
    /// Every running task's target (or, with `container_targets`, its exporter
    /// containers' targets) to `sink`.
    pub async fn discover(
        &mut self,
        sink: &mut (dyn FnMut(Target) + Send),
    ) -> Result<(), EcsError> {
        let clusters = self.clusters().await?;
        let mut definitions: HashMap<String, TaskDefinition> = HashMap::new();
        for cluster in &clusters {
            let tasks = self.tasks(&cluster.arn).await?;
            self.objects += tasks.len() as u64;
            if tasks.is_empty() {
                continue;
            }
            let services = self.services(&cluster.arn, &tasks).await?;
            let hosts = self.hosts(&cluster.arn, &tasks).await?;
            let eni_public_ips = self.eni_public_ips(&tasks).await?;
            if self.sd.container_targets.is_some() {
                self.task_definitions(&tasks, &mut definitions).await?;
            }
            for task in &tasks {
                let host = task.container_instance_arn().and_then(|arn| hosts.get(arn));
                let Some((labels, network)) =
                    task_labels(task, cluster, &services, host, &eni_public_ips, self.region)
                else {
                    continue;
                };
                match &self.sd.container_targets {
                    None => {
                        let mut target = labels;
                        target.insert(
                            "__address__".into(),
                            join_host_port(&network.ip, self.sd.port),
                        );
                        sink(target);
                    }
                    Some(convention) => {
                        let definition =
                            task.task_definition_arn().and_then(|a| definitions.get(a));
                        let Some(definition) = definition else {
                            self.skipped.push(format!(
                                "task {}: its task definition was not described",
                                task.task_arn().unwrap_or("?")
                            ));
                            continue;
                        };
                        let built =
                            container_targets(task, definition, &labels, &network, convention);
                        for target in built.targets {
                            sink(target);
                        }
                        self.skipped.extend(built.skipped);
                    }
                }
            }
        }
        Ok(())
    }

    /// The entry's clusters, described (with tags).
    async fn clusters(&mut self) -> Result<Vec<Cluster>, EcsError> {
        let wanted: Vec<String> = if self.sd.clusters.is_empty() {
            let mut arns = Vec::new();
            let mut pages = self.ecs.list_clusters().into_paginator().send();
            while let Some(page) = pages.next().await {
                self.calls.count("ecs:ListClusters");
                let page = page.map_err(ecs_error("ecs:ListClusters"))?;
                arns.extend(page.cluster_arns().iter().cloned());
            }
            arns
        } else {
            self.sd.clusters.clone()
        };
        let mut clusters = Vec::new();
        for chunk in wanted.chunks(DESCRIBE_BATCH) {
            self.calls.count("ecs:DescribeClusters");
            let out = self
                .ecs
                .describe_clusters()
                .set_clusters(Some(chunk.to_vec()))
                .include(ClusterField::Tags)
                .send()
                .await
                .map_err(ecs_error("ecs:DescribeClusters"))?;
            if let Some(failure) = out.failures().first() {
                return Err(EcsError::Cluster {
                    cluster: failure.arn().unwrap_or("?").to_string(),
                    reason: failure.reason().unwrap_or("not found").to_string(),
                });
            }
            for c in out.clusters() {
                clusters.push(Cluster {
                    arn: c.cluster_arn().unwrap_or("").to_string(),
                    name: c.cluster_name().unwrap_or("").to_string(),
                    tags: c
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect(),
                });
            }
        }
        Ok(clusters)
    }

    /// The cluster's tasks whose desired status is RUNNING, described (with tags).
    async fn tasks(&mut self, cluster: &str) -> Result<Vec<Task>, EcsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .ecs
            .list_tasks()
            .cluster(cluster)
            .desired_status(DesiredStatus::Running)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.calls.count("ecs:ListTasks");
            let page = page.map_err(ecs_error("ecs:ListTasks"))?;
            arns.extend(page.task_arns().iter().cloned());
        }
        let mut tasks = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(DESCRIBE_BATCH) {
            self.calls.count("ecs:DescribeTasks");
            let out = self
                .ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .include(TaskField::Tags)
                .send()
                .await
                .map_err(ecs_error("ecs:DescribeTasks"))?;
            tasks.extend(out.tasks().iter().cloned());
        }
        Ok(tasks)
    }

    /// The services the tasks' groups name (`service:<name>`), by name.
    async fn services(
        &mut self,
        cluster: &str,
        tasks: &[Task],
    ) -> Result<HashMap<String, Service>, EcsError> {
        let names: BTreeSet<&str> = tasks
            .iter()
            .filter_map(|t| t.group()?.strip_prefix("service:"))
            .collect();
        let names: Vec<String> = names.into_iter().map(str::to_string).collect();
        let mut services = HashMap::new();
        for chunk in names.chunks(SERVICES_BATCH) {
            self.calls.count("ecs:DescribeServices");
            let out = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
                .map_err(ecs_error("ecs:DescribeServices"))?;
            for s in out.services() {
                let Some(name) = s.service_name() else {
                    continue;
                };
                services.insert(
                    name.to_string(),
                    Service {
                        arn: s.service_arn().unwrap_or("").to_string(),
                        status: s.status().unwrap_or("").to_string(),
                        tags: s
                            .tags()
                            .iter()
                            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                            .collect(),
                    },
                );
            }
        }
        Ok(services)
    }

    /// The EC2 hosts of the tasks on container instances, by container instance ARN.
    async fn hosts(
        &mut self,
        cluster: &str,
        tasks: &[Task],
    ) -> Result<HashMap<String, Host>, EcsError> {
        let arns: BTreeSet<&str> = tasks
            .iter()
            .filter_map(|t| t.container_instance_arn())
            .collect();
        let arns: Vec<String> = arns.into_iter().map(str::to_string).collect();
        let mut instance_of: HashMap<String, String> = HashMap::new();
        for chunk in arns.chunks(DESCRIBE_BATCH) {
            self.calls.count("ecs:DescribeContainerInstances");
            let out = self
                .ecs
                .describe_container_instances()
                .cluster(cluster)
                .set_container_instances(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(ecs_error("ecs:DescribeContainerInstances"))?;
            for ci in out.container_instances() {
                if let (Some(arn), Some(id)) = (ci.container_instance_arn(), ci.ec2_instance_id()) {
                    instance_of.insert(arn.to_string(), id.to_string());
                }
            }
        }
        let ids: BTreeSet<&str> = instance_of.values().map(String::as_str).collect();
        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        let mut by_id: HashMap<String, Host> = HashMap::new();
        for chunk in ids.chunks(EC2_BATCH) {
            let mut pages = self
                .ec2
                .describe_instances()
                .set_instance_ids(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                self.calls.count("ec2:DescribeInstances");
                let page = page.map_err(ec2_error("ec2:DescribeInstances"))?;
                for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                    let (Some(id), Some(_)) =
                        (instance.instance_id(), instance.private_ip_address())
                    else {
                        continue;
                    };
                    by_id.insert(
                        id.to_string(),
                        Host {
                            id: id.to_string(),
                            instance_type: instance
                                .instance_type()
                                .map(|t| t.as_str().to_string())
                                .unwrap_or_default(),
                            private_ip: instance.private_ip_address().map(str::to_string),
                            public_ip: instance.public_ip_address().map(str::to_string),
                            subnet: instance.subnet_id().map(str::to_string),
                            tags: instance
                                .tags()
                                .iter()
                                .filter_map(|t| {
                                    Some((t.key()?.to_string(), t.value()?.to_string()))
                                })
                                .collect(),
                        },
                    );
                }
            }
        }
        Ok(instance_of
            .into_iter()
            .filter_map(|(arn, id)| Some((arn, by_id.get(&id)?.clone())))
            .collect())
    }

    /// Public IPs of the tasks' ENIs (awsvpc tasks with a public IP), by ENI id.
    async fn eni_public_ips(
        &mut self,
        tasks: &[Task],
    ) -> Result<HashMap<String, String>, EcsError> {
        let ids: BTreeSet<&str> = tasks
            .iter()
            .filter_map(|t| eni_detail(t, "networkInterfaceId"))
            .collect();
        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        let mut public = HashMap::new();
        for chunk in ids.chunks(EC2_BATCH) {
            let mut pages = self
                .ec2
                .describe_network_interfaces()
                .set_network_interface_ids(Some(chunk.to_vec()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                self.calls.count("ec2:DescribeNetworkInterfaces");
                let page = page.map_err(ec2_error("ec2:DescribeNetworkInterfaces"))?;
                for eni in page.network_interfaces() {
                    if let (Some(id), Some(ip)) = (
                        eni.network_interface_id(),
                        eni.association().and_then(|a| a.public_ip()),
                    ) {
                        public.insert(id.to_string(), ip.to_string());
                    }
                }
            }
        }
        Ok(public)
    }

    /// Describes each task definition the tasks use, once per run and entry.
    async fn task_definitions(
        &mut self,
        tasks: &[Task],
        known: &mut HashMap<String, TaskDefinition>,
    ) -> Result<(), EcsError> {
        let arns: BTreeSet<&str> = tasks
            .iter()
            .filter_map(|t| t.task_definition_arn())
            .filter(|arn| !known.contains_key(*arn))
            .collect();
        for arn in arns {
            self.calls.count("ecs:DescribeTaskDefinition");
            let out = self
                .ecs
                .describe_task_definition()
                .task_definition(arn)
                .send()
                .await
                .map_err(ecs_error("ecs:DescribeTaskDefinition"))?;
            if let Some(definition) = out.task_definition() {
                known.insert(arn.to_string(), definition.clone());
            }
        }
        Ok(())
    }
}

/// `host:port`, with brackets for an IPv6 host.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A detail of the task's ENI attachment (`privateIPv4Address`, `subnetId`,
/// `networkInterfaceId`).
fn eni_detail<'t>(task: &'t Task, name: &str) -> Option<&'t str> {
    task.attachments()
        .iter()
        .find(|a| a.r#type() == Some("ElasticNetworkInterface"))?
        .details()
        .iter()
        .find(|d| d.name() == Some(name))?
        .value()
}

fn tag_labels(t: &mut Target, prefix: &str, tags: &[(String, String)]) {
    for (key, value) in tags {
        t.insert(
            format!("__meta_ecs_tag_{prefix}_{}", sanitize_label_name(key)),
            value.clone(),
        );
    }
}

/// The task's labels (without `__address__`) and where it is reached; `None` for a
/// task with no address yet (an awsvpc task before its ENI has an IP), which
/// Prometheus skips too.
fn task_labels(
    task: &Task,
    cluster: &Cluster,
    services: &HashMap<String, Service>,
    host: Option<&Host>,
    eni_public_ips: &HashMap<String, String>,
    region: &str,
) -> Option<(Target, TaskNetwork)> {
    let has_eni = task
        .attachments()
        .iter()
        .any(|a| a.r#type() == Some("ElasticNetworkInterface"));
    let (mode, ip, subnet, public_ip) = if has_eni {
        let public = eni_detail(task, "networkInterfaceId").and_then(|id| eni_public_ips.get(id));
        (
            "awsvpc",
            eni_detail(task, "privateIPv4Address").map(str::to_string),
            eni_detail(task, "subnetId").map(str::to_string),
            public.cloned(),
        )
    } else if let Some(host) = host {
        (
            "bridge",
            host.private_ip.clone(),
            host.subnet.clone(),
            host.public_ip.clone(),
        )
    } else {
        ("bridge", None, None, None)
    };
    let ip = ip.filter(|ip| !ip.is_empty())?;
    let mut t: Target = BTreeMap::new();
    let mut set = |name: &str, value: &str| {
        t.insert(format!("__meta_ecs_{name}"), value.to_string());
    };
    set("ip_address", &ip);
    set("region", region);
    set(
        "launch_type",
        task.launch_type().map(|l| l.as_str()).unwrap_or(""),
    );
    set(
        "health_status",
        task.health_status().map(|h| h.as_str()).unwrap_or(""),
    );
    set("network_mode", mode);
    set("cluster", &cluster.name);
    set("cluster_arn", &cluster.arn);
    let optional = [
        ("task_group", task.group()),
        ("task_arn", task.task_arn()),
        ("task_definition", task.task_definition_arn()),
        ("availability_zone", task.availability_zone()),
        ("desired_status", task.desired_status()),
        ("last_status", task.last_status()),
        ("subnet_id", subnet.as_deref()),
        ("container_instance_arn", task.container_instance_arn()),
        ("public_ip", public_ip.as_deref()),
        ("platform_family", task.platform_family()),
        ("platform_version", task.platform_version()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            set(name, value);
        }
    }
    if let Some(host) = host {
        set("ec2_instance_id", &host.id);
        set("ec2_instance_type", &host.instance_type);
        if let Some(ip) = &host.private_ip {
            set("ec2_instance_private_ip", ip);
        }
        if let Some(ip) = &host.public_ip {
            set("ec2_instance_public_ip", ip);
        }
    }
    let service = task
        .group()
        .and_then(|g| g.strip_prefix("service:"))
        .and_then(|name| Some((name, services.get(name)?)));
    if let Some((name, service)) = service {
        set("service", name);
        set("service_arn", &service.arn);
        set("service_status", &service.status);
    }
    tag_labels(&mut t, "cluster", &cluster.tags);
    if let Some((_, service)) = service {
        tag_labels(&mut t, "service", &service.tags);
    }
    let task_tags: Vec<(String, String)> = task
        .tags()
        .iter()
        .filter_map(|tag| Some((tag.key()?.to_string(), tag.value()?.to_string())))
        .collect();
    tag_labels(&mut t, "task", &task_tags);
    if let Some(host) = host {
        tag_labels(&mut t, "ec2", &host.tags);
    }
    Some((t, TaskNetwork { mode, ip }))
}
