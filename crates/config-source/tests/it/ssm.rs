//! Reading configs from moto's SSM Parameter Store (String, SecureString, the
//! Advanced tier), the cache window, a change applying without a restart, stale values
//! served when a refresh fails, and file sources.

use test_support::services as support;

use std::time::Duration;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use config_source::{ConfigReader, ConfigSource, ConfigSourceError};

async fn ssm_client(address: &str) -> aws_sdk_ssm::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(address)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "tests",
        ))
        .load()
        .await;
    aws_sdk_ssm::Client::new(&config)
}

async fn put(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    kind: ParameterType,
    tier: ParameterTier,
) -> Result<(), String> {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .tier(tier)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(&e).to_string())
}

fn ssm_source(name: &str) -> ConfigSource {
    ConfigSource::SsmParameter(name.to_string())
}

#[tokio::test]
async fn string_and_secure_string_parameters_are_read_with_their_version() {
    let moto = support::start_moto().await.expect("moto");
    let ssm = ssm_client(&moto.address).await;
    let yaml = "route: {receiver: ops}\nreceivers: [{name: ops}]\n";
    put(
        &ssm,
        "/pipeline/alarm-handler/config",
        yaml,
        ParameterType::String,
        ParameterTier::Standard,
    )
    .await
    .expect("put");
    let secret_yaml = "global: {slack_api_url: 'https://hooks.example/T/B/X'}\n";
    put(
        &ssm,
        "/pipeline/secure",
        secret_yaml,
        ParameterType::SecureString,
        ParameterTier::Standard,
    )
    .await
    .expect("put");

    let reader = ConfigReader::with_client(ssm.clone());
    let got = reader
        .load(&ssm_source("/pipeline/alarm-handler/config"))
        .await
        .expect("load");
    assert_eq!(&*got.text, yaml);
    assert_eq!(got.version, Some(1));
    assert_eq!(got.base_dir, None);
    assert_eq!(got.stale, None);
    // SecureString comes back decrypted (moto, like SSM, returns ciphertext-ish
    // text without WithDecryption).
    let got = reader
        .load(&ssm_source("/pipeline/secure"))
        .await
        .expect("load");
    assert_eq!(&*got.text, secret_yaml);
}

#[tokio::test]
async fn an_advanced_tier_parameter_larger_than_4_kb_is_read_whole() {
    let moto = support::start_moto().await.expect("moto");
    let ssm = ssm_client(&moto.address).await;
    // A scrape config of ~7 KB: over the Standard tier's 4 KB, under Advanced's 8 KB.
    let mut yaml = String::from("scrape_configs:\n");
    let mut i = 0;
    while yaml.len() < 7000 {
        yaml.push_str(&format!(
            "  - {{job_name: job-{i:04}, static_configs: [{{targets: ['10.0.{}.{}:9100']}}]}}\n",
            i / 250,
            i % 250
        ));
        i += 1;
    }
    assert!(yaml.len() > 4096 && yaml.len() <= 8192, "{}", yaml.len());
    put(
        &ssm,
        "/pipeline/scraper/big",
        &yaml,
        ParameterType::String,
        ParameterTier::Advanced,
    )
    .await
    .expect("the Advanced tier takes up to 8 KB");
    let got = ConfigReader::with_client(ssm)
        .load(&ssm_source("/pipeline/scraper/big"))
        .await
        .expect("load");
    assert_eq!(&*got.text, yaml.as_str());
}

