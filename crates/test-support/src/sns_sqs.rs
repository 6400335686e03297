//! Test helpers for moto's SNS and SQS: topics, SQS subscriptions that observe what
//! is published, and SNS envelopes read back from the queue.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sqs::error::DisplayErrorContext;
use serde_json::{json, Value};

/// Fake static credentials, also exported to the environment for child processes.
pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// SDK config for moto at `address` in us-east-1 with fake static credentials.
pub async fn aws_config_for(address: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(address)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "tests",
        ))
        .load()
        .await
}

/// Creates (or finds) a topic; returns its ARN.
pub async fn create_topic(sns: &aws_sdk_sns::Client, name: &str) -> Result<String, String> {
    let out = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| format!("CreateTopic {name}: {}", DisplayErrorContext(&e)))?;
    out.topic_arn()
        .map(str::to_string)
        .ok_or_else(|| format!("CreateTopic {name}: no ARN"))
}

/// A new SQS queue subscribed to `topic_arn` (SNS envelopes, not raw delivery);
/// returns the queue URL.
pub async fn subscribe_new_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic_arn: &str,
    queue_name: &str,
) -> Result<String, String> {
    let url = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await
        .map_err(|e| format!("CreateQueue {queue_name}: {}", DisplayErrorContext(&e)))?
        .queue_url()
        .map(str::to_string)
        .ok_or("CreateQueue: no URL")?;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("GetQueueAttributes: {}", DisplayErrorContext(&e)))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or("GetQueueAttributes: no QueueArn")?;
    sns.subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .map_err(|e| format!("Subscribe: {}", DisplayErrorContext(&e)))?;
    Ok(url)
}

/// An SNS notification as it arrives in an SQS queue.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsEnvelope {
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub attributes: BTreeMap<String, String>,
}

fn envelope(body: &str) -> Result<SnsEnvelope, String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("SQS body is not an SNS envelope: {e}: {body}"))?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(SnsEnvelope {
        message_id: s("MessageId").ok_or("no MessageId")?,
        topic_arn: s("TopicArn").ok_or("no TopicArn")?,
        subject: s("Subject"),
        message: s("Message").ok_or("no Message")?,
        timestamp: s("Timestamp").unwrap_or_default(),
        attributes: v
            .get("MessageAttributes")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, a)| Some((k.clone(), a.get("Value")?.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Receives (and deletes) envelopes until at least `at_least` arrived or `timeout`
/// passed; then returns what arrived (maybe more). Polls briefly once more after
/// reaching `at_least` so duplicates show up.
pub async fn receive_sns_envelopes(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    at_least: usize,
    timeout: Duration,
) -> Result<Vec<SnsEnvelope>, String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage: {}", DisplayErrorContext(&e)))?;
        let messages = out.messages();
        for m in messages {
            got.push(envelope(m.body().unwrap_or(""))?);
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| format!("DeleteMessage: {}", DisplayErrorContext(&e)))?;
            }
        }
        if (got.len() >= at_least && messages.is_empty()) || Instant::now() >= deadline {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A Lambda SNS event with one record per envelope, as Lambda delivers it.
pub fn sns_lambda_event(envelopes: &[SnsEnvelope]) -> Value {
    let records: Vec<Value> = envelopes
        .iter()
        .map(|e| {
            let attributes: serde_json::Map<String, Value> = e
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), json!({"Type": "String", "Value": v})))
                .collect();
            json!({
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": format!("{}:00000000-0000-0000-0000-000000000000", e.topic_arn),
                "Sns": {
                    "Type": "Notification",
                    "MessageId": e.message_id,
                    "TopicArn": e.topic_arn,
                    "Subject": e.subject,
                    "Message": e.message,
                    "Timestamp": e.timestamp,
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": attributes,
                }
            })
        })
        .collect();
    json!({ "Records": records })
}
