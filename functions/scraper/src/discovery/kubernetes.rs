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
use super::sink::TargetSink;
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

/// Runs one entry, before `deadline`, handing each target (labels before
/// relabeling) to `sink` as soon as its object is decoded: nothing but the current
/// LIST page and the related objects the role joins (the lookup) is held. When the
/// entry fails, what it handed over is taken back: a failed entry adds no target.
pub async fn discover(
    sd: &KubernetesSdConfig,
    at: &str,
    job: &str,
    deadline: Instant,
    sink: &mut (dyn TargetSink + Send),
) -> SdReport {
    let started = Instant::now();
    let mut report = SdReport::new(job, at, sd.role().as_str());
    let mark = sink.checkpoint();
    let mut produced = 0u64;
    let mut counting = |target: Target| {
        produced += 1;
        sink.add(target);
    };
    let outcome = run(sd, at, deadline, &mut report, &mut counting).await;
    report.targets = produced;
    let failure = outcome.err();
    report.settle(
        failure.as_ref().map(|e| e as &dyn std::error::Error),
        sink,
        mark,
        started,
    );
    report
}

/// One object's targets to `sink`, or the object counted as malformed.
fn emit<E: std::fmt::Display>(
    report: &mut SdReport,
    sink: &mut (dyn FnMut(Target) + Send),
    targets: Result<Vec<Target>, E>,
) {
    match targets {
        Ok(targets) => targets.into_iter().for_each(&mut *sink),
        Err(error) => report.note_malformed(error.to_string()),
    }
}

async fn run(
    sd: &KubernetesSdConfig,
    at: &str,
    deadline: Instant,
    report: &mut SdReport,
    sink: &mut (dyn FnMut(Target) + Send),
) -> Result<(), DiscoveryError> {
    let api = connect(sd, at).await?;
    let lister = Lister {
        api: &api,
        sd,
        deadline,
    };
    let role = sd.role();
    if role == Role::Node {
        lister
            .each::<Node>(NODES, Some(Role::Node), report, |node, report| {
                emit(report, sink, roles::node::targets(&node))
            })
            .await?;
        return Ok(());
    }
    let lookup = lister.lookup(role, report).await?;
    match role {
        Role::Node => {}
        Role::Service => {
            lister
                .each::<Service>(SERVICES, Some(role), report, |service, report| {
                    emit(report, sink, roles::service::targets(&service, &lookup))
                })
                .await?
        }
        Role::Ingress => {
            lister
                .each::<Ingress>(INGRESSES, Some(role), report, |ingress, report| {
                    emit(report, sink, roles::ingress::targets(&ingress, &lookup))
                })
                .await?
        }
        Role::Pod => {
            lister
                .each::<Pod>(PODS, Some(role), report, |pod, report| {
                    emit(report, sink, roles::pod::targets(&pod, &lookup))
                })
                .await?
        }
        Role::Endpoints => {
            lister
                .each::<Endpoints>(ENDPOINTS, Some(role), report, |endpoints, report| {
                    emit(report, sink, roles::endpoints::targets(&endpoints, &lookup))
                })
                .await?
        }
        Role::EndpointSlice => {
            lister
                .each::<EndpointSlice>(ENDPOINT_SLICES, Some(role), report, |slice, report| {
                    emit(report, sink, roles::endpointslice::targets(&slice, &lookup))
                })
                .await?
        }
    }
    Ok(())
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
    /// with the selectors written for `role` (none for kinds no selector concerns:
    /// namespaces, ReplicaSets, Jobs), each handed to `use_object` as it arrives;
    /// objects that do not decode are counted in `report`.
    async fn each<T: DeserializeOwned>(
        &self,
        resource: Resource,
        role: Option<Role>,
        report: &mut SdReport,
        mut use_object: impl FnMut(T, &mut SdReport),
    ) -> Result<(), ListError> {
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
        for namespace in namespaces {
            // Objects are counted as they arrive, so the count holds when a later
            // page fails; a failed LIST counts its failed request (and, when the
            // budget ran out, the pages it read).
            let listed = self
                .api
                .list::<T>(resource, namespace, label, field, self.deadline, |item| {
                    report.objects_listed += 1;
                    match item {
                        Ok(object) => use_object(object, report),
                        Err(reason) => report.note_malformed(reason),
                    }
                })
                .await;
            match listed {
                Ok(listed) => report.api_calls += listed.calls,
                Err(error) => {
                    report.api_calls += match &error {
                        ListError::Budget { pages, .. } => *pages,
                        _ => 1,
                    };
                    return Err(error);
                }
            }
        }
        Ok(())
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
            self.each::<Node>(NODES, Some(Role::Node), report, |node, report| {
                report.add_insert(lookup.insert_node(node))
            })
            .await?;
        }
        if attach.namespace {
            self.each::<Namespace>(NAMESPACES, None, report, |namespace, report| {
                report.add_insert(lookup.insert_namespace(namespace))
            })
            .await?;
        }
        if attach.deployment && uses_pods {
            self.each::<ReplicaSet>(REPLICA_SETS, None, report, |replica_set, report| {
                report.add_insert(lookup.insert_replica_set(replica_set))
            })
            .await?;
        }
        if attach.cronjob && uses_pods {
            self.each::<Job>(JOBS, None, report, |job, report| {
                report.add_insert(lookup.insert_job(job))
            })
            .await?;
        }
        if endpoints_role {
            self.each::<Service>(SERVICES, Some(Role::Service), report, |service, report| {
                report.add_insert(lookup.insert_service(service))
            })
            .await?;
            self.each::<Pod>(PODS, Some(Role::Pod), report, |pod, report| {
                report.add_insert(lookup.insert_pod(pod))
            })
            .await?;
        }
        Ok(lookup)
    }
}