#[tokio::test]
async fn a_change_applies_after_the_cache_window_without_a_restart() {
    let moto = support::start_moto().await.expect("moto");
    let ssm = ssm_client(&moto.address).await;
    let name = "/pipeline/scaler/config";
    put(
        &ssm,
        name,
        "version: one\n",
        ParameterType::String,
        ParameterTier::Standard,
    )
    .await
    .expect("put");
    let window = Duration::from_millis(400);
    let reader = ConfigReader::with_client(ssm.clone()).max_age(window);
    assert_eq!(
        &*reader.load(&ssm_source(name)).await.expect("load").text,
        "version: one\n"
    );
    put(
        &ssm,
        name,
        "version: two\n",
        ParameterType::String,
        ParameterTier::Standard,
    )
    .await
    .expect("overwrite");
    // Inside the window: the cached value, no SSM call.
    let cached = reader.load(&ssm_source(name)).await.expect("load");
    assert_eq!(&*cached.text, "version: one\n");
    assert_eq!(cached.version, Some(1));
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let fresh = reader.load(&ssm_source(name)).await.expect("load");
    assert_eq!(&*fresh.text, "version: two\n");
    assert_eq!(fresh.version, Some(2));

    // With no window every load reads SSM.
    let uncached = ConfigReader::with_client(ssm.clone()).max_age(Duration::ZERO);
    assert_eq!(
        uncached
            .load(&ssm_source(name))
            .await
            .expect("load")
            .version,
        Some(2)
    );
    put(
        &ssm,
        name,
        "version: three\n",
        ParameterType::String,
        ParameterTier::Standard,
    )
    .await
    .expect("overwrite");
    assert_eq!(
        &*uncached.load(&ssm_source(name)).await.expect("load").text,
        "version: three\n"
    );
}

#[tokio::test]
async fn a_failed_refresh_serves_the_last_good_value_and_says_why() {
    let moto = support::start_moto().await.expect("moto");
    let ssm = ssm_client(&moto.address).await;
    let name = "/pipeline/alarm-handler/config";
    put(
        &ssm,
        name,
        "good: true\n",
        ParameterType::String,
        ParameterTier::Standard,
    )
    .await
    .expect("put");
    let reader = ConfigReader::with_client(ssm.clone()).max_age(Duration::ZERO);
    assert_eq!(
        reader.load(&ssm_source(name)).await.expect("load").stale,
        None
    );
    ssm.delete_parameter()
        .name(name)
        .send()
        .await
        .expect("delete");
    let stale = reader.load(&ssm_source(name)).await.expect("stale value");
    assert_eq!(&*stale.text, "good: true\n");
    let reason = stale.stale.expect("marked stale");
    assert!(
        reason.contains(name) && reason.contains("does not exist"),
        "{reason}"
    );

    // A reader that never had a value reports the error itself, naming the parameter.
    let err = ConfigReader::with_client(ssm)
        .load(&ssm_source(name))
        .await
        .expect_err("missing");
    assert!(
        matches!(&err, ConfigSourceError::SsmNotFound { name: n } if n == name),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "SSM parameter /pipeline/alarm-handler/config does not exist (or is in another region)"
    );
}

#[tokio::test]
async fn an_unreachable_ssm_endpoint_is_an_error_naming_the_parameter() {
    // Nothing listens on this port once the listener is dropped.
    let port = support::free_port();
    let ssm = ssm_client(&format!("http://127.0.0.1:{port}")).await;
    let err = ConfigReader::with_client(ssm)
        .load(&ssm_source("/pipeline/scraper/default"))
        .await
        .expect_err("unreachable");
    assert!(matches!(err, ConfigSourceError::Ssm { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("cannot read SSM parameter /pipeline/scraper/default: "),
        "{text}"
    );
}

#[tokio::test]
async fn files_are_read_every_time_with_their_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, "a: 1\n").expect("write");
    let reader = ConfigReader::new();
    let source = ConfigSource::File(path.clone());
    let got = reader.load(&source).await.expect("load");
    assert_eq!(&*got.text, "a: 1\n");
    assert_eq!(got.base_dir.as_deref(), Some(dir.path()));
    std::fs::write(&path, "a: 2\n").expect("write");
    assert_eq!(&*reader.load(&source).await.expect("load").text, "a: 2\n");

    std::fs::write(&path, "\n  \n").expect("write");
    let err = reader.load(&source).await.expect_err("empty");
    assert_eq!(
        err.to_string(),
        format!("the config from file {} is empty", path.display())
    );
    let missing = ConfigSource::File(dir.path().join("missing.yaml"));
    let err = reader.load(&missing).await.expect_err("missing");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot read config file {}: ",
            dir.path().join("missing.yaml").display()
        )),
        "{err}"
    );
    let inline = reader
        .load(&ConfigSource::Inline("b: 2".into()))
        .await
        .expect("inline");
    assert_eq!((&*inline.text, inline.base_dir), ("b: 2", None));
}
