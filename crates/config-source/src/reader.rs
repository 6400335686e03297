//! Reading a [`ConfigSource`]: files and inline text every time, SSM parameters
//! through a short per-container cache (see the crate docs for why).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_ssm::error::DisplayErrorContext;

use crate::{ConfigSource, ConfigSourceError, ConfigText};

/// How long an SSM value is reused before it is read again.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30);

/// Reads config sources; holds the SSM client and the SSM cache. One per process is
/// enough ([`ConfigReader::shared`]); tests build their own with a client for a local
/// endpoint.
pub struct ConfigReader {
    client: tokio::sync::OnceCell<aws_sdk_ssm::Client>,
    max_age: Duration,
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    text: Arc<str>,
    version: Option<i64>,
    /// When the value was last read, or a refresh last failed (so a failing SSM is
    /// asked again only after `max_age`, not on every invocation).
    checked: Instant,
    /// Why the last refresh failed, while the value is an older one.
    stale: Option<String>,
}

impl Default for ConfigReader {
    fn default() -> Self {
        ConfigReader::new()
    }
}

impl ConfigReader {
    /// A reader whose SSM client comes from the default AWS chain (region,
    /// credentials, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SSM`) on first use.
    pub fn new() -> ConfigReader {
        ConfigReader {
            client: tokio::sync::OnceCell::new(),
            max_age: DEFAULT_MAX_AGE,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A reader using `client` for SSM.
    pub fn with_client(client: aws_sdk_ssm::Client) -> ConfigReader {
        ConfigReader {
            client: tokio::sync::OnceCell::new_with(Some(client)),
            ..ConfigReader::new()
        }
    }

    /// Reuse SSM values for `max_age` (zero: read on every call).
    pub fn max_age(mut self, max_age: Duration) -> ConfigReader {
        self.max_age = max_age;
        self
    }

    /// The process-wide reader that [`ConfigSource::load`] uses.
    pub fn shared() -> &'static ConfigReader {
        static SHARED: OnceLock<ConfigReader> = OnceLock::new();
        SHARED.get_or_init(ConfigReader::new)
    }

    /// Reads `source`'s text.
    pub async fn load(&self, source: &ConfigSource) -> Result<ConfigText, ConfigSourceError> {
        let loaded = match source {
            ConfigSource::File(path) => {
                let text = tokio::fs::read_to_string(path).await.map_err(|source| {
                    ConfigSourceError::File {
                        path: path.clone(),
                        source,
                    }
                })?;
                ConfigText {
                    text: text.into(),
                    base_dir: path
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .map(Path::to_path_buf),
                    version: None,
                    stale: None,
                }
            }
            ConfigSource::Inline(text) => ConfigText {
                text: text.as_str().into(),
                base_dir: None,
                version: None,
                stale: None,
            },
            ConfigSource::SsmParameter(name) => self.ssm(name).await?,
        };
        if loaded.text.trim().is_empty() {
            return Err(ConfigSourceError::Empty {
                origin: source.describe(),
            });
        }
        Ok(loaded)
    }

    async fn ssm(&self, name: &str) -> Result<ConfigText, ConfigSourceError> {
        if let Some(hit) = self.cached(name, true) {
            return Ok(hit);
        }
        // Boxed: the SDK's request future is deep, and callers nest this one inside
        // their own handler futures (rustc's layout recursion limit).
        match Box::pin(self.fetch(name)).await {
            Ok((text, version)) => {
                self.lock().insert(
                    name.to_string(),
                    Cached {
                        text: Arc::clone(&text),
                        version,
                        checked: Instant::now(),
                        stale: None,
                    },
                );
                Ok(ConfigText {
                    text,
                    base_dir: None,
                    version,
                    stale: None,
                })
            }
            Err(error) => {
                // Keep serving the last good value, and do not ask again before
                // `max_age` has passed.
                let mut cache = self.lock();
                match cache.get_mut(name) {
                    Some(entry) => {
                        entry.checked = Instant::now();
                        entry.stale = Some(error.to_string());
                        drop(cache);
                        self.cached(name, false).ok_or(error)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// The cached value (only a fresh one when `fresh_only`).
    fn cached(&self, name: &str, fresh_only: bool) -> Option<ConfigText> {
        let cache = self.lock();
        let entry = cache.get(name)?;
        if fresh_only && entry.checked.elapsed() >= self.max_age {
            return None;
        }
        Some(ConfigText {
            text: Arc::clone(&entry.text),
            base_dir: None,
            version: entry.version,
            stale: entry.stale.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // A panic while holding this lock cannot leave the map half-updated (every
        // update is a single insert or field store), so a poisoned lock is usable.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn fetch(&self, name: &str) -> Result<(Arc<str>, Option<i64>), ConfigSourceError> {
        let client = self
            .client
            .get_or_init(|| async {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                aws_sdk_ssm::Client::new(&config)
            })
            .await;
        let output = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found())
                {
                    ConfigSourceError::SsmNotFound {
                        name: name.to_string(),
                    }
                } else {
                    ConfigSourceError::Ssm {
                        name: name.to_string(),
                        reason: DisplayErrorContext(&e).to_string(),
                    }
                }
            })?;
        let parameter = output
            .parameter()
            .ok_or_else(|| ConfigSourceError::SsmNoValue {
                name: name.to_string(),
            })?;
        let text = parameter
            .value()
            .ok_or_else(|| ConfigSourceError::SsmNoValue {
                name: name.to_string(),
            })?;
        Ok((text.into(), Some(parameter.version())))
    }
}
