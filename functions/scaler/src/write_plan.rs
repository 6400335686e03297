//! The writes one change takes, and their order. A Deployment or StatefulSet change
//! takes two writes (annotations on the object, `replicas` through the `scale`
//! subresource, which cannot carry annotations), and either may fail, time out or
//! lose its answer after it landed. The order is chosen so that whatever prefix of
//! the writes landed, the object is one the next run finishes correctly:
//!
//! - while the change keeps the record (apply, escalate, reassert), the record goes
//!   first: a value that differs from the original is never on the object without
//!   the original recorded next to it;
//! - when the change removes the record (restore), the value goes first: the record
//!   stays until the original is back, so a failed second write leaves a record whose
//!   value is already the original, which the next run finishes
//!   ([`crate::decide`] recognises it).
//!
//! An HPA takes annotations and spec in one merge patch: all or nothing.

use std::collections::BTreeMap;

use crate::values::{Field, Kind, Values};

/// Annotation changes: a `None` value removes the key (a merge patch's `null`).
pub type AnnotationChanges = BTreeMap<&'static str, Option<String>>;

/// Whether the scaler's record (the original values) is on the object after the
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Applied after the change: the record is written (or kept) by it.
    Kept,
    /// Nothing applied after the change: the record is removed by it (restore).
    Removed,
}

/// One write of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// A merge patch of the object itself: annotations and, for an HPA, its spec
    /// fields.
    Object {
        /// Annotations to set or remove.
        annotations: AnnotationChanges,
        /// HPA `spec` fields to set (empty for Deployments and StatefulSets).
        spec: Values,
    },
    /// `spec.replicas` through the `scale` subresource.
    Scale {
        /// The replica count written.
        replicas: i32,
    },
}

impl Write {
    /// What the write changes, for error messages about a change that stopped part
    /// way.
    pub fn describe(&self) -> String {
        match self {
            Write::Object { annotations, spec } if spec.is_empty() => {
                format!("annotations ({} keys)", annotations.len())
            }
            Write::Object { spec, .. } => {
                format!(
                    "spec {} with annotations",
                    crate::values::values_to_json(spec)
                )
            }
            Write::Scale { replicas } => format!("replicas {replicas} (scale)"),
        }
    }
}

