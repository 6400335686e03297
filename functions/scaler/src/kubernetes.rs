//! The Kubernetes calls the scaler makes, and nothing more: read a target (values,
//! annotations, `resourceVersion`), write it with `resourceVersion` as a
//! precondition (HPAs in one merge patch; Deployments and StatefulSets record their
//! annotations on the object, then scale through the `scale` subresource), list HPAs
//! to see who owns a Deployment, and create an Event on the target.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Map, Value};

use crate::config::Target;
use crate::values::{Field, Kind, Values};

/// Field manager name the API server records for our writes.
pub const FIELD_MANAGER: &str = "metrics-pipeline-scaler";

/// A failed Kubernetes call, with the API's `Status` (code, reason, message) when it
/// sent one, so RBAC and validation problems are readable in the log.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The API answered with an error `Status`.
    #[error("{target}: {verb}: {code} {reason}: {message}")]
    Api {
        /// The object (`cluster/namespace/kind/name`).
        target: String,
        /// What was attempted (`get`, `patch`, ...).
        verb: &'static str,
        /// The HTTP status.
        code: u16,
        /// The `Status` reason (`Forbidden`, `Conflict`, ...).
        reason: String,
        /// The `Status` message.
        message: String,
    },
    /// No answer: connection, TLS or timeout.
    #[error("{target}: {verb}: {detail}")]
    Transport {
        /// The object (`cluster/namespace/kind/name`).
        target: String,
        /// What was attempted.
        verb: &'static str,
        /// The client's error.
        detail: String,
    },
    /// The object is not what a scaler can work with (no `spec`, no HPA bounds).
    #[error("{target}: {reason}")]
    Unusable {
        /// The object (`cluster/namespace/kind/name`).
        target: String,
        /// What is missing or wrong.
        reason: String,
    },
}

impl KubeError {
    /// 409: someone wrote the object since we read it.
    pub fn is_conflict(&self) -> bool {
        matches!(self, KubeError::Api { code: 409, .. })
    }

    fn from_kube(target: &Target, verb: &'static str, e: kube::Error) -> KubeError {
        match e {
            kube::Error::Api(status) => KubeError::Api {
                target: target.to_string(),
                verb,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => KubeError::Transport {
                target: target.to_string(),
                verb,
                detail: error_chain(&other),
            },
        }
    }
}

/// `error: cause: cause`, since kube's top-level messages hide the TLS or connect
/// reason one level down.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// What a target holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The replica fields of its kind.
    pub values: Values,
    /// Its annotations (the scaler's state is among them).
    pub annotations: BTreeMap<String, String>,
    /// The version read, the precondition of the write that follows.
    pub resource_version: String,
    /// The object's UID, for the Events about it.
    pub uid: Option<String>,
}

/// Reads the target's replica fields, annotations and `resourceVersion`.
pub async fn read(client: &kube::Client, target: &Target) -> Result<Observed, KubeError> {
    let ns = target.namespace.as_str();
    let (meta, values) = match target.kind {
        Kind::HorizontalPodAutoscaler => {
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns);
            let hpa = api
                .get(&target.name)
                .await
                .map_err(|e| KubeError::from_kube(target, "get", e))?;
            let spec = hpa.spec.ok_or_else(|| unusable(target, "has no spec"))?;
            // minReplicas defaults to 1 when unset, as the API documents.
            let values = Values::from([
                (Field::MinReplicas, spec.min_replicas.unwrap_or(1)),
                (Field::MaxReplicas, spec.max_replicas),
            ]);
            (hpa.metadata, values)
        }
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            let d = api
                .get(&target.name)
                .await
                .map_err(|e| KubeError::from_kube(target, "get", e))?;
            let replicas = d.spec.and_then(|s| s.replicas).unwrap_or(1);
            (d.metadata, Values::from([(Field::Replicas, replicas)]))
        }
        Kind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
            let s = api
                .get(&target.name)
                .await
                .map_err(|e| KubeError::from_kube(target, "get", e))?;
            let replicas = s.spec.and_then(|s| s.replicas).unwrap_or(1);
            (s.metadata, Values::from([(Field::Replicas, replicas)]))
        }
    };
    let resource_version = meta
        .resource_version
        .ok_or_else(|| unusable(target, "has no metadata.resourceVersion"))?;
    Ok(Observed {
        values,
        annotations: meta.annotations.unwrap_or_default(),
        resource_version,
        uid: meta.uid,
    })
}

fn unusable(target: &Target, reason: &str) -> KubeError {
    KubeError::Unusable {
        target: target.to_string(),
        reason: reason.to_string(),
    }
}

