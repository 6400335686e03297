//! Setting up one scrape job: its HTTP client (TLS from the config's files, or the
//! EKS cluster's CA and token), its `Authorization`, its compiled metric relabeling
//! and its limits. A warm container keeps the client of a job whose config and TLS
//! files are unchanged ([`crate::warm`]); an EKS job is set up every run, because its
//! token expires.

use std::time::Duration;

use prom::relabel::{RelabelConfigError, Relabeler};
use reqwest::header::HeaderValue;

use crate::config::{GlobalConfig, ScrapeConfig};
use crate::discovery::eks::{eks_client, EksClientError};
use crate::http_client::ClientError;
use crate::sample_labels::LabelLimits;
use crate::scrape::ScrapeJob;

/// Why one scrape job cannot be prepared; its targets are then reported down with
/// this error's text (causes included), and the other jobs still run.
#[derive(Debug, thiserror::Error)]
pub enum JobSetupError {
    /// The client settings (TLS files, credentials) cannot be used.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The EKS cluster's client could not be set up.
    #[error("{at}.eks")]
    Eks {
        /// The job, for the message.
        at: String,
        /// Why.
        #[source]
        source: EksClientError,
    },
    /// The metric relabel rules do not compile (not expected: validation compiles
    /// them too).
    #[error("{at}.metric_relabel_configs: relabel rules do not compile")]
    Relabel {
        /// The job, for the message.
        at: String,
        /// Why.
        #[source]
        source: RelabelConfigError,
    },
}

/// How job `index` is named in errors.
pub fn job_at(sc: &ScrapeConfig, index: usize) -> String {
    format!("scrape_configs[{index}] (job_name {:?})", sc.job_name)
}

/// The job's client and how it authenticates.
pub struct JobClient {
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The `Authorization` header, credential files read for this run.
    pub authorization: Option<HeaderValue>,
    /// With `eks`: the cluster's API server.
    pub api_server: Option<reqwest::Url>,
}

/// An EKS job's client: it trusts the cluster's CA and sends a fresh EKS token, and
/// in-cluster API server names in target URLs mean the cluster's endpoint (scraping
/// through the API server's proxy).
pub async fn eks_job_client(sc: &ScrapeConfig, index: usize) -> Result<JobClient, JobSetupError> {
    let Some(cluster) = &sc.eks else {
        return Err(JobSetupError::Client(ClientError::Invalid {
            at: job_at(sc, index),
            reason: "has no eks block".into(),
        }));
    };
    let eks = eks_client(cluster)
        .await
        .map_err(|source| JobSetupError::Eks {
            at: job_at(sc, index),
            source,
        })?;
    Ok(JobClient {
        client: eks.http,
        authorization: Some(eks.authorization),
        api_server: Some(eks.endpoint),
    })
}

/// The job ready to scrape with `client`.
pub fn scrape_job(
    sc: &ScrapeConfig,
    index: usize,
    global: &GlobalConfig,
    default_timeout: Duration,
    client: JobClient,
) -> Result<ScrapeJob, JobSetupError> {
    let metric_relabeler =
        Relabeler::new(&sc.metric_relabel_configs).map_err(|source| JobSetupError::Relabel {
            at: job_at(sc, index),
            source,
        })?;
    Ok(ScrapeJob {
        client: client.client,
        authorization: client.authorization,
        api_server: client.api_server,
        metric_relabeler,
        label_limits: LabelLimits {
            label_limit: sc.label_limit.unwrap_or(global.label_limit),
            label_name_length_limit: sc
                .label_name_length_limit
                .unwrap_or(global.label_name_length_limit),
            label_value_length_limit: sc
                .label_value_length_limit
                .unwrap_or(global.label_value_length_limit),
        },
        sample_limit: sc.sample_limit.unwrap_or(global.sample_limit),
        timeout: sc.scrape_timeout.map(|d| d.0).unwrap_or(default_timeout),
        config: sc.clone(),
    })
}
