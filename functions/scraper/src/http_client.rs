//! Building HTTP clients from Prometheus' client settings (TLS, basic auth,
//! authorization), shared by scraping and remote write. A client whose config names no
//! CA trusts the compiled-in roots ([`crate::tls_roots`]); one that names a CA trusts
//! only that CA; `insecure_skip_verify` verifies nothing.

use base64::Engine;
use reqwest::header::HeaderValue;
use reqwest::{Certificate, Client, Identity};

use crate::config::{HttpClientSettings, TlsConfig};
use crate::tls_roots::{compiled_in, compiled_in_with_client_cert, MinVersion, RootsError};

/// `User-Agent` sent on scrapes and remote-write requests.
pub const USER_AGENT: &str = concat!("serverless-pipeline-scraper/", env!("CARGO_PKG_VERSION"));

/// A client setting that cannot be turned into a working client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{at}: cannot read {file}: {source}")]
    /// A credentials or certificate file could not be read (read at each invocation, so rotated secrets are picked up).
    ReadFile {
        /// The config block, for the message.
        at: String,
        /// The file.
        file: String,
        /// Why reading it failed.
        source: std::io::Error,
    },
    /// Credentials that cannot be sent in an HTTP header.
    #[error("{at}: {reason}")]
    Invalid {
        /// The config block or field.
        at: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS settings with the compiled-in roots could not be made (a client
    /// certificate or key that cannot be used).
    #[error("{at}: {source}")]
    Roots {
        /// The config block.
        at: String,
        /// Why.
        #[source]
        source: RootsError,
    },
    /// TLS material or the client itself that the HTTP library refuses.
    #[error("{at}: {reason}")]
    Tls {
        /// The config block or field.
        at: String,
        /// What could not be used.
        reason: &'static str,
        /// The HTTP library's error.
        #[source]
        source: reqwest::Error,
    },
}

/// Idle connections kept per host by clients that send many requests to one host
/// (remote write, discovery).
const IDLE_CONNECTIONS_PER_HOST: usize = 4;

/// The PEM contents a client's TLS settings name (`ca`/`ca_file`, `cert`/`cert_file`,
/// `key`/`key_file`), read once per run. A warm container compares them with the
/// contents its client was built from, so a rotated CA or client certificate is picked
/// up by the next run while an unchanged one keeps the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsMaterial {
    /// The CA bundle trusted instead of the compiled-in roots.
    pub ca: Option<Vec<u8>>,
    /// The client certificate.
    pub cert: Option<Vec<u8>>,
    /// The client certificate's private key.
    pub key: Option<Vec<u8>>,
}

impl TlsMaterial {
    /// Reads the inline values or files of `settings`; `at` names the config block.
    pub fn read(settings: &HttpClientSettings, at: &str) -> Result<Self, ClientError> {
        let tls = &settings.tls_config;
        Ok(Self {
            ca: pem_source(&tls.ca, &tls.ca_file, &format!("{at}.tls_config.ca"))?,
            cert: pem_source(&tls.cert, &tls.cert_file, &format!("{at}.tls_config.cert"))?,
            key: pem_source(&tls.key, &tls.key_file, &format!("{at}.tls_config.key"))?,
        })
    }
}

/// Builds a client with the TLS settings of `settings`; `at` names the config block in
/// errors. Redirects are followed (Prometheus' default) and compression is negotiated.
pub fn build_client(settings: &HttpClientSettings, at: &str) -> Result<Client, ClientError> {
    let material = TlsMaterial::read(settings, at)?;
    client_keeping_idle(settings, &material, at, IDLE_CONNECTIONS_PER_HOST)
}

/// [`build_client`] from TLS material already read.
pub fn build_client_with(
    settings: &HttpClientSettings,
    material: &TlsMaterial,
    at: &str,
) -> Result<Client, ClientError> {
    client_keeping_idle(settings, material, at, IDLE_CONNECTIONS_PER_HOST)
}

/// [`build_client`] for scraping, keeping no idle connection. A scrape client scrapes
/// each target once per run, so a connection kept after a scrape is almost never used
/// again before it times out, yet it stays open: one open file per target, and Lambda
/// allows a function 1,024, fewer than a shard's targets.
pub fn build_scrape_client(
    settings: &HttpClientSettings,
    material: &TlsMaterial,
    at: &str,
) -> Result<Client, ClientError> {
    client_keeping_idle(settings, material, at, 0)
}

