//! The Kubernetes calls the scaler makes, and nothing more: read a target (values,
//! annotations, `resourceVersion`), make the writes of a change in the order
//! [`crate::write_plan`] gives them, each with the `resourceVersion` the previous one
//! returned as a precondition (HPAs in one merge patch; Deployments and StatefulSets
//! annotations on the object and `replicas` through the `scale` subresource), list
//! HPAs to see who owns a Deployment, and create an Event on the target.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Map, Value};

use crate::config::Target;
use crate::values::{Field, Kind, Values};
use crate::write_plan::{AnnotationChanges, Write};

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
    /// A change of several writes stopped part way: the first ones landed, one
    /// failed. The order of the writes keeps the original recorded whenever a value
    /// differs from it, so the next run finishes the change from the object.
    #[error(
        "change incomplete: {done} written, then {failed}; the next run finishes it from \
         what the object holds"
    )]
    Incomplete {
        /// The writes that landed, described.
        done: String,
        /// The write that failed.
        failed: Box<KubeError>,
    },
}

impl KubeError {
    /// 409: someone wrote the object since we read it (also when that stopped a
    /// change part way: a re-read finishes it).
    pub fn is_conflict(&self) -> bool {
        match self {
            KubeError::Api { code, .. } => *code == 409,
            KubeError::Incomplete { failed, .. } => failed.is_conflict(),
            _ => false,
        }
    }

    /// Whether the change stopped after some of its writes landed.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, KubeError::Incomplete { .. })
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

/// Makes `writes` in order, the first with the observed `resource_version` as a
/// precondition and each next one with the version the previous write returned, so a
/// concurrent writer makes this a 409 instead of a lost update. A write failing after
/// others landed is [`KubeError::Incomplete`].
pub async fn write(
    client: &kube::Client,
    target: &Target,
    resource_version: &str,
    writes: &[Write],
) -> Result<(), KubeError> {
    let mut version = resource_version.to_string();
    for (done, write) in writes.iter().enumerate() {
        let result = match write {
            Write::Object { annotations, spec } => {
                patch_object(client, target, &version, annotations, spec).await
            }
            Write::Scale { replicas } => patch_scale(client, target, &version, *replicas).await,
        };
        match result {
            Ok(next) => version = next,
            Err(e) if done == 0 => return Err(e),
            Err(e) => {
                return Err(KubeError::Incomplete {
                    done: writes[..done]
                        .iter()
                        .map(Write::describe)
                        .collect::<Vec<_>>()
                        .join(", "),
                    failed: Box::new(e),
                })
            }
        }
    }
    Ok(())
}

fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    }
}

/// A merge patch of the object: annotations (`null` removes one) and, for an HPA,
/// `spec` fields. Returns the new `resourceVersion`.
async fn patch_object(
    client: &kube::Client,
    target: &Target,
    resource_version: &str,
    annotations: &AnnotationChanges,
    spec: &Values,
) -> Result<String, KubeError> {
    let ns = target.namespace.as_str();
    let params = patch_params();
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
    let mut body = json!({ "metadata": metadata });
    if !spec.is_empty() {
        let fields: Map<String, Value> = spec
            .iter()
            .map(|(f, v)| (f.spec_name().to_string(), Value::from(*v)))
            .collect();
        body["spec"] = Value::Object(fields);
    }
    let patch = Patch::Merge(&body);
    let meta = match target.kind {
        Kind::HorizontalPodAutoscaler => {
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns);
            api.patch(&target.name, &params, &patch)
                .await
                .map(|o| o.metadata)
        }
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            api.patch(&target.name, &params, &patch)
                .await
                .map(|o| o.metadata)
        }
        Kind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
            api.patch(&target.name, &params, &patch)
                .await
                .map(|o| o.metadata)
        }
    }
    .map_err(|e| KubeError::from_kube(target, "patch", e))?;
    meta.resource_version
        .ok_or_else(|| unusable(target, "patch returned no resourceVersion"))
}

/// `replicas` through the `scale` subresource of a Deployment or StatefulSet.
/// Returns the object's new `resourceVersion` (a Scale carries its parent's).
async fn patch_scale(
    client: &kube::Client,
    target: &Target,
    resource_version: &str,
    replicas: i32,
) -> Result<String, KubeError> {
    let ns = target.namespace.as_str();
    let params = patch_params();
    let scale = json!({
        "metadata": { "resourceVersion": resource_version },
        "spec": { "replicas": replicas },
    });
    let patch = Patch::Merge(&scale);
    let result = match target.kind {
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            api.patch_scale(&target.name, &params, &patch).await
        }
        Kind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
            api.patch_scale(&target.name, &params, &patch).await
        }
        Kind::HorizontalPodAutoscaler => {
            return Err(unusable(
                target,
                "has no scale subresource the scaler writes",
            ))
        }
    };
    let scale = result.map_err(|e| KubeError::from_kube(target, "patch scale", e))?;
    scale
        .metadata
        .resource_version
        .ok_or_else(|| unusable(target, "patch scale returned no resourceVersion"))
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
