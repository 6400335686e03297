//! What a warm container keeps between invocations: the parsed config, the compiled
//! target relabeling, each remote-write endpoint's sender (client, connections, SigV4
//! credentials) and each scrape job's client, reused while the config text is
//! unchanged.
//!
//! Why: under Lambda most invocations are warm, and parsing the config and building
//! clients and credential chains again every run was most of what a small run cost.
//! What is kept must still follow the files it came from, so each run reads the
//! config's TLS files (CA, client certificate and key) and credential files
//! (`password_file`, `credentials_file`) again: a client is rebuilt when its TLS
//! files' contents changed, and the `Authorization` header is always the one read this
//! run, so rotated secrets and CAs apply to the next run without a redeploy. EKS jobs
//! are set up every run (their token expires), and so is discovery.

use std::sync::Arc;

use function_cli::error_chain;
use prom::relabel::Relabeler;
use reqwest::header::HeaderValue;
use serde::Serialize;

use crate::config::LoadedConfig;
use crate::event::EventConfig;
use crate::http_client::{authorization_header, build_scrape_client, TlsMaterial};
use crate::job_setup::{job_at, scrape_job, JobClient, JobSetupError};
use crate::run::RunError;
use crate::scrape::ScrapeJob;
use crate::sender::{run_authorization, EndpointSender, RunEndpoint, SenderError};
use crate::HandlerError;

/// Whether this run parsed its config or reused the one parsed by an earlier run of
/// the same container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigReuse {
    /// First run of the container, or the config text changed.
    Parsed,
    /// The same text as the previous run: its parsed form was reused.
    Reused,
}

/// How much of the run's set-up was reused from the previous run (the response's
/// `prepared`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PreparedReport {
    /// Whether the config was parsed or reused.
    pub config: ConfigReuse,
    /// HTTP clients (remote-write endpoints and scrape jobs, EKS jobs excepted) built
    /// this run.
    pub clients_built: u64,
    /// HTTP clients kept from the previous run.
    pub clients_reused: u64,
}

/// One scrape job as the run gets it.
#[derive(Debug)]
pub enum PreparedJob {
    /// Ready to scrape.
    Ready(Arc<ScrapeJob>),
    /// Its set-up failed this run: its targets are down with this error (causes
    /// included).
    Refused(String),
    /// An EKS job: the run sets it up itself, as its token must be fresh.
    Eks,
}

/// What one run starts from.
#[derive(Debug)]
pub struct RunInputs {
    /// The parsed config (warnings included; a stale config's warning is added by the
    /// run's caller).
    pub loaded: Arc<LoadedConfig>,
    /// Each scrape config's compiled `relabel_configs`, by index.
    pub relabelers: Arc<Vec<Relabeler>>,
    /// Each remote-write endpoint, by index, with this run's credentials.
    pub endpoints: Vec<RunEndpoint>,
    /// Each scrape job, by index.
    pub jobs: Vec<PreparedJob>,
    /// What was reused.
    pub report: PreparedReport,
}

/// The container's kept set-up; empty until the first run.
#[derive(Debug, Default)]
pub struct WarmState {
    kept: Option<Kept>,
}

/// The set-up made for one config text.
#[derive(Debug)]
struct Kept {
    text: Arc<str>,
    loaded: Arc<LoadedConfig>,
    relabelers: Arc<Vec<Relabeler>>,
    senders: Vec<Option<KeptSender>>,
    jobs: Vec<Option<KeptJob>>,
}

#[derive(Debug)]
struct KeptSender {
    material: TlsMaterial,
    sender: Arc<EndpointSender>,
}

#[derive(Debug)]
struct KeptJob {
    material: TlsMaterial,
    authorization: Option<HeaderValue>,
    job: Arc<ScrapeJob>,
}

impl WarmState {
    /// The inputs of a run on config `named`: what the previous run built is reused
    /// where the config text and the files it names are unchanged, the rest is built
    /// (and kept for the next run).
    pub async fn prepare(&mut self, named: &EventConfig) -> Result<RunInputs, HandlerError> {
        let mut config_reuse = ConfigReuse::Reused;
        let kept = match self.kept.take() {
            Some(kept) if kept.text == named.text => kept,
            _ => {
                config_reuse = ConfigReuse::Parsed;
                parse(named)?
            }
        };
        let kept = self.kept.insert(kept);
        let mut report = PreparedReport {
            config: config_reuse,
            clients_built: 0,
            clients_reused: 0,
        };
        let endpoints = kept.prepare_endpoints(&mut report).await?;
        let jobs = kept.prepare_jobs(&mut report);
        Ok(RunInputs {
            loaded: kept.loaded.clone(),
            relabelers: kept.relabelers.clone(),
            endpoints,
            jobs,
            report,
        })
    }
}

