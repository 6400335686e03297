//! The HTTP client settings Prometheus shares between `scrape_configs` and
//! `remote_write`: authentication and TLS, as written, and gathered into one
//! [`HttpClientSettings`] per client. Their checks are in `validate.rs`.

use serde::Deserialize;

use super::file::{RemoteWriteConfig, ScrapeConfig};

/// `basic_auth` as Prometheus writes it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name. Required.
    pub username: String,
    /// The password, inline. At most one of `password` and `password_file`.
    /// Default: none.
    #[serde(default)]
    pub password: Option<String>,
    /// A file holding the password, read when the client is built. Default: none.
    #[serde(default)]
    pub password_file: Option<String>,
}

/// `authorization` as Prometheus writes it: an `Authorization: <type> <credentials>`
/// header.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Authorization {
    /// The scheme (`type` in YAML). Default: `Bearer`. `Basic` is refused: that is
    /// what `basic_auth` is for.
    #[serde(rename = "type")]
    pub auth_type: String,
    /// The credentials, inline. At most one of `credentials` and `credentials_file`.
    /// Default: none.
    pub credentials: Option<String>,
    /// A file holding the credentials, read when the client is built. Default: none.
    pub credentials_file: Option<String>,
}

impl Default for Authorization {
    fn default() -> Self {
        Self {
            auth_type: "Bearer".into(),
            credentials: None,
            credentials_file: None,
        }
    }
}

/// `tls_config` as Prometheus writes it. Each PEM may be given inline or as a file,
/// not both.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// CA certificates (PEM, inline) trusted instead of the compiled-in Mozilla roots. Default: none.
    pub ca: Option<String>,
    /// A PEM file of CA certificates. Default: none.
    pub ca_file: Option<String>,
    /// Client certificate (PEM, inline), with `key`. Default: none.
    pub cert: Option<String>,
    /// A PEM file with the client certificate. Default: none.
    pub cert_file: Option<String>,
    /// Client private key (PEM, inline), with `cert`. Default: none.
    pub key: Option<String>,
    /// A PEM file with the client private key. Default: none.
    pub key_file: Option<String>,
    /// Refused when set: the URL's host name is used for SNI and verification.
    pub server_name: Option<String>,
    /// Skip certificate verification (testing only). Default: false.
    pub insecure_skip_verify: bool,
    /// Lowest TLS version, `TLS12` or `TLS13`. Default: TLS 1.2.
    pub min_version: Option<String>,
}

/// Authentication and TLS of one client, gathered from the fields a scrape config or
/// remote-write config carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpClientSettings {
    /// HTTP basic authentication, if any.
    pub basic_auth: Option<BasicAuth>,
    /// The `Authorization` header, with `bearer_token(_file)` folded in.
    pub authorization: Option<Authorization>,
    /// TLS settings.
    pub tls_config: TlsConfig,
}

impl HttpClientSettings {
    /// Gathers a config block's client fields, folding the deprecated
    /// `bearer_token(_file)` into `authorization` as Prometheus does.
    pub fn new(
        basic_auth: &Option<BasicAuth>,
        authorization: &Option<Authorization>,
        bearer_token: &Option<String>,
        bearer_token_file: &Option<String>,
        tls_config: &TlsConfig,
    ) -> Self {
        let authorization = authorization.clone().or_else(|| {
            (bearer_token.is_some() || bearer_token_file.is_some()).then(|| Authorization {
                auth_type: "Bearer".into(),
                credentials: bearer_token.clone(),
                credentials_file: bearer_token_file.clone(),
            })
        });
        Self {
            basic_auth: basic_auth.clone(),
            authorization,
            tls_config: tls_config.clone(),
        }
    }
}

impl ScrapeConfig {
    /// Authentication and TLS for this job's client.
    pub fn http_settings(&self) -> HttpClientSettings {
        HttpClientSettings::new(
            &self.basic_auth,
            &self.authorization,
            &self.bearer_token,
            &self.bearer_token_file,
            &self.tls_config,
        )
    }
}

impl RemoteWriteConfig {
    /// Authentication and TLS for this endpoint's client.
    pub fn http_settings(&self) -> HttpClientSettings {
        HttpClientSettings::new(
            &self.basic_auth,
            &self.authorization,
            &self.bearer_token,
            &self.bearer_token_file,
            &self.tls_config,
        )
    }
}
