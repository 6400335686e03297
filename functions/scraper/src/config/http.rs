//! The HTTP client settings Prometheus shares between `scrape_configs` and
//! `remote_write`: authentication and TLS.

use serde::Deserialize;

/// `basic_auth` as Prometheus writes it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
}

/// `authorization` as Prometheus writes it (type defaults to `Bearer`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    #[serde(default = "default_auth_type", rename = "type")]
    pub auth_type: String,
    #[serde(default)]
    pub credentials: Option<String>,
    #[serde(default)]
    pub credentials_file: Option<String>,
}

fn default_auth_type() -> String {
    "Bearer".into()
}

/// `tls_config` as Prometheus writes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub ca: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub min_version: Option<String>,
}

/// Authentication and TLS of one client, gathered from the fields a scrape config or
/// remote-write config carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpClientSettings {
    pub basic_auth: Option<BasicAuth>,
    pub authorization: Option<Authorization>,
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

    /// Checks the combinations Prometheus rejects; `at` names the config block.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        if self.basic_auth.is_some() && self.authorization.is_some() {
            return Err(format!(
                "{at}: at most one of basic_auth, authorization and bearer_token/bearer_token_file may be set"
            ));
        }
        if let Some(b) = &self.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err(format!(
                    "{at}.basic_auth: at most one of password and password_file may be set"
                ));
            }
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(format!(
                    "{at}.authorization: at most one of credentials and credentials_file may be set"
                ));
            }
            if a.auth_type.eq_ignore_ascii_case("basic") {
                return Err(format!(
                    "{at}.authorization.type: authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                ));
            }
        }
        let t = &self.tls_config;
        for (a, b, name) in [
            (&t.ca, &t.ca_file, "ca"),
            (&t.cert, &t.cert_file, "cert"),
            (&t.key, &t.key_file, "key"),
        ] {
            if a.is_some() && b.is_some() {
                return Err(format!(
                    "{at}.tls_config: at most one of {name} and {name}_file may be set"
                ));
            }
        }
        let has_cert = t.cert.is_some() || t.cert_file.is_some();
        let has_key = t.key.is_some() || t.key_file.is_some();
        if has_cert != has_key {
            return Err(format!(
                "{at}.tls_config: client cert and key must be configured together"
            ));
        }
        if t.server_name.is_some() {
            return Err(format!(
                "{at}.tls_config.server_name: not supported; the URL's host name is used for SNI and verification"
            ));
        }
        if let Some(v) = &t.min_version {
            if !matches!(v.as_str(), "TLS12" | "TLS13") {
                return Err(format!(
                    "{at}.tls_config.min_version: {v:?} is not supported (TLS12 or TLS13)"
                ));
            }
        }
        Ok(())
    }
}
