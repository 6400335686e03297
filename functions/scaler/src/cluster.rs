//! Reaching a cluster's Kubernetes API: endpoint and CA from EKS DescribeCluster
//! (cached for the life of the warm container) or from the config, a bearer token
//! (an EKS token presigned with the function's own credentials, or a static one),
//! and TLS verified against that CA, never skipped. Clients are rebuilt before their
//! token gets old, because kube never refreshes a static token.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::sync::Mutex;

use crate::config::{ClusterConfig, EksCluster};

/// A client is rebuilt (with a fresh token) when older than this: EKS accepts a
/// token for about 15 minutes after signing; rebuilding at 10 leaves a margin for
/// a long invocation and clock skew.
pub const TOKEN_REUSE: Duration = Duration::from_secs(10 * 60);

/// Why a cluster could not be reached. Names the cluster and the step.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A policy names a cluster the config does not define.
    #[error("cluster {cluster}: not in the config")]
    Unknown {
        /// The name the policy uses.
        cluster: String,
    },
    /// DescribeCluster failed (permissions, wrong name or region, throttling).
    #[error("cluster {cluster}: EKS DescribeCluster {name} in {region}: {detail}")]
    Describe {
        /// The config's name for the cluster.
        cluster: String,
        /// The EKS cluster name.
        name: String,
        /// Its region.
        region: String,
        /// The SDK's error with its causes.
        detail: String,
    },
    /// The CA bundle is unreadable or not PEM certificates.
    #[error("cluster {cluster}: CA certificate: {detail}")]
    Ca {
        /// The config's name for the cluster.
        cluster: String,
        /// What is wrong with the bundle.
        detail: String,
    },
    /// No bearer token could be made or read.
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

/// Endpoint and CA of a cluster (what DescribeCluster returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API server's `https://` URL.
    pub url: String,
    /// DER certificates of the CA bundle.
    pub ca: Vec<Vec<u8>>,
}

/// Builds and caches a kube client per configured cluster.
pub struct Clusters {
    configs: std::collections::BTreeMap<String, ClusterConfig>,
    aws: aws_config::SdkConfig,
    endpoints: Mutex<HashMap<String, (String, String)>>,
    clients: Mutex<HashMap<String, (kube::Client, Instant)>>,
    describe_calls: std::sync::atomic::AtomicU64,
}