/// Writes `annotations` (a `None` value removes the key) and `values` with the
/// observed `resourceVersion` as precondition, so a concurrent writer makes this a
/// 409 instead of a lost update. HPAs take both in one merge patch; Deployments and
/// StatefulSets first record the annotations (so the original is on the object
/// before anything changes), then scale through `scale` with the new
/// `resourceVersion` as precondition.
pub async fn write(
    client: &kube::Client,
    target: &Target,
    resource_version: &str,
    annotations: &BTreeMap<&'static str, Option<String>>,
    values: Option<&Values>,
) -> Result<(), KubeError> {
    let ns = target.namespace.as_str();
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    let annotation_map: Map<String, Value> = annotations
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                v.clone().map_or(Value::Null, Value::String),
            )
        })
        .collect();
    let mut metadata = json!({ "resourceVersion": resource_version });
    if !annotation_map.is_empty() {
        metadata["annotations"] = Value::Object(annotation_map);
    }
    match target.kind {
        Kind::HorizontalPodAutoscaler => {
            let mut body = json!({ "metadata": metadata });
            if let Some(values) = values {
                let spec: Map<String, Value> = values
                    .iter()
                    .map(|(f, v)| (f.spec_name().to_string(), Value::from(*v)))
                    .collect();
                body["spec"] = Value::Object(spec);
            }
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns);
            api.patch(&target.name, &params, &Patch::Merge(&body))
                .await
                .map_err(|e| KubeError::from_kube(target, "patch", e))?;
        }
        Kind::Deployment | Kind::StatefulSet => {
            let body = json!({ "metadata": metadata });
            let new_version = if annotations.is_empty() {
                resource_version.to_string()
            } else {
                let meta = match target.kind {
                    Kind::Deployment => {
                        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
                        api.patch(&target.name, &params, &Patch::Merge(&body))
                            .await
                            .map(|d| d.metadata)
                    }
                    _ => {
                        let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
                        api.patch(&target.name, &params, &Patch::Merge(&body))
                            .await
                            .map(|s| s.metadata)
                    }
                }
                .map_err(|e| KubeError::from_kube(target, "patch", e))?;
                meta.resource_version
                    .ok_or_else(|| unusable(target, "patch returned no resourceVersion"))?
            };
            if let Some(replicas) = values.and_then(|v| v.get(&Field::Replicas)) {
                let scale = json!({
                    "metadata": { "resourceVersion": new_version },
                    "spec": { "replicas": replicas },
                });
                let result = match target.kind {
                    Kind::Deployment => {
                        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
                        api.patch_scale(&target.name, &params, &Patch::Merge(&scale))
                            .await
                    }
                    _ => {
                        let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
                        api.patch_scale(&target.name, &params, &Patch::Merge(&scale))
                            .await
                    }
                };
                result.map_err(|e| KubeError::from_kube(target, "patch scale", e))?;
            }
        }
    }
    Ok(())
}

/// Names of the HPAs in the target's namespace whose `scaleTargetRef` is the target
/// (a Deployment or StatefulSet): scaling it directly would be undone by them.
pub async fn owning_hpas(client: &kube::Client, target: &Target) -> Result<Vec<String>, KubeError> {
    if target.kind == Kind::HorizontalPodAutoscaler {
        return Ok(Vec::new());
    }
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &target.namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| KubeError::from_kube(target, "list horizontalpodautoscalers", e))?;
    Ok(list
        .items
        .into_iter()
        .filter(|hpa| {
            hpa.spec.as_ref().is_some_and(|s| {
                s.scale_target_ref.kind == target.kind.as_str()
                    && s.scale_target_ref.name == target.name
            })
        })
        .filter_map(|hpa| hpa.metadata.name)
        .collect())
}

/// Whether an Event is routine or needs attention (Kubernetes' `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A change the policy made as intended.
    Normal,
    /// Something an operator should look at (a refused or failed change).
    Warning,
}

/// Creates a core/v1 Event on the target, so `kubectl describe` shows what the
/// scaler did and why next to the HPA's own events.
pub async fn record_event(
    client: &kube::Client,
    target: &Target,
    observed: &Observed,
    event_type: EventType,
    reason: &str,
    message: &str,
) -> Result<(), KubeError> {
    let api_version = match target.kind {
        Kind::HorizontalPodAutoscaler => "autoscaling/v2",
        Kind::Deployment | Kind::StatefulSet => "apps/v1",
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}.", target.name)),
            namespace: Some(target.namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(api_version.to_string()),
            kind: Some(target.kind.as_str().to_string()),
            name: Some(target.name.clone()),
            namespace: Some(target.namespace.clone()),
            uid: observed.uid.clone(),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        type_: Some(
            match event_type {
                EventType::Normal => "Normal",
                EventType::Warning => "Warning",
            }
            .to_string(),
        ),
        source: Some(EventSource {
            component: Some(FIELD_MANAGER.to_string()),
            host: None,
        }),
        reporting_component: Some(FIELD_MANAGER.to_string()),
        reporting_instance: Some(FIELD_MANAGER.to_string()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &target.namespace);
    api.create(&PostParams::default(), &event)
        .await
        .map_err(|e| KubeError::from_kube(target, "create event", e))?;
    Ok(())
}
