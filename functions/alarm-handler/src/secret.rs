//! Secret config values (webhook URLs, routing keys): written inline, or as a
//! reference resolved at cold start so the config file itself holds no secret.
//! Resolved values are never logged: `Debug` and `Display` print `<secret>`.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_ssm::error::DisplayErrorContext;
use serde::Deserialize;

/// How a secret is written in the config.
///
/// - `env:NAME`: the environment variable `NAME`;
/// - `ssm:/param/name`: an SSM Parameter Store parameter, decrypted (a SecureString);
///   `ssm:/aws/reference/secretsmanager/<secret-id>` reads a Secrets Manager secret
///   through SSM, so one permission model covers both;
/// - anything else: the literal value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretRef(String);

/// Where a [`SecretRef`] points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource<'a> {
    /// The value itself.
    Literal(&'a str),
    /// An environment variable's name.
    Env(&'a str),
    /// An SSM parameter's name.
    Ssm(&'a str),
}

impl SecretRef {
    /// A reference as written (`env:X`, `ssm:/x`, or a literal value).
    pub fn new(text: impl Into<String>) -> SecretRef {
        SecretRef(text.into())
    }

    /// Where the reference points.
    pub fn source(&self) -> SecretSource<'_> {
        if let Some(name) = self.0.strip_prefix("env:") {
            SecretSource::Env(name)
        } else if let Some(name) = self.0.strip_prefix("ssm:") {
            SecretSource::Ssm(name)
        } else {
            SecretSource::Literal(&self.0)
        }
    }

    /// The reference as written when it is not a literal (safe to log), else `None`.
    pub fn reference(&self) -> Option<&str> {
        match self.source() {
            SecretSource::Literal(_) => None,
            _ => Some(&self.0),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reference() {
            Some(r) => write!(f, "SecretRef({r})"),
            None => f.write_str("SecretRef(<literal>)"),
        }
    }
}

/// A resolved secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a resolved value so it is never printed.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// A secret that could not be resolved; names the reference, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// An `env:` reference names a variable that is not set.
    #[error("{field}: environment variable {name} is not set")]
    MissingEnv {
        /// The config field holding the reference.
        field: String,
        /// The variable's name.
        name: String,
    },
    /// An `ssm:` reference could not be read (missing, no access, no SSM client).
    #[error("{field}: cannot read SSM parameter {name}: {reason}")]
    Ssm {
        /// The config field holding the reference.
        field: String,
        /// The parameter's name.
        name: String,
        /// The SDK's error with its causes.
        reason: String,
    },
    /// The reference resolved to an empty value.
    #[error("{field}: the secret is empty")]
    Empty {
        /// The config field holding the reference.
        field: String,
    },
}

/// Resolves references once per warm container (SSM calls cost latency and money).
pub struct SecretResolver {
    ssm: Option<aws_sdk_ssm::Client>,
    cache: HashMap<String, Secret>,
}

impl SecretResolver {
    /// `ssm` may be `None` when no reference needs it (tests, env-only configs).
    pub fn new(ssm: Option<aws_sdk_ssm::Client>) -> SecretResolver {
        SecretResolver {
            ssm,
            cache: HashMap::new(),
        }
    }

    /// Resolves `secret` for config field `field` (named in errors).
    pub async fn resolve(
        &mut self,
        field: &str,
        secret: &SecretRef,
    ) -> Result<Secret, SecretError> {
        let value = match secret.source() {
            SecretSource::Literal(value) => Secret::new(value),
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(value) => Secret::new(value),
                Err(_) => {
                    return Err(SecretError::MissingEnv {
                        field: field.into(),
                        name: name.into(),
                    })
                }
            },
            SecretSource::Ssm(name) => {
                if let Some(hit) = self.cache.get(name) {
                    return Ok(hit.clone());
                }
                let fail = |reason: String| SecretError::Ssm {
                    field: field.into(),
                    name: name.into(),
                    reason,
                };
                let Some(ssm) = &self.ssm else {
                    return Err(fail("no SSM client configured".into()));
                };
                let output = ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| fail(DisplayErrorContext(&e).to_string()))?;
                let value = output
                    .parameter()
                    .and_then(|p| p.value())
                    .ok_or_else(|| fail("the parameter has no value".into()))?;
                let secret = Secret::new(value);
                self.cache.insert(name.to_string(), secret.clone());
                secret
            }
        };
        if value.expose().is_empty() {
            return Err(SecretError::Empty {
                field: field.into(),
            });
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_recognised_and_values_never_printed() {
        assert_eq!(
            SecretRef::new("env:SLACK_URL").source(),
            SecretSource::Env("SLACK_URL")
        );
        assert_eq!(
            SecretRef::new("ssm:/alerts/pd").source(),
            SecretSource::Ssm("/alerts/pd")
        );
        let literal = SecretRef::new("https://hooks.slack.com/services/T/B/X");
        assert_eq!(literal.reference(), None);
        assert!(!format!("{literal:?}").contains("hooks.slack.com"));
        let secret = Secret::new("routing-key-123");
        assert_eq!(format!("{secret:?} {secret}"), "<secret> <secret>");
    }

    #[tokio::test]
    async fn env_references_resolve_and_missing_ones_name_the_field() {
        std::env::set_var("ALARM_HANDLER_TEST_SECRET", "s3cr3t");
        let mut resolver = SecretResolver::new(None);
        let got = resolver
            .resolve(
                "receivers[0].url",
                &SecretRef::new("env:ALARM_HANDLER_TEST_SECRET"),
            )
            .await
            .expect("set");
        assert_eq!(got.expose(), "s3cr3t");
        let err = resolver
            .resolve(
                "receivers[1].url",
                &SecretRef::new("env:ALARM_HANDLER_NOT_SET_X"),
            )
            .await
            .expect_err("unset");
        assert_eq!(
            err.to_string(),
            "receivers[1].url: environment variable ALARM_HANDLER_NOT_SET_X is not set"
        );
        let err = resolver
            .resolve("x", &SecretRef::new("ssm:/a"))
            .await
            .expect_err("no client");
        assert!(err.to_string().contains("SSM parameter /a"), "{err}");
    }
}