impl Clusters {
    /// Nothing is contacted until a policy needs the cluster.
    pub fn new(
        configs: std::collections::BTreeMap<String, ClusterConfig>,
        aws: aws_config::SdkConfig,
    ) -> Clusters {
        Clusters {
            configs,
            aws,
            endpoints: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
            describe_calls: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// DescribeCluster calls made so far (they are cached; tests check that).
    pub fn describe_calls(&self) -> u64 {
        self.describe_calls
            .load(std::sync::atomic::Ordering::Relaxed)
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
        let config = self
            .configs
            .get(cluster)
            .ok_or_else(|| ClusterError::Unknown {
                cluster: cluster.to_string(),
            })?;
        let (endpoint, token) = match (&config.eks, &config.endpoint) {
            (Some(eks), _) => {
                let endpoint = self.eks_endpoint(cluster, eks).await?;
                let token = self.eks_token(cluster, eks).await?;
                (endpoint, token)
            }
            (None, Some(url)) => {
                let pem = match (&config.ca_file, &config.ca_data) {
                    (Some(path), _) => std::fs::read(path).map_err(|e| ClusterError::Ca {
                        cluster: cluster.to_string(),
                        detail: format!("cannot read {}: {e}", path.display()),
                    })?,
                    (None, Some(data)) => decode_base64(cluster, data)?,
                    (None, None) => {
                        return Err(ClusterError::Ca {
                            cluster: cluster.to_string(),
                            detail: "no ca_file or ca_data".to_string(),
                        })
                    }
                };
                let ca = pem_to_der(cluster, &pem)?;
                let source = config.token.clone().unwrap_or_default();
                let token = match (&source.eks, &source.env, &source.file) {
                    (Some(eks), _, _) => self.eks_token(cluster, eks).await?,
                    (None, Some(var), _) => {
                        std::env::var(var).map_err(|_| ClusterError::Token {
                            cluster: cluster.to_string(),
                            detail: format!("environment variable {var} is not set"),
                        })?
                    }
                    (None, None, Some(path)) => std::fs::read_to_string(path)
                        .map(|t| t.trim().to_string())
                        .map_err(|e| ClusterError::Token {
                            cluster: cluster.to_string(),
                            detail: format!("cannot read {}: {e}", path.display()),
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

    /// Endpoint and CA from DescribeCluster; the response is cached for the life of
    /// the warm container (a cluster's endpoint and CA do not change).
    async fn eks_endpoint(
        &self,
        cluster: &str,
        eks: &EksCluster,
    ) -> Result<Endpoint, ClusterError> {
        let key = format!("{}/{}", eks.region, eks.name);
        let cached = self.endpoints.lock().await.get(&key).cloned();
        let (url, data) = match cached {
            Some(found) => found,
            None => {
                let found = self.describe(cluster, eks).await?;
                self.endpoints.lock().await.insert(key, found.clone());
                found
            }
        };
        let pem = decode_base64(cluster, &data)?;
        Ok(Endpoint {
            url,
            ca: pem_to_der(cluster, &pem)?,
        })
    }

    /// DescribeCluster: the endpoint URL and the base64 CA bundle.
    async fn describe(
        &self,
        cluster: &str,
        eks: &EksCluster,
    ) -> Result<(String, String), ClusterError> {
        let fail = |detail: String| ClusterError::Describe {
            cluster: cluster.to_string(),
            name: eks.name.clone(),
            region: eks.region.clone(),
            detail,
        };
        let config = aws_sdk_eks::config::Builder::from(&self.aws)
            .region(aws_sdk_eks::config::Region::new(eks.region.clone()))
            .build();
        let client = aws_sdk_eks::Client::from_conf(config);
        self.describe_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = client
            .describe_cluster()
            .name(&eks.name)
            .send()
            .await
            .map_err(|e| fail(aws_error(&e)))?;
        let described = out
            .cluster
            .ok_or_else(|| fail("no cluster in the response".into()))?;
        let url = described
            .endpoint
            .ok_or_else(|| fail("the cluster has no endpoint (still creating?)".into()))?;
        let data = described
            .certificate_authority
            .and_then(|c| c.data)
            .ok_or_else(|| fail("the cluster has no certificateAuthority.data".into()))?;
        Ok((url, data))
    }

    async fn eks_token(&self, cluster: &str, eks: &EksCluster) -> Result<String, ClusterError> {
        let fail = |detail: String| ClusterError::Token {
            cluster: cluster.to_string(),
            detail,
        };
        let provider = self
            .aws
            .credentials_provider()
            .ok_or_else(|| fail("no AWS credentials provider".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| fail(format!("AWS credentials: {e}")))?;
        aws_signing::presign_eks_token(&eks.name, &eks.region, &credentials, SystemTime::now())
            .map_err(|e| fail(e.to_string()))
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

fn decode_base64(cluster: &str, data: &str) -> Result<Vec<u8>, ClusterError> {
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| ClusterError::Ca {
            cluster: cluster.to_string(),
            detail: format!("certificateAuthority data is not base64: {e}"),
        })
}

/// The DER certificates of a PEM bundle; an error if there are none.
pub fn pem_to_der(cluster: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>, ClusterError> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| ClusterError::Ca {
            cluster: cluster.to_string(),
            detail: format!("not a PEM certificate bundle: {e}"),
        })?;
    if certs.is_empty() {
        return Err(ClusterError::Ca {
            cluster: cluster.to_string(),
            detail: "no PEM certificate in the data".to_string(),
        });
    }
    Ok(certs)
}

/// The SDK error with its service message (DisplayErrorContext shows the chain).
pub fn aws_error<E: std::error::Error>(e: &E) -> String {
    aws_sdk_eks::error::DisplayErrorContext(e).to_string()
}
