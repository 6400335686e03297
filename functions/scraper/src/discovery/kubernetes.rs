//! One `kubernetes_sd_configs` entry, once per run: reach the API server (named by
//! `api_server` or found through EKS), LIST what the role needs (per namespace when
//! namespaces are named), and turn the objects into targets with Prometheus'
//! `__meta_kubernetes_*` labels (the `kubernetes-sd` crate). A failure fails this
//! entry only: its job still scrapes its other targets, and the error is reported.

use std::time::Instant;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use kubernetes_sd::roles::{self, Lookup};
use kubernetes_sd::Target;
use reqwest::Url;
use serde::de::DeserializeOwned;

use super::eks::{eks_client, EksClientError};
use super::kube_api::{KubeApi, ListError, Resource};
use super::report::SdReport;
use crate::config::{KubernetesSdConfig, Role};
use crate::http_client::{authorization_header, build_client, ClientError};

const NODES: Resource = Resource {
    prefix: "/api/v1",
    plural: "nodes",
    namespaced: false,
};
const PODS: Resource = Resource {
    prefix: "/api/v1",
    plural: "pods",
    namespaced: true,
};
const SERVICES: Resource = Resource {
    prefix: "/api/v1",
    plural: "services",
    namespaced: true,
};
const ENDPOINTS: Resource = Resource {
    prefix: "/api/v1",
    plural: "endpoints",
    namespaced: true,
};
const ENDPOINT_SLICES: Resource = Resource {
    prefix: "/apis/discovery.k8s.io/v1",
    plural: "endpointslices",
    namespaced: true,
};
const NAMESPACES: Resource = Resource {
    prefix: "/api/v1",
    plural: "namespaces",
    namespaced: false,
};
const REPLICA_SETS: Resource = Resource {
    prefix: "/apis/apps/v1",
    plural: "replicasets",
    namespaced: true,
};
const JOBS: Resource = Resource {
    prefix: "/apis/batch/v1",
    plural: "jobs",
    namespaced: true,
};
const INGRESSES: Resource = Resource {
    prefix: "/apis/networking.k8s.io/v1",
    plural: "ingresses",
    namespaced: true,
};

