//! Reaching a cluster's Kubernetes API: endpoint and CA from EKS DescribeCluster
//! (through `eks-access`, cached for the life of the warm container) or from the
//! config, a bearer token (an EKS token presigned with the function's own
//! credentials, or a static one), and TLS verified against that CA, never skipped.
//! Clients are rebuilt before their token gets old, because kube never refreshes a
//! static token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eks_access::{EksAccess, EksError, Endpoint, PemError, TOKEN_REUSE};
use tokio::sync::Mutex;

use crate::config::ClusterConfig;

/// Why a cluster could not be reached. Names the cluster and the step.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A policy names a cluster the config does not define.
    #[error("cluster {cluster}: not in the config")]
    Unknown {
        /// The name the policy uses.
        cluster: String,
    },
    /// DescribeCluster, its CA or the EKS token failed.
    #[error("cluster {cluster}: {source}")]
    Eks {
        /// The config's name for the cluster.
        cluster: String,
        /// The step that failed.
        #[source]
        source: EksError,
    },
    /// The configured CA bundle is not PEM certificates.
    #[error("cluster {cluster}: CA certificate: {source}")]
    Ca {
        /// The config's name for the cluster.
        cluster: String,
        /// What is wrong with the bundle.
        #[source]
        source: PemError,
    },
    /// A configured file (CA, token) cannot be read.
    #[error("cluster {cluster}: {what}: cannot read {path}")]
    ReadFile {
        /// The config's name for the cluster.
        cluster: String,
        /// `CA certificate` or `token`.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No bearer token could be had from the configured source.
    #[error("cluster {cluster}: token: {detail}")]
    Token {
        /// The config's name for the cluster.
        cluster: String,
        /// Why no token could be had.
        detail: String,
    },
    /// The endpoint or TLS settings cannot make a client.
    #[error("cluster {cluster}: client: {detail}")]
    Client {
        /// The config's name for the cluster.
        cluster: String,
        /// Why no client could be built.
        detail: String,
    },
}

/// Builds and caches a kube client per configured cluster.
pub struct Clusters {
    configs: std::collections::BTreeMap<String, ClusterConfig>,
    eks: EksAccess,
    clients: Mutex<HashMap<String, (kube::Client, Instant)>>,
}

impl Clusters {
    /// Nothing is contacted until a policy needs the cluster.
    pub fn new(
        configs: std::collections::BTreeMap<String, ClusterConfig>,
        aws: aws_config::SdkConfig,
    ) -> Clusters {
        Clusters {
            configs,
            eks: EksAccess::new(aws),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// DescribeCluster calls made so far (they are cached; tests check that).
    pub fn describe_calls(&self) -> u64 {
        self.eks.describe_calls()
    }

    /// A client for `cluster`, reused while its token is fresh.
    pub async fn client(&self, cluster: &str) -> Result<kube::Client, ClusterError> {
        let mut clients = self.clients.lock().await;
        if let Some((client, built)) = clients.get(cluster) {
            if built.elapsed() < TOKEN_REUSE {
                return Ok(client.clone());
            }
        }
        let client = self.build(cluster).await?;
        clients.insert(cluster.to_string(), (client.clone(), Instant::now()));
        Ok(client)
    }

    async fn build(&self, cluster: &str) -> Result<kube::Client, ClusterError> {
        let eks_error = |source| ClusterError::Eks {
            cluster: cluster.to_string(),
            source,
        };
        let ca_error = |source| ClusterError::Ca {
            cluster: cluster.to_string(),
            source,
        };
        let config = self
            .configs
            .get(cluster)
            .ok_or_else(|| ClusterError::Unknown {
                cluster: cluster.to_string(),
            })?;
        let (endpoint, token) = match (&config.eks, &config.endpoint) {
            (Some(eks), _) => {
                let endpoint = self.eks.endpoint(eks).await.map_err(eks_error)?;
                let token = self.eks.token(eks).await.map_err(eks_error)?;
                (endpoint, token)
            }
            (None, Some(url)) => {
                let pem = match (&config.ca_file, &config.ca_data) {
                    (Some(path), _) => {
                        std::fs::read(path).map_err(|source| ClusterError::ReadFile {
                            cluster: cluster.to_string(),
                            what: "CA certificate",
                            path: path.display().to_string(),
                            source,
                        })?
                    }
                    (None, Some(data)) => eks_access::pem::decode_base64(data).map_err(ca_error)?,
                    (None, None) => return Err(ca_error(PemError::Empty)),
                };
                let ca = eks_access::pem_to_der(&pem).map_err(ca_error)?;
                let source = config.token.clone().unwrap_or_default();
                let token = match (&source.eks, &source.env, &source.file) {
                    (Some(eks), _, _) => self.eks.token(eks).await.map_err(eks_error)?,
                    (None, Some(var), _) => {
                        std::env::var(var).map_err(|_| ClusterError::Token {
                            cluster: cluster.to_string(),
                            detail: format!("environment variable {var} is not set"),
                        })?
                    }
                    (None, None, Some(path)) => std::fs::read_to_string(path)
                        .map(|t| t.trim().to_string())
                        .map_err(|source| ClusterError::ReadFile {
                            cluster: cluster.to_string(),
                            what: "token",
                            path: path.display().to_string(),
                            source,
                        })?,
                    (None, None, None) => {
                        return Err(ClusterError::Token {
                            cluster: cluster.to_string(),
                            detail: "no token source".to_string(),
                        })
                    }
                };
                (
                    Endpoint {
                        url: url.clone(),
                        ca,
                    },
                    token,
                )
            }
            (None, None) => {
                return Err(ClusterError::Client {
                    cluster: cluster.to_string(),
                    detail: "neither eks nor endpoint".to_string(),
                })
            }
        };
        client_for(cluster, &endpoint, token)
    }
}

/// A kube client for `endpoint`, trusting only its CA, with `token`.
pub fn client_for(
    cluster: &str,
    endpoint: &Endpoint,
    token: String,
) -> Result<kube::Client, ClusterError> {
    let fail = |detail: String| ClusterError::Client {
        cluster: cluster.to_string(),
        detail,
    };
    let uri: http::Uri = endpoint
        .url
        .parse()
        .map_err(|e| fail(format!("endpoint {:?}: {e}", endpoint.url)))?;
    if uri.scheme_str() != Some("https") {
        return Err(fail(format!(
            "endpoint {:?} is not https; TLS is never skipped",
            endpoint.url
        )));
    }
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(endpoint.ca.clone());
    config.accept_invalid_certs = false;
    config.auth_info.token = Some(token.into());
    config.read_timeout = Some(Duration::from_secs(15));
    kube::Client::try_from(config).map_err(|e| fail(e.to_string()))
}
