//! How to reach a Kubernetes API, as written under `clusters:`. The shapes are used
//! as they are after validation (the cluster clients read them), so they are public.

use std::path::PathBuf;

pub use eks_access::EksCluster;
use serde::Deserialize;

/// How to reach one Kubernetes API: either `eks`, or `endpoint` with a CA and a
/// token source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// An EKS cluster: endpoint and CA come from DescribeCluster, the token is an EKS
    /// token for this cluster name. Default unset.
    pub eks: Option<EksCluster>,
    /// Any Kubernetes API (self-managed, or an explicit EKS endpoint): `https://...`
    /// (TLS is never skipped). Default unset.
    pub endpoint: Option<String>,
    /// PEM file with the CA that signed the API server's certificate. Default unset.
    pub ca_file: Option<PathBuf>,
    /// The same, base64 of the PEM, as kubeconfig's `certificate-authority-data`.
    /// Default unset.
    pub ca_data: Option<String>,
    /// Where the bearer token comes from, for an explicit `endpoint`. Default unset.
    pub token: Option<TokenSource>,
}

/// A bearer token source for an explicit endpoint: exactly one of the fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSource {
    /// An EKS / aws-iam-authenticator token for this cluster name, signed with the
    /// function's own credentials (as `aws eks get-token --cluster-name` makes it).
    pub eks: Option<EksCluster>,
    /// The token is in this environment variable (a service-account token).
    pub env: Option<String>,
    /// The token is in this file (e.g. a projected service-account token), read
    /// when the cluster's client is built.
    pub file: Option<PathBuf>,
}