fn client_keeping_idle(
    settings: &HttpClientSettings,
    material: &TlsMaterial,
    at: &str,
    idle_per_host: usize,
) -> Result<Client, ClientError> {
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .gzip(true)
        .no_proxy()
        .pool_max_idle_per_host(idle_per_host);
    let tls = &settings.tls_config;
    if material.ca.is_none() && !tls.insecure_skip_verify {
        // No CA named (AMP, public endpoints, plain-http exporters): the compiled-in
        // roots, so building this client reads no file.
        let min = match tls.min_version.as_deref() {
            Some("TLS13") => MinVersion::Tls13,
            _ => MinVersion::Tls12,
        };
        let config = match &material.cert {
            None => compiled_in(min).map_err(|source| ClientError::Roots {
                at: format!("{at}.tls_config"),
                source,
            })?,
            Some(cert) => {
                compiled_in_with_client_cert(min, cert, material.key.as_deref().unwrap_or_default())
                    .map_err(|source| ClientError::Roots {
                        at: format!("{at}.tls_config.cert"),
                        source,
                    })?
            }
        };
        builder = builder.tls_backend_preconfigured(config);
    } else {
        if let Some(ca) = &material.ca {
            let certs = Certificate::from_pem_bundle(ca).map_err(|source| ClientError::Tls {
                at: format!("{at}.tls_config.ca"),
                reason: "not a PEM certificate bundle",
                source,
            })?;
            builder = builder.tls_certs_only(certs);
        }
        if let Some(cert) = &material.cert {
            let mut identity_pem = cert.clone();
            identity_pem.push(b'\n');
            identity_pem.extend_from_slice(material.key.as_deref().unwrap_or_default());
            let identity =
                Identity::from_pem(&identity_pem).map_err(|source| ClientError::Tls {
                    at: format!("{at}.tls_config.cert"),
                    reason: "client certificate and key are not valid PEM",
                    source,
                })?;
            builder = builder.identity(identity);
        }
        if tls.insecure_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        builder = apply_min_version(builder, tls);
    }
    builder.build().map_err(|source| ClientError::Tls {
        at: at.to_string(),
        reason: "cannot build HTTP client",
        source,
    })
}

fn apply_min_version(builder: reqwest::ClientBuilder, tls: &TlsConfig) -> reqwest::ClientBuilder {
    match tls.min_version.as_deref() {
        Some("TLS13") => builder.tls_version_min(reqwest::tls::Version::TLS_1_3),
        _ => builder.tls_version_min(reqwest::tls::Version::TLS_1_2),
    }
}

/// The `Authorization` header value for `settings`, reading credential files now so
/// rotated secrets are picked up on the next invocation.
pub fn authorization_header(
    settings: &HttpClientSettings,
    at: &str,
) -> Result<Option<HeaderValue>, ClientError> {
    let value = if let Some(basic) = &settings.basic_auth {
        let password = match (&basic.password, &basic.password_file) {
            (Some(p), _) => p.clone(),
            (None, Some(file)) => read_trimmed(file, &format!("{at}.basic_auth.password_file"))?,
            (None, None) => String::new(),
        };
        let raw = format!("{}:{}", basic.username, password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
        )
    } else if let Some(auth) = &settings.authorization {
        let credentials = match (&auth.credentials, &auth.credentials_file) {
            (Some(c), _) => c.clone(),
            (None, Some(file)) => {
                read_trimmed(file, &format!("{at}.authorization.credentials_file"))?
            }
            (None, None) => String::new(),
        };
        format!("{} {}", auth.auth_type, credentials)
    } else {
        return Ok(None);
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| ClientError::Invalid {
        at: at.to_string(),
        reason: "credentials contain characters not allowed in an HTTP header".into(),
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}

fn pem_source(
    inline: &Option<String>,
    file: &Option<String>,
    at: &str,
) -> Result<Option<Vec<u8>>, ClientError> {
    match (inline, file) {
        (Some(text), _) => Ok(Some(text.as_bytes().to_vec())),
        (None, Some(path)) => {
            std::fs::read(path)
                .map(Some)
                .map_err(|source| ClientError::ReadFile {
                    at: at.to_string(),
                    file: path.clone(),
                    source,
                })
        }
        (None, None) => Ok(None),
    }
}

fn read_trimmed(path: &str, at: &str) -> Result<String, ClientError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| ClientError::ReadFile {
            at: at.to_string(),
            file: path.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Authorization, BasicAuth};

    #[test]
    fn basic_auth_header() {
        let settings = HttpClientSettings {
            basic_auth: Some(BasicAuth {
                username: "Aladdin".into(),
                password: Some("open sesame".into()),
                password_file: None,
            }),
            ..Default::default()
        };
        let h = authorization_header(&settings, "x")
            .expect("ok")
            .expect("some");
        assert_eq!(h.to_str().ok(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
    }

    #[test]
    fn bearer_from_missing_file_names_the_field() {
        let settings = HttpClientSettings {
            authorization: Some(Authorization {
                auth_type: "Bearer".into(),
                credentials: None,
                credentials_file: Some("/nonexistent/token".into()),
            }),
            ..Default::default()
        };
        let err = authorization_header(&settings, "scrape_configs[0]").expect_err("must fail");
        assert!(err.to_string().contains("credentials_file"), "{err}");
        assert!(err.to_string().contains("/nonexistent/token"), "{err}");
    }
}