/// The writes of a change to an object of `kind`: `annotations` and `values` (the
/// fields whose value changes), in the crash-safe order for `record`.
pub fn plan(
    kind: Kind,
    annotations: &AnnotationChanges,
    values: Option<&Values>,
    record: Record,
) -> Vec<Write> {
    match kind {
        Kind::HorizontalPodAutoscaler => {
            let spec = values.cloned().unwrap_or_default();
            if annotations.is_empty() && spec.is_empty() {
                Vec::new()
            } else {
                vec![Write::Object {
                    annotations: annotations.clone(),
                    spec,
                }]
            }
        }
        Kind::Deployment | Kind::StatefulSet => {
            let object = (!annotations.is_empty()).then(|| Write::Object {
                annotations: annotations.clone(),
                spec: Values::new(),
            });
            let scale = values
                .and_then(|v| v.get(&Field::Replicas))
                .map(|&replicas| Write::Scale { replicas });
            let (first, second) = match record {
                Record::Kept => (object, scale),
                Record::Removed => (scale, object),
            };
            first.into_iter().chain(second).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Adjust, Escalation, Policy, Target};
    use crate::decide::{decide, Signal};
    use crate::state::{keys, ScalerState};
    use chrono::{DateTime, Duration, Utc};

    /// The object as a model: its values and annotations.
    #[derive(Debug, Clone, PartialEq)]
    struct Object {
        values: Values,
        annotations: BTreeMap<String, String>,
    }

    impl Object {
        fn state(&self) -> ScalerState {
            ScalerState::from_annotations(&self.annotations).unwrap_or_default()
        }

        fn apply(&mut self, write: &Write) {
            match write {
                Write::Object { annotations, spec } => {
                    for (k, v) in annotations {
                        match v {
                            Some(v) => self.annotations.insert((*k).to_string(), v.clone()),
                            None => self.annotations.remove(*k),
                        };
                    }
                    self.values.extend(spec.iter().map(|(f, v)| (*f, *v)));
                }
                Write::Scale { replicas } => {
                    self.values.insert(Field::Replicas, *replicas);
                }
            }
        }
    }

    fn policy(kind: Kind) -> Policy {
        let field = if kind == Kind::HorizontalPodAutoscaler {
            Field::MaxReplicas
        } else {
            Field::Replicas
        };
        Policy {
            name: "p".into(),
            alarms: vec!["a".into()],
            matchers: vec![],
            target: Target {
                cluster: "c".into(),
                namespace: "n".into(),
                kind,
                name: "x".into(),
            },
            while_firing: BTreeMap::from([(field, Adjust::Add(2))]),
            floor: 1,
            ceiling: 12,
            escalation: Some(Escalation {
                every: std::time::Duration::from_secs(600),
                max_steps: 3,
            }),
            cooldown: std::time::Duration::from_secs(600),
            max_changes_per_hour: 50,
            dry_run: false,
        }
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(minutes)
    }

    /// One run as the handler does it: decide, then the writes of the plan, of which
    /// only the first `landed` reach the object.
    fn run(p: &Policy, object: &mut Object, signal: Signal, now: DateTime<Utc>, landed: usize) {
        let state = object.state();
        let d = decide(p, &object.values, &state, signal, now);
        let annotations: AnnotationChanges = d
            .state
            .to_annotations()
            .into_iter()
            .filter(|(k, v)| object.annotations.get(*k) != v.as_ref())
            .collect();
        let record = if d.state.applied.is_some() {
            Record::Kept
        } else {
            Record::Removed
        };
        for write in plan(p.target.kind, &annotations, d.write.as_ref(), record)
            .iter()
            .take(landed)
        {
            object.apply(write);
        }
    }

    /// Every prefix of every change (apply, escalate, restore; every kind) leaves an
    /// object whose value is the original or has the original recorded, and one
    /// normal run afterwards ends where the uninterrupted change ends.
    #[test]
    fn every_prefix_keeps_the_original_and_the_next_run_converges() {
        for kind in [
            Kind::HorizontalPodAutoscaler,
            Kind::Deployment,
            Kind::StatefulSet,
        ] {
            let p = policy(kind);
            let original = match kind {
                Kind::HorizontalPodAutoscaler => {
                    Values::from([(Field::MinReplicas, 2), (Field::MaxReplicas, 5)])
                }
                _ => Values::from([(Field::Replicas, 5)]),
            };
            let fresh = Object {
                values: original.clone(),
                annotations: BTreeMap::new(),
            };
            let mut applied = fresh.clone();
            run(&p, &mut applied, Signal::Firing, at(0), usize::MAX);
            let mut cooling = applied.clone();
            run(&p, &mut cooling, Signal::Ok, at(1), usize::MAX);
            // (name, object before, signal, time of the change, time of the next run)
            let cases = [
                ("apply", fresh, Signal::Firing, at(0), at(1)),
                ("escalate", applied, Signal::Firing, at(10), at(11)),
                ("restore", cooling, Signal::Ok, at(12), at(13)),
            ];
            for (action, before, signal, when, next) in cases {
                let mut whole = before.clone();
                run(&p, &mut whole, signal, when, usize::MAX);
                let mut expected = whole.clone();
                run(&p, &mut expected, signal, next, usize::MAX);
                for landed in 0..2 {
                    let mut partial = before.clone();
                    run(&p, &mut partial, signal, when, landed);
                    let recorded = partial.annotations.get(keys::ORIGINAL);
                    assert!(
                        partial.values == original
                            || recorded == Some(&crate::values::values_to_json(&original)),
                        "{kind:?} {action}: after {landed} writes {partial:?} has no original"
                    );
                    run(&p, &mut partial, signal, next, usize::MAX);
                    assert_eq!(
                        partial.values, expected.values,
                        "{kind:?} {action}: {landed} writes then a run"
                    );
                    assert_eq!(
                        partial.annotations.get(keys::ORIGINAL),
                        expected.annotations.get(keys::ORIGINAL),
                        "{kind:?} {action}: {landed} writes then a run"
                    );
                    assert_eq!(
                        partial.annotations.get(keys::STEP),
                        expected.annotations.get(keys::STEP),
                        "{kind:?} {action}: {landed} writes then a run"
                    );
                }
            }
        }
    }

    #[test]
    fn record_first_while_applied_value_first_on_restore() {
        let annotations: AnnotationChanges =
            BTreeMap::from([(keys::ORIGINAL, Some("{\"replicas\":3}".to_string()))]);
        let five = Values::from([(Field::Replicas, 5)]);
        let object = Write::Object {
            annotations: annotations.clone(),
            spec: Values::new(),
        };
        let scale = Write::Scale { replicas: 5 };
        assert_eq!(
            plan(Kind::Deployment, &annotations, Some(&five), Record::Kept),
            vec![object.clone(), scale.clone()]
        );
        assert_eq!(
            plan(
                Kind::StatefulSet,
                &annotations,
                Some(&five),
                Record::Removed
            ),
            vec![scale, object]
        );
        let hpa = Values::from([(Field::MaxReplicas, 15)]);
        assert_eq!(
            plan(
                Kind::HorizontalPodAutoscaler,
                &annotations,
                Some(&hpa),
                Record::Removed
            ),
            vec![Write::Object {
                annotations,
                spec: hpa
            }],
            "an HPA change is one patch"
        );
        assert!(plan(Kind::Deployment, &BTreeMap::new(), None, Record::Kept).is_empty());
    }
}
