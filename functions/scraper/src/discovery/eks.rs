//! Reaching an EKS cluster's API server from the scraper: for `kubernetes_sd_configs`
//! with `eks:` (the LISTs) and for scrape jobs with `eks:` (scraping kubelets,
//! cAdvisor and pods through the API server's proxy, with no VPC). The endpoint and
//! CA come from DescribeCluster, cached for the warm container's life; each run signs
//! a fresh token (a token lives 15 minutes, a run far less).

use eks_access::{EksAccess, EksCluster, EksError};
use reqwest::header::HeaderValue;
use reqwest::{Certificate, Client, Url};
use tokio::sync::OnceCell;

use crate::http_client::USER_AGENT;

/// The warm container's EKS access.
static EKS: OnceCell<EksAccess> = OnceCell::const_new();

/// The EKS access, made from the default AWS config the first time.
pub async fn eks_access() -> &'static EksAccess {
    EKS.get_or_init(|| async {
        EksAccess::new(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
    })
    .await
}

/// An API server client for one run: TLS trusting only the cluster's CA, and the
/// `Authorization` header with a fresh EKS token.
pub struct EksClient {
    /// Trusts only the cluster's CA.
    pub http: Client,
    /// `Bearer k8s-aws-v1....`, marked sensitive.
    pub authorization: HeaderValue,
    /// The API server's URL.
    pub endpoint: Url,
}

/// Why no client for an EKS cluster could be made.
#[derive(Debug, thiserror::Error)]
pub enum EksClientError {
    /// DescribeCluster, the CA or the token failed.
    #[error("eks {name}: {source}")]
    Access {
        /// The EKS cluster name.
        name: String,
        /// The step that failed.
        #[source]
        source: EksError,
    },
    /// The endpoint DescribeCluster gave is not a URL.
    #[error("eks {name}: endpoint {url:?} is not a URL")]
    Endpoint {
        /// The EKS cluster name.
        name: String,
        /// The endpoint.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The TLS client could not be built from the CA.
    #[error("eks {name}: cannot build a client for {url}")]
    Client {
        /// The EKS cluster name.
        name: String,
        /// The endpoint.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

/// A client for `cluster`'s API server.
pub async fn eks_client(cluster: &EksCluster) -> Result<EksClient, EksClientError> {
    let eks = eks_access().await;
    let access = |source| EksClientError::Access {
        name: cluster.name.clone(),
        source,
    };
    let endpoint = eks.endpoint(cluster).await.map_err(access)?;
    let token = eks.token(cluster).await.map_err(access)?;
    let client_error = |source| EksClientError::Client {
        name: cluster.name.clone(),
        url: endpoint.url.clone(),
        source,
    };
    let mut roots = Vec::with_capacity(endpoint.ca.len());
    for der in &endpoint.ca {
        roots.push(Certificate::from_der(der).map_err(client_error)?);
    }
    let http = Client::builder()
        .user_agent(USER_AGENT)
        .gzip(true)
        .no_proxy()
        .tls_certs_only(roots)
        .build()
        .map_err(client_error)?;
    let url = Url::parse(&endpoint.url).map_err(|source| EksClientError::Endpoint {
        name: cluster.name.clone(),
        url: endpoint.url.clone(),
        source,
    })?;
    let mut authorization = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        access(EksError::Token {
            reason: "the token is not a valid header value".into(),
        })
    })?;
    authorization.set_sensitive(true);
    Ok(EksClient {
        http,
        authorization,
        endpoint: url,
    })
}

/// The names a pod uses for the API server (`kubernetes.default.svc:443` in
/// Prometheus' example configs); outside the cluster they mean the EKS endpoint.
const IN_CLUSTER_API_HOSTS: [&str; 4] = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// `url` with an in-cluster API server name (any port) replaced by `endpoint`'s
/// host and port; any other URL as it is.
pub fn outside_the_cluster(url: &Url, endpoint: &Url) -> Url {
    let in_cluster = url
        .host_str()
        .is_some_and(|host| IN_CLUSTER_API_HOSTS.contains(&host));
    if !in_cluster {
        return url.clone();
    }
    let mut rewritten = url.clone();
    // Both are http(s) URLs with a host, so neither call can fail; if one did, the
    // URL is scraped as written and the failure shows as that target's error.
    if rewritten.set_host(endpoint.host_str()).is_ok() {
        let _ = rewritten.set_port(endpoint.port());
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_cluster_api_names_become_the_endpoint() {
        let endpoint = Url::parse("https://ABC.gr7.eu-west-1.eks.amazonaws.com").expect("url");
        let cadvisor = Url::parse(
            "https://kubernetes.default.svc:443/api/v1/nodes/n1/proxy/metrics/cadvisor?x=1",
        )
        .expect("url");
        assert_eq!(
            outside_the_cluster(&cadvisor, &endpoint).as_str(),
            "https://abc.gr7.eu-west-1.eks.amazonaws.com/api/v1/nodes/n1/proxy/metrics/cadvisor?x=1"
        );
        let local = Url::parse("https://127.0.0.1:6443").expect("url");
        let short = Url::parse("https://kubernetes/metrics").expect("url");
        assert_eq!(
            outside_the_cluster(&short, &local).as_str(),
            "https://127.0.0.1:6443/metrics"
        );
        let pod = Url::parse("http://10.0.0.5:9100/metrics").expect("url");
        assert_eq!(outside_the_cluster(&pod, &endpoint), pod);
    }
}