/// Why an entry found nothing: the client could not be set up or a LIST failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The HTTP client settings are unusable (a CA file that cannot be read...).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `api_server` is not a URL (validation checks it; kept so a disagreement is
    /// reported rather than a panic).
    #[error("api_server {url:?} is not a URL")]
    ApiServer {
        /// The value.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The EKS cluster could not be reached (DescribeCluster, CA, token, client).
    #[error(transparent)]
    Eks(#[from] EksClientError),
    /// A LIST failed (unreachable, 401, 403, timeout, not a list).
    #[error(transparent)]
    List(#[from] ListError),
}

/// What one entry found, and how it went.
pub struct Discovered {
    /// The targets, labels before relabeling.
    pub targets: Vec<Target>,
    /// Objects listed, calls, time, errors.
    pub report: SdReport,
}

/// Runs one entry, before `deadline`.
pub async fn discover(
    sd: &KubernetesSdConfig,
    at: &str,
    job: &str,
    deadline: Instant,
) -> Discovered {
    let started = Instant::now();
    let mut report = SdReport::new(job, at, sd.role().as_str());
    let targets = match run(sd, at, deadline, &mut report).await {
        Ok(targets) => targets,
        Err(error) => {
            let text = function_cli::error_chain(&error);
            tracing::error!(job = %job, sd = %at, error = %text, "kubernetes discovery failed");
            report.error = Some(text);
            Vec::new()
        }
    };
    report.targets = targets.len() as u64;
    report.duration_seconds = started.elapsed().as_secs_f64();
    Discovered { targets, report }
}

async fn run(
    sd: &KubernetesSdConfig,
    at: &str,
    deadline: Instant,
    report: &mut SdReport,
) -> Result<Vec<Target>, DiscoveryError> {
    let api = connect(sd, at).await?;
    let lister = Lister {
        api: &api,
        sd,
        deadline,
    };
    let role = sd.role();
    let mut targets = Vec::new();
    if role == Role::Node {
        for node in lister.list::<Node>(NODES, Role::Node, report).await? {
            report.add_object_result(roles::node::targets(&node), &mut targets);
        }
        return Ok(targets);
    }
    let lookup = lister.lookup(role, report).await?;
    match role {
        Role::Node => {}
        Role::Service => {
            for service in lister
                .list::<Service>(SERVICES, Role::Service, report)
                .await?
            {
                report.add_object_result(roles::service::targets(&service, &lookup), &mut targets);
            }
        }
        Role::Ingress => {
            for ingress in lister
                .list::<Ingress>(INGRESSES, Role::Ingress, report)
                .await?
            {
                report.add_object_result(roles::ingress::targets(&ingress, &lookup), &mut targets);
            }
        }
        Role::Pod => {
            for pod in lister.list::<Pod>(PODS, Role::Pod, report).await? {
                report.add_object_result(roles::pod::targets(&pod, &lookup), &mut targets);
            }
        }
        Role::Endpoints => {
            for endpoints in lister
                .list::<Endpoints>(ENDPOINTS, Role::Endpoints, report)
                .await?
            {
                report.add_object_result(
                    roles::endpoints::targets(&endpoints, &lookup),
                    &mut targets,
                );
            }
        }
        Role::EndpointSlice => {
            for slice in lister
                .list::<EndpointSlice>(ENDPOINT_SLICES, Role::EndpointSlice, report)
                .await?
            {
                report.add_object_result(
                    roles::endpointslice::targets(&slice, &lookup),
                    &mut targets,
                );
            }
        }
    }
    Ok(targets)
}

/// The client for `sd`'s API server: `api_server` with the entry's HTTP client
/// fields, or the EKS cluster's endpoint, CA and a fresh EKS token.
async fn connect(sd: &KubernetesSdConfig, at: &str) -> Result<KubeApi, DiscoveryError> {
    if let Some(cluster) = &sd.eks {
        let client = eks_client(cluster).await?;
        return Ok(KubeApi::new(
            client.endpoint,
            client.http,
            Some(client.authorization),
        ));
    }
    let url = sd.api_server.clone().unwrap_or_default();
    let base = Url::parse(&url).map_err(|source| DiscoveryError::ApiServer { url, source })?;
    let settings = sd.http_settings();
    let http = build_client(&settings, at)?;
    let authorization = authorization_header(&settings, at)?;
    Ok(KubeApi::new(base, http, authorization))
}

/// LISTs for one entry: its namespaces and selectors, before its deadline.
struct Lister<'a> {
    api: &'a KubeApi,
    sd: &'a KubernetesSdConfig,
    deadline: Instant,
}

impl Lister<'_> {
    /// Every `resource` object in the entry's namespaces (all when none are named),
    /// with the selectors written for `role`.
    async fn list<T: DeserializeOwned>(
        &self,
        resource: Resource,
        role: Role,
        report: &mut SdReport,
    ) -> Result<Vec<T>, ListError> {
        self.list_with(resource, Some(role), report).await
    }

    /// [`Lister::list`] with the selectors of `role`, or none.
    async fn list_with<T: DeserializeOwned>(
        &self,
        resource: Resource,
        role: Option<Role>,
        report: &mut SdReport,
    ) -> Result<Vec<T>, ListError> {
        let selector =
            role.and_then(|role| self.sd.selectors.iter().find(|s| s.role == Some(role)));
        let label = selector.and_then(|s| s.label.as_deref());
        let field = selector.and_then(|s| s.field.as_deref());
        let namespaces: Vec<Option<&str>> =
            if resource.namespaced && !self.sd.namespaces.names.is_empty() {
                self.sd
                    .namespaces
                    .names
                    .iter()
                    .map(|n| Some(n.as_str()))
                    .collect()
            } else {
                vec![None]
            };
        let mut items = Vec::new();
        for namespace in namespaces {
            let listed = self
                .api
                .list::<T>(resource, namespace, label, field, self.deadline)
                .await?;
            report.api_calls += listed.calls;
            report.objects_listed += (listed.items.len() + listed.malformed.len()) as u64;
            report.note_malformed(listed.malformed);
            items.extend(listed.items);
        }
        Ok(items)
    }

    /// The related objects `role` reads besides its own: services and pods for the
    /// endpoints roles; nodes, namespaces, ReplicaSets and Jobs as `attach_metadata`
    /// asks. Each is one LIST (per namespace when namespaces are named).
    async fn lookup(&self, role: Role, report: &mut SdReport) -> Result<Lookup, ListError> {
        let attach = self.sd.attach_metadata;
        let mut lookup = Lookup::new(attach.for_lookup());
        let endpoints_role = matches!(role, Role::Endpoints | Role::EndpointSlice);
        let uses_pods = endpoints_role || role == Role::Pod;
        if attach.node && uses_pods {
            for node in self.list::<Node>(NODES, Role::Node, report).await? {
                report.add_insert(lookup.insert_node(node));
            }
        }
        if attach.namespace {
            for namespace in self
                .list_unselected::<Namespace>(NAMESPACES, report)
                .await?
            {
                report.add_insert(lookup.insert_namespace(namespace));
            }
        }
        if attach.deployment && uses_pods {
            for replica_set in self
                .list_unselected::<ReplicaSet>(REPLICA_SETS, report)
                .await?
            {
                report.add_insert(lookup.insert_replica_set(replica_set));
            }
        }
        if attach.cronjob && uses_pods {
            for job in self.list_unselected::<Job>(JOBS, report).await? {
                report.add_insert(lookup.insert_job(job));
            }
        }
        if endpoints_role {
            for service in self
                .list::<Service>(SERVICES, Role::Service, report)
                .await?
            {
                report.add_insert(lookup.insert_service(service));
            }
            for pod in self.list::<Pod>(PODS, Role::Pod, report).await? {
                report.add_insert(lookup.insert_pod(pod));
            }
        }
        Ok(lookup)
    }

    /// Every object of a `resource` no selector concerns (namespaces, ReplicaSets,
    /// Jobs), in the entry's namespaces when it is namespaced.
    async fn list_unselected<T: DeserializeOwned>(
        &self,
        resource: Resource,
        report: &mut SdReport,
    ) -> Result<Vec<T>, ListError> {
        self.list_with(resource, None, report).await
    }
}