/// Parses `named` and compiles its target relabeling; nothing built yet.
fn parse(named: &EventConfig) -> Result<Kept, HandlerError> {
    let loaded = named.parse()?;
    let mut relabelers = Vec::with_capacity(loaded.config.scrape_configs.len());
    for (index, sc) in loaded.config.scrape_configs.iter().enumerate() {
        relabelers.push(Relabeler::new(&sc.relabel_configs).map_err(|source| {
            RunError::Relabel {
                at: format!("scrape_configs[{index}].relabel_configs"),
                source,
            }
        })?);
    }
    Ok(Kept {
        text: named.text.clone(),
        senders: (0..loaded.config.remote_write.len())
            .map(|_| None)
            .collect(),
        jobs: (0..loaded.config.scrape_configs.len())
            .map(|_| None)
            .collect(),
        loaded: Arc::new(loaded),
        relabelers: Arc::new(relabelers),
    })
}

impl Kept {
    /// Each endpoint's sender (kept while its TLS files are unchanged) and the
    /// credentials read for this run. An endpoint that cannot be set up fails the run.
    async fn prepare_endpoints(
        &mut self,
        report: &mut PreparedReport,
    ) -> Result<Vec<RunEndpoint>, RunError> {
        let loaded = self.loaded.clone();
        let mut endpoints = Vec::with_capacity(self.senders.len());
        for ((index, rw), slot) in loaded
            .config
            .remote_write
            .iter()
            .enumerate()
            .zip(self.senders.iter_mut())
        {
            let material =
                TlsMaterial::read(&rw.http_settings(), &format!("remote_write[{index}]")).map_err(
                    |source| SenderError::Client {
                        endpoint: rw.display_name().to_string(),
                        source,
                    },
                )?;
            let sender = match slot {
                Some(kept) if kept.material == material => {
                    report.clients_reused += 1;
                    kept.sender.clone()
                }
                _ => {
                    *slot = None;
                    let sender = Arc::new(EndpointSender::new(rw, index, &material).await?);
                    report.clients_built += 1;
                    *slot = Some(KeptSender {
                        material,
                        sender: sender.clone(),
                    });
                    sender
                }
            };
            endpoints.push(RunEndpoint {
                sender,
                authorization: run_authorization(rw, index)?,
            });
        }
        Ok(endpoints)
    }

    /// Each job, ready or refused. A job's client is kept while its TLS files are
    /// unchanged, and the whole job while its credentials are too.
    fn prepare_jobs(&mut self, report: &mut PreparedReport) -> Vec<PreparedJob> {
        let loaded = self.loaded.clone();
        let config = &loaded.config;
        let default_timeout = config.global.scrape_timeout.0;
        let mut jobs = Vec::with_capacity(self.jobs.len());
        for ((index, sc), slot) in config
            .scrape_configs
            .iter()
            .enumerate()
            .zip(self.jobs.iter_mut())
        {
            if sc.eks.is_some() {
                jobs.push(PreparedJob::Eks);
                continue;
            }
            let at = job_at(sc, index);
            let settings = sc.http_settings();
            let read = TlsMaterial::read(&settings, &at)
                .and_then(|material| Ok((material, authorization_header(&settings, &at)?)));
            let (material, authorization) = match read {
                Ok(read) => read,
                Err(error) => {
                    jobs.push(PreparedJob::Refused(error_chain(&JobSetupError::from(
                        error,
                    ))));
                    continue;
                }
            };
            let kept_client = match slot.take() {
                Some(kept) if kept.material == material => {
                    report.clients_reused += 1;
                    if kept.authorization == authorization {
                        jobs.push(PreparedJob::Ready(kept.job.clone()));
                        *slot = Some(kept);
                        continue;
                    }
                    Some(kept.job.client.clone())
                }
                _ => None,
            };
            let client = match kept_client {
                Some(client) => Ok(client),
                None => {
                    report.clients_built += 1;
                    build_scrape_client(&settings, &material, &at).map_err(JobSetupError::from)
                }
            };
            let job = client.and_then(|client| {
                let job_client = JobClient {
                    client,
                    authorization: authorization.clone(),
                    api_server: None,
                };
                scrape_job(sc, index, &config.global, default_timeout, job_client)
            });
            match job {
                Ok(job) => {
                    let job = Arc::new(job);
                    *slot = Some(KeptJob {
                        material,
                        authorization,
                        job: job.clone(),
                    });
                    jobs.push(PreparedJob::Ready(job));
                }
                Err(error) => jobs.push(PreparedJob::Refused(error_chain(&error))),
            }
        }
        jobs
    }
}
