//! The path a function takes: `<PREFIX>_CONFIG_SSM_PARAMETER` in the environment, the
//! process-wide reader with its client from the standard AWS variables
//! (`AWS_ENDPOINT_URL`, region, credentials). Its own test binary because it sets
//! process environment variables.

use test_support::services as support;

use config_source::ConfigSource;

#[tokio::test]
async fn the_shared_reader_follows_the_standard_aws_environment() {
    let moto = support::start_moto().await.expect("moto");
    for (key, value) in [
        ("AWS_ENDPOINT_URL", moto.address.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("FROMENV_TEST_CONFIG_SSM_PARAMETER", "/fromenv/config"),
    ] {
        std::env::set_var(key, value);
    }
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_ssm::Client::new(&aws)
        .put_parameter()
        .name("/fromenv/config")
        .value("policies: []\n")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("put");

    let source = ConfigSource::from_env("FROMENV_TEST").expect("one source");
    assert_eq!(source, ConfigSource::SsmParameter("/fromenv/config".into()));
    let got = source.load().await.expect("load");
    assert_eq!(&*got.text, "policies: []\n");
    assert_eq!(got.version, Some(1));

    std::env::set_var("FROMENV_TEST_CONFIG", "policies: []");
    let err = ConfigSource::from_env("FROMENV_TEST").expect_err("two sources");
    assert!(
        err.to_string()
            .contains("FROMENV_TEST_CONFIG, FROMENV_TEST_CONFIG_SSM_PARAMETER"),
        "{err}"
    );
}
