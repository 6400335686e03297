//! What the scaler can change: the kinds of object it scales and their replica
//! fields, with the names Kubernetes (JSON), the config (snake_case) and the
//! annotations use.

use std::collections::BTreeMap;

/// The kind of object a policy scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `autoscaling/v2` HorizontalPodAutoscaler: its `minReplicas` / `maxReplicas`.
    HorizontalPodAutoscaler,
    /// `apps/v1` Deployment: its `replicas`.
    Deployment,
    /// `apps/v1` StatefulSet: its `replicas`.
    StatefulSet,
}

impl Kind {
    /// The config spelling (Kubernetes' `kind`).
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "HorizontalPodAutoscaler" => Some(Kind::HorizontalPodAutoscaler),
            "Deployment" => Some(Kind::Deployment),
            "StatefulSet" => Some(Kind::StatefulSet),
            _ => None,
        }
    }

    /// Kubernetes' spelling of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
        }
    }

    /// The fields a policy may change on this kind.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Kind::HorizontalPodAutoscaler => &[Field::MinReplicas, Field::MaxReplicas],
            Kind::Deployment | Kind::StatefulSet => &[Field::Replicas],
        }
    }
}

/// A replica count field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Field {
    /// An HPA's `spec.minReplicas` (config: `min_replicas`).
    #[serde(rename = "minReplicas")]
    MinReplicas,
    /// An HPA's `spec.maxReplicas` (config: `max_replicas`).
    #[serde(rename = "maxReplicas")]
    MaxReplicas,
    /// A Deployment's or StatefulSet's `spec.replicas` (config: `replicas`).
    #[serde(rename = "replicas")]
    Replicas,
}

impl Field {
    /// The config spelling.
    pub fn parse(text: &str) -> Option<Field> {
        match text {
            "min_replicas" => Some(Field::MinReplicas),
            "max_replicas" => Some(Field::MaxReplicas),
            "replicas" => Some(Field::Replicas),
            _ => None,
        }
    }

    /// The config spelling, for error messages.
    pub fn config_name(self) -> &'static str {
        match self {
            Field::MinReplicas => "min_replicas",
            Field::MaxReplicas => "max_replicas",
            Field::Replicas => "replicas",
        }
    }

    /// The Kubernetes (JSON) spelling under `spec`, also used in annotations.
    pub fn spec_name(self) -> &'static str {
        match self {
            Field::MinReplicas => "minReplicas",
            Field::MaxReplicas => "maxReplicas",
            Field::Replicas => "replicas",
        }
    }

    fn from_spec_name(text: &str) -> Option<Field> {
        match text {
            "minReplicas" => Some(Field::MinReplicas),
            "maxReplicas" => Some(Field::MaxReplicas),
            "replicas" => Some(Field::Replicas),
            _ => None,
        }
    }
}

/// Field values of one object, as observed or as to be written.
pub type Values = BTreeMap<Field, i32>;

/// `{"maxReplicas":10,"minReplicas":2}`: the annotation form of [`Values`].
pub fn values_to_json(values: &Values) -> String {
    let map: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(f, v)| (f.spec_name().to_string(), serde_json::Value::from(*v)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Reads [`values_to_json`]'s form; `None` when it is not exactly that.
pub fn values_from_json(text: &str) -> Option<Values> {
    let map: BTreeMap<String, i64> = serde_json::from_str(text).ok()?;
    map.into_iter()
        .map(|(name, v)| Some((Field::from_spec_name(&name)?, i32::try_from(v).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bad_forms_are_none() {
        let values = Values::from([(Field::MinReplicas, 2), (Field::MaxReplicas, 10)]);
        let text = values_to_json(&values);
        assert_eq!(text, r#"{"maxReplicas":10,"minReplicas":2}"#);
        assert_eq!(values_from_json(&text), Some(values));
        assert_eq!(values_from_json(r#"{"replicas":"3"}"#), None);
        assert_eq!(values_from_json(r#"{"pods":3}"#), None);
        assert_eq!(values_from_json(r#"{"replicas":99999999999}"#), None);
        assert_eq!(values_from_json("not json"), None);
    }
}
