//! What every user of the DynamoDB table shares: attribute values, reading one
//! partition through every page of a Query, and telling a failed condition (another
//! invocation got there first) from a failed call.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::AttributeValue;

/// One item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute of `item`.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A number attribute of `item`.
pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// Every item the query `request` returns, page after page (`request` is called
/// again for each page, and the page's start key set on what it returns).
pub async fn query_all<F>(
    mut request: F,
) -> Result<Vec<Item>, SdkError<QueryError, aws_sdk_dynamodb::config::http::HttpResponse>>
where
    F: FnMut() -> QueryFluentBuilder,
{
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = request()
            .set_exclusive_start_key(start.take())
            .send()
            .await?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(items),
        }
    }
}

/// Whether a call failed only because its condition did not hold.
pub fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(e, SdkError::ServiceError(service) if service.err().code() == Some("ConditionalCheckFailedException"))
}
