//! `kubernetes_sd_configs` as Prometheus writes them, field for field, plus the
//! scraper's `eks:` block. The scraper runs outside the cluster, so it has no
//! in-cluster service account and no kubeconfig: each config names its API server
//! (`api_server` with the usual HTTP client fields, or `eks` for an EKS cluster by
//! name). The validated config reads these shapes as they are.

use eks_access::EksCluster;
use serde::Deserialize;

use super::http::{Authorization, BasicAuth, HttpClientSettings, TlsConfig};

/// One `kubernetes_sd_configs` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesSdConfig {
    /// Which objects become targets. Required.
    pub role: Option<Role>,
    /// The API server's URL (`https://...`). Required unless `eks` is set.
    pub api_server: Option<String>,
    /// Ours: an EKS cluster by name and region; its endpoint and CA come from EKS
    /// DescribeCluster and requests carry an EKS token signed with the function's
    /// own credentials, so no `api_server`, token or CA is written down.
    pub eks: Option<EksCluster>,
    /// The namespaces listed. Default: all.
    pub namespaces: NamespaceDiscovery,
    /// Label and field selectors sent with each LIST, per role. Default: none.
    pub selectors: Vec<SelectorConfig>,
    /// Metadata of related objects added to each target.
    pub attach_metadata: AttachMetadata,
    /// HTTP basic authentication to the API server. Default: none.
    pub basic_auth: Option<BasicAuth>,
    /// An `Authorization` header for the API server. Default: none.
    pub authorization: Option<Authorization>,
    /// Deprecated Prometheus spelling of `authorization.credentials`. Default: none.
    pub bearer_token: Option<String>,
    /// Deprecated Prometheus spelling of `authorization.credentials_file`.
    /// Default: none.
    pub bearer_token_file: Option<String>,
    /// TLS settings for the API server. Default: the compiled-in Mozilla roots, verified.
    pub tls_config: TlsConfig,
    /// Refused: a Lambda has no kubeconfig; use `api_server` or `eks`.
    pub(super) kubeconfig_file: Option<yaml_serde::Value>,
    /// Accepted and ignored: redirects are always followed.
    pub(super) follow_redirects: Option<yaml_serde::Value>,
    /// Accepted and ignored: HTTP/2 is negotiated when the server offers it.
    pub(super) enable_http2: Option<yaml_serde::Value>,
}

impl KubernetesSdConfig {
    /// Authentication and TLS for the API server client.
    pub fn http_settings(&self) -> HttpClientSettings {
        HttpClientSettings::new(
            &self.basic_auth,
            &self.authorization,
            &self.bearer_token,
            &self.bearer_token_file,
            &self.tls_config,
        )
    }

    /// The role; validation guarantees it is set.
    pub fn role(&self) -> Role {
        self.role.unwrap_or(Role::Pod)
    }

    /// Whether any client authentication or TLS field is written (they go with
    /// `api_server`, not with `eks`, whose token and CA come from AWS).
    pub fn has_client_fields(&self) -> bool {
        self.basic_auth.is_some()
            || self.authorization.is_some()
            || self.bearer_token.is_some()
            || self.bearer_token_file.is_some()
            || self.tls_config != TlsConfig::default()
    }
}

/// The kinds of object that become targets, as Prometheus names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// One target per node, at its kubelet.
    Node,
    /// One target per declared container port (or per container without ports).
    Pod,
    /// One target per service port.
    Service,
    /// One target per endpoint address and port, with its service and pod.
    Endpoints,
    /// The same from `discovery.k8s.io/v1` EndpointSlices.
    #[serde(rename = "endpointslice")]
    EndpointSlice,
    /// One target per ingress rule path.
    Ingress,
}

impl Role {
    /// The name as written in configs and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Pod => "pod",
            Role::Service => "service",
            Role::Endpoints => "endpoints",
            Role::EndpointSlice => "endpointslice",
            Role::Ingress => "ingress",
        }
    }

    /// Roles whose selectors a config of this role may carry: its own, for the
    /// endpoints roles also the pods and services they read, and for the pod role the
    /// nodes it reads with `attach_metadata.node` (as Prometheus allows).
    pub fn selector_roles(self) -> &'static [Role] {
        match self {
            Role::Endpoints => &[Role::Endpoints, Role::Pod, Role::Service],
            Role::EndpointSlice => &[Role::EndpointSlice, Role::Pod, Role::Service],
            Role::Node => &[Role::Node],
            Role::Pod => &[Role::Pod, Role::Node],
            Role::Service => &[Role::Service],
            Role::Ingress => &[Role::Ingress],
        }
    }
}

/// `namespaces`: which namespaces are listed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NamespaceDiscovery {
    /// The namespaces; empty means all of them (one cluster-wide LIST).
    pub names: Vec<String>,
    /// Refused: a Lambda runs in no namespace; name the namespaces instead.
    pub(super) own_namespace: Option<bool>,
}

/// One `selectors` entry: sent as `labelSelector` / `fieldSelector` on the LIST of
/// `role`'s objects, so the API server filters before anything is transferred.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelectorConfig {
    /// The objects the selectors apply to. Required.
    pub role: Option<Role>,
    /// A Kubernetes label selector (`app=web,tier!=cache`). Default: none.
    pub label: Option<String>,
    /// A Kubernetes field selector (`spec.nodeName=n1`). Default: none.
    pub field: Option<String>,
}

/// `attach_metadata`: metadata of related objects added to each target. Each one
/// turned on costs one more LIST per run (and `list` on that resource in RBAC).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachMetadata {
    /// The node's labels and annotations on pod, endpoints and endpointslice
    /// targets (nodes are listed).
    pub node: bool,
    /// The namespace's labels and annotations on every namespaced role's targets
    /// (namespaces are listed).
    pub namespace: bool,
    /// `__meta_kubernetes_pod_deployment_name` through the pod's ReplicaSet
    /// (ReplicaSets are listed).
    pub deployment: bool,
    /// `__meta_kubernetes_pod_job_name` for pods a Job controls.
    pub job: bool,
    /// `__meta_kubernetes_pod_cronjob_name` through the pod's Job (Jobs are listed).
    pub cronjob: bool,
}

impl AttachMetadata {
    /// The same switches as the discovery crate takes them.
    pub fn for_lookup(self) -> kubernetes_sd::roles::AttachMetadata {
        kubernetes_sd::roles::AttachMetadata {
            node: self.node,
            namespace: self.namespace,
            deployment: self.deployment,
            job: self.job,
            cronjob: self.cronjob,
        }
    }
}
