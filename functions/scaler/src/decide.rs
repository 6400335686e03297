//! The policy's decision for one object, as a pure function of the policy, what the
//! object holds now (values and recorded state), whether the triggers fire, and the
//! time. Everything that makes the scaler safe lives here, where it is tested
//! exhaustively: targets come from the recorded original (so repeated events change
//! nothing), every written value stays within `floor..=ceiling` (or is the original),
//! restore waits for the cooldown, and the rate limit caps changes per hour.

use chrono::{DateTime, Duration, Utc};

use crate::config::{Adjust, Policy};
use crate::state::{Applied, ScalerState};
use crate::values::{Field, Kind, Values};

/// Whether a policy's triggers fire, as far as the scaler can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// At least one trigger fires.
    Firing,
    /// Every trigger is known to be OK.
    Ok,
    /// Nothing fires, but some trigger's state is unknown (INSUFFICIENT_DATA, missing
    /// alarm): keep whatever is in place, start no cooldown.
    Unknown,
}

/// What the decision does, for logs, Kubernetes Events and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing applied and nothing to apply.
    Idle,
    /// Applied, still firing, nothing to change.
    Steady,
    /// Unknown signal: nothing changes.
    Hold,
    /// First change of a firing episode.
    Apply {
        /// The step applied: 1 (escalation comes as [`Action::Escalate`]).
        step: u32,
    },
    /// A further escalation step.
    Escalate {
        /// The step in place.
        from: u32,
        /// The step written.
        to: u32,
    },
    /// The object no longer holds what the policy applied (someone edited it): write
    /// the policy's values again.
    Reassert {
        /// The step written again.
        step: u32,
    },
    /// Triggers OK; the cooldown starts now.
    CooldownStarted,
    /// Triggers OK, cooldown running.
    Cooling {
        /// Seconds left until the originals are restored.
        remaining_seconds: i64,
    },
    /// Firing again during the cooldown: the cooldown is cancelled.
    CooldownCancelled,
    /// OK for the whole cooldown: the originals are written back.
    Restore,
    /// A change was due but the hourly limit is reached; it is retried later.
    RateLimited {
        /// The change that was due.
        wanted: Box<Action>,
    },
}

impl Action {
    /// A short stable name (summary counters, Event reasons).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Idle => "idle",
            Action::Steady => "steady",
            Action::Hold => "hold",
            Action::Apply { .. } => "apply",
            Action::Escalate { .. } => "escalate",
            Action::Reassert { .. } => "reassert",
            Action::CooldownStarted => "cooldown_started",
            Action::Cooling { .. } => "cooling",
            Action::CooldownCancelled => "cooldown_cancelled",
            Action::Restore => "restore",
            Action::RateLimited { .. } => "rate_limited",
        }
    }
}

/// The outcome: what to write, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What was decided.
    pub action: Action,
    /// The fields to write, when any value changes.
    pub write: Option<Values>,
    /// The state to record (compare with the old one to know whether to write it).
    pub state: ScalerState,
}

/// The rate-limit window.
pub fn rate_window() -> Duration {
    Duration::hours(1)
}

/// Decides what `policy` does to an object holding `current` (every field of the
/// policy's kind) and `state`, given `signal`, at `now`.
pub fn decide(
    policy: &Policy,
    current: &Values,
    state: &ScalerState,
    signal: Signal,
    now: DateTime<Utc>,
) -> Decision {
    let mut next = state.clone();
    next.changes.retain(|t| now - *t < rate_window());
    let limited = next.changes.len() >= policy.max_changes_per_hour as usize;
    let cooldown = Duration::from_std(policy.cooldown).unwrap_or(Duration::MAX);

    // A value change: written unless the rate limit says no.
    let change = |mut next: ScalerState, action: Action, values: Values| -> Decision {
        let write = changed_fields(current, &values);
        if write.is_none() {
            return Decision {
                action,
                write,
                state: next,
            };
        }
        if limited {
            return Decision {
                action: Action::RateLimited {
                    wanted: Box::new(action),
                },
                write: None,
                state: state_without_change(state, now),
            };
        }
        next.changes.push(now);
        Decision {
            action,
            write,
            state: next,
        }
    };

    // A restore whose value write landed but whose record removal did not (it failed
    // after the value was back; see `crate::write_plan`) is finished, not resumed: the
    // episode is over, so firing again starts a new one from step 1 instead of
    // continuing the old episode's escalation. The restore's value change is counted.
    let applied = match state.applied.clone() {
        Some(a) if signal == Signal::Firing && restore_landed(policy, &a, current, now) => {
            next.applied = None;
            next.changes.push(now);
            None
        }
        other => other,
    };

    match (signal, applied) {
        (Signal::Firing, None) => {
            let original: Values = current
                .iter()
                .filter(|(f, _)| policy.target.kind.fields().contains(f))
                .map(|(f, v)| (*f, *v))
                .collect();
            let target = targets(policy, &original, 1);
            next.applied = Some(Applied {
                policy: policy.name.clone(),
                original,
                applied: target.clone(),
                step: 1,
                firing_since: now,
                ok_since: None,
            });
            change(next, Action::Apply { step: 1 }, target)
        }
        (Signal::Firing, Some(applied)) => {
            let due = step_at(policy, applied.firing_since, now).max(applied.step);
            // Steps that change nothing (everything at the ceiling) are not taken,
            // so the annotation does not churn.
            let step = if targets(policy, &applied.original, due)
                == targets(policy, &applied.original, applied.step)
            {
                applied.step
            } else {
                due
            };
            let target = targets(policy, &applied.original, step);
            let action = if step > applied.step {
                Action::Escalate {
                    from: applied.step,
                    to: step,
                }
            } else if changed_fields(current, &target).is_some() {
                Action::Reassert { step }
            } else if applied.ok_since.is_some() {
                Action::CooldownCancelled
            } else {
                Action::Steady
            };
            next.applied = Some(Applied {
                applied: target.clone(),
                step,
                ok_since: None,
                ..applied
            });
            change(next, action, target)
        }
        (Signal::Ok, Some(applied)) => {
            let ok_since = applied.ok_since.unwrap_or(now);
            if now - ok_since >= cooldown {
                next.applied = None;
                change(next, Action::Restore, applied.original.clone())
            } else if applied.ok_since.is_none() {
                next.applied = Some(Applied {
                    ok_since: Some(now),
                    ..applied
                });
                Decision {
                    action: Action::CooldownStarted,
                    write: None,
                    state: next,
                }
            } else {
                Decision {
                    action: Action::Cooling {
                        remaining_seconds: (cooldown - (now - ok_since)).num_seconds(),
                    },
                    write: None,
                    state: next,
                }
            }
        }
        (Signal::Ok, None) => Decision {
            action: Action::Idle,
            write: None,
            state: next,
        },
        (Signal::Unknown, applied) => Decision {
            action: if applied.is_some() {
                Action::Hold
            } else {
                Action::Idle
            },
            write: None,
            state: next,
        },
    }
}

/// Whether `applied` is a restore that wrote the original values but not the removal
/// of its record: the cooldown is over and the object holds the original, which is
/// not what the policy applied.
fn restore_landed(
    policy: &Policy,
    applied: &Applied,
    current: &Values,
    now: DateTime<Utc>,
) -> bool {
    let cooldown = Duration::from_std(policy.cooldown).unwrap_or(Duration::MAX);
    let cooled = applied.ok_since.is_some_and(|t| now - t >= cooldown);
    let holds_original = applied
        .original
        .iter()
        .all(|(f, v)| current.get(f) == Some(v));
    cooled && holds_original && applied.applied != applied.original
}

/// The recorded state when a change is refused: unchanged except for pruning.
fn state_without_change(state: &ScalerState, now: DateTime<Utc>) -> ScalerState {
    let mut s = state.clone();
    s.changes.retain(|t| now - *t < rate_window());
    s
}

/// The fields of `wanted` whose value differs from `current`, or `None`.
fn changed_fields(current: &Values, wanted: &Values) -> Option<Values> {
    let changed: Values = wanted
        .iter()
        .filter(|(f, v)| current.get(f) != Some(v))
        .map(|(f, v)| (*f, *v))
        .collect();
    (!changed.is_empty()).then_some(changed)
}

/// The escalation step due `now` for an episode that began at `since`.
pub fn step_at(policy: &Policy, since: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    let Some(escalation) = policy.escalation else {
        return 1;
    };
    let every = escalation.every.as_secs().max(1);
    let elapsed = (now - since).num_seconds().max(0) as u64;
    let step = 1 + elapsed / every;
    u32::try_from(step)
        .unwrap_or(u32::MAX)
        .min(escalation.max_steps)
}

/// The values step `step` of `policy` wants, from the recorded `original` (all fields
/// of the kind). Every changed value is within `floor..=ceiling`; a value never moves
/// against the direction of its adjustment (an original above the ceiling is not
/// lowered by an `add`), and an HPA keeps `minReplicas <= maxReplicas`.
pub fn targets(policy: &Policy, original: &Values, step: u32) -> Values {
    let mut out = original.clone();
    for (field, adjust) in &policy.while_firing {
        let Some(&orig) = original.get(field) else {
            continue;
        };
        let wanted = adjusted(orig, *adjust, step);
        let clamped = wanted.clamp(i64::from(policy.floor), i64::from(policy.ceiling));
        let orig64 = i64::from(orig);
        let value =
            if (wanted >= orig64 && clamped < orig64) || (wanted < orig64 && clamped > orig64) {
                orig64
            } else {
                clamped
            };
        out.insert(*field, i32::try_from(value).unwrap_or(orig));
    }
    if policy.target.kind == Kind::HorizontalPodAutoscaler {
        keep_hpa_valid(policy, original, &mut out);
    }
    out
}

/// Restores `minReplicas <= maxReplicas` after the adjustments: move the field the
/// policy did not ask for first (so the one it asked for holds), else the other;
/// a moved value must stay within bounds or be its original, and when neither
/// works both fields keep their originals (which the API accepted).
fn keep_hpa_valid(policy: &Policy, original: &Values, out: &mut Values) {
    let (Some(&min), Some(&max)) = (out.get(&Field::MinReplicas), out.get(&Field::MaxReplicas))
    else {
        return;
    };
    if min <= max {
        return;
    }
    let allowed = |field: Field, value: i32| {
        (policy.floor..=policy.ceiling).contains(&value) || original.get(&field) == Some(&value)
    };
    let raise_max = (Field::MaxReplicas, min);
    let lower_min = (Field::MinReplicas, max);
    let order = if policy.while_firing.contains_key(&Field::MinReplicas) {
        [raise_max, lower_min]
    } else {
        [lower_min, raise_max]
    };
    for (field, value) in order {
        if allowed(field, value) {
            out.insert(field, value);
            return;
        }
    }
    for field in [Field::MinReplicas, Field::MaxReplicas] {
        if let Some(&v) = original.get(&field) {
            out.insert(field, v);
        }
    }
}

fn adjusted(orig: i32, adjust: Adjust, step: u32) -> i64 {
    let orig = i64::from(orig);
    let step = i64::from(step);
    match adjust {
        Adjust::Set(v) => v,
        Adjust::Add(n) => orig.saturating_add(n.saturating_mul(step)),
        Adjust::Multiply(f) => {
            let factor = f.powi(i32::try_from(step).unwrap_or(i32::MAX));
            let value = orig as f64 * factor;
            let rounded = if f >= 1.0 {
                value.ceil()
            } else {
                value.floor()
            };
            // `as` saturates for out-of-range floats (and maps NaN to 0).
            rounded as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Escalation, Target};
    use std::collections::BTreeMap;

    fn policy(kind: Kind, while_firing: &[(Field, Adjust)]) -> Policy {
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
            while_firing: while_firing.iter().copied().collect::<BTreeMap<_, _>>(),
            floor: 1,
            ceiling: 40,
            escalation: None,
            cooldown: std::time::Duration::from_secs(900),
            max_changes_per_hour: 12,
            dry_run: false,
        }
    }

    fn hpa(min: i32, max: i32) -> Values {
        Values::from([(Field::MinReplicas, min), (Field::MaxReplicas, max)])
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(minutes)
    }

    #[test]
    fn seed_scenario_raise_then_restore_after_cooldown() {
        let p = policy(
            Kind::HorizontalPodAutoscaler,
            &[(Field::MaxReplicas, Adjust::Add(5))],
        );
        let d = decide(
            &p,
            &hpa(2, 10),
            &ScalerState::default(),
            Signal::Firing,
            at(0),
        );
        assert_eq!(d.action, Action::Apply { step: 1 });
        assert_eq!(d.write, Some(Values::from([(Field::MaxReplicas, 15)])));
        let applied = d.state.applied.clone();
        assert_eq!(
            applied.as_ref().map(|a| a.original.clone()),
            Some(hpa(2, 10))
        );

        // The same event again, on the raised object: nothing changes.
        let again = decide(&p, &hpa(2, 15), &d.state, Signal::Firing, at(1));
        assert_eq!(again.action, Action::Steady);
        assert_eq!(again.write, None);
        assert_eq!(again.state, d.state);

        let ok = decide(&p, &hpa(2, 15), &d.state, Signal::Ok, at(5));
        assert_eq!(ok.action, Action::CooldownStarted);
        let cooling = decide(&p, &hpa(2, 15), &ok.state, Signal::Ok, at(19));
        assert_eq!(
            cooling.action,
            Action::Cooling {
                remaining_seconds: 60
            }
        );
        let restore = decide(&p, &hpa(2, 15), &ok.state, Signal::Ok, at(20));
        assert_eq!(restore.action, Action::Restore);
        assert_eq!(
            restore.write,
            Some(Values::from([(Field::MaxReplicas, 10)]))
        );
        assert_eq!(restore.state.applied, None);
        assert_eq!(restore.state.changes, vec![at(0), at(20)]);
    }

    #[test]
    fn firing_during_cooldown_cancels_it() {
        let p = policy(Kind::Deployment, &[(Field::Replicas, Adjust::Add(2))]);
        let d = decide(
            &p,
            &Values::from([(Field::Replicas, 3)]),
            &ScalerState::default(),
            Signal::Firing,
            at(0),
        );
        let five = Values::from([(Field::Replicas, 5)]);
        let ok = decide(&p, &five, &d.state, Signal::Ok, at(1));
        let again = decide(&p, &five, &ok.state, Signal::Firing, at(2));
        assert_eq!(again.action, Action::CooldownCancelled);
        assert_eq!(again.state.applied.and_then(|a| a.ok_since), None);
    }

    #[test]
    fn escalation_steps_from_the_original_up_to_the_ceiling() {
        let mut p = policy(
            Kind::HorizontalPodAutoscaler,
            &[(Field::MaxReplicas, Adjust::Multiply(2.0))],
        );
        p.escalation = Some(Escalation {
            every: std::time::Duration::from_secs(600),
            max_steps: 10,
        });
        let d0 = decide(
            &p,
            &hpa(2, 8),
            &ScalerState::default(),
            Signal::Firing,
            at(0),
        );
        assert_eq!(d0.write, Some(Values::from([(Field::MaxReplicas, 16)])));
        let d1 = decide(&p, &hpa(2, 16), &d0.state, Signal::Firing, at(10));
        assert_eq!(d1.action, Action::Escalate { from: 1, to: 2 });
        assert_eq!(d1.write, Some(Values::from([(Field::MaxReplicas, 32)])));
        let d2 = decide(&p, &hpa(2, 32), &d1.state, Signal::Firing, at(20));
        assert_eq!(
            d2.write,
            Some(Values::from([(Field::MaxReplicas, 40)])),
            "ceiling"
        );
        let d3 = decide(&p, &hpa(2, 40), &d2.state, Signal::Firing, at(30));
        assert_eq!(d3.action, Action::Steady, "no step past the ceiling");
        assert_eq!(d3.state, d2.state);
    }

    #[test]
    fn drift_is_reasserted_and_rate_limited() {
        let mut p = policy(Kind::Deployment, &[(Field::Replicas, Adjust::Set(10))]);
        p.max_changes_per_hour = 2;
        let d = decide(
            &p,
            &Values::from([(Field::Replicas, 3)]),
            &ScalerState::default(),
            Signal::Firing,
            at(0),
        );
        let drifted = Values::from([(Field::Replicas, 4)]);
        let r = decide(&p, &drifted, &d.state, Signal::Firing, at(1));
        assert_eq!(r.action, Action::Reassert { step: 1 });
        let limited = decide(&p, &drifted, &r.state, Signal::Firing, at(2));
        assert!(matches!(limited.action, Action::RateLimited { .. }));
        assert_eq!(limited.write, None);
        let later = decide(&p, &drifted, &limited.state, Signal::Firing, at(61));
        assert_eq!(later.action, Action::Reassert { step: 1 });
    }

    #[test]
    fn values_never_cross_bounds_or_move_backwards() {
        let mut p = policy(
            Kind::HorizontalPodAutoscaler,
            &[(Field::MinReplicas, Adjust::Set(50))],
        );
        p.ceiling = 30;
        // min raised to the ceiling and max follows so min <= max.
        assert_eq!(targets(&p, &hpa(2, 10), 1), hpa(30, 30));
        // An original above the ceiling is not lowered by a raise.
        let p2 = policy(
            Kind::HorizontalPodAutoscaler,
            &[(Field::MaxReplicas, Adjust::Add(5))],
        );
        assert_eq!(targets(&p2, &hpa(2, 45), 1), hpa(2, 45));
        // Lowering max below min drags min down, never below the floor.
        let p3 = policy(
            Kind::HorizontalPodAutoscaler,
            &[(Field::MaxReplicas, Adjust::Set(3))],
        );
        assert_eq!(targets(&p3, &hpa(5, 10), 1), hpa(3, 3));
        // Huge factors saturate at the ceiling instead of overflowing.
        let p4 = policy(
            Kind::Deployment,
            &[(Field::Replicas, Adjust::Multiply(1e300))],
        );
        assert_eq!(
            targets(&p4, &Values::from([(Field::Replicas, 3)]), 1000),
            Values::from([(Field::Replicas, 40)])
        );
    }

    #[test]
    fn a_restore_whose_record_removal_failed_is_finished_not_resumed() {
        let mut p = policy(Kind::Deployment, &[(Field::Replicas, Adjust::Add(2))]);
        p.escalation = Some(Escalation {
            every: std::time::Duration::from_secs(600),
            max_steps: 3,
        });
        let three = Values::from([(Field::Replicas, 3)]);
        let applied = decide(&p, &three, &ScalerState::default(), Signal::Firing, at(0));
        let five = Values::from([(Field::Replicas, 5)]);
        let cooling = decide(&p, &five, &applied.state, Signal::Ok, at(1));
        // The restore wrote 3 and failed to remove the record: the object holds the
        // original with the record of the old episode still on it.
        let ok = decide(&p, &three, &cooling.state, Signal::Ok, at(40));
        assert_eq!((ok.action, ok.write), (Action::Restore, None));
        assert_eq!(ok.state.applied, None);
        let held = decide(&p, &three, &cooling.state, Signal::Unknown, at(40));
        assert_eq!((held.action, held.write), (Action::Hold, None));
        // Firing again 40 minutes in: a new episode at step 1, not the old one's step 3.
        let again = decide(&p, &three, &cooling.state, Signal::Firing, at(40));
        assert_eq!(again.action, Action::Apply { step: 1 });
        assert_eq!(again.write, Some(five.clone()));
        let a = again
            .state
            .applied
            .clone()
            .unwrap_or_else(|| panic!("not applied"));
        assert_eq!(
            (a.step, a.firing_since, a.original),
            (1, at(40), three.clone())
        );
        assert_eq!(again.state.changes, vec![at(0), at(40), at(40)]);
        // Within the cooldown the same object is drift of a cooling episode: cancelled
        // and reasserted, as before.
        let early = decide(&p, &three, &cooling.state, Signal::Firing, at(5));
        assert_eq!(early.action, Action::Reassert { step: 1 });
    }

    #[test]
    fn unknown_signal_holds_everything() {
        let p = policy(Kind::Deployment, &[(Field::Replicas, Adjust::Add(2))]);
        let three = Values::from([(Field::Replicas, 3)]);
        let d = decide(&p, &three, &ScalerState::default(), Signal::Unknown, at(0));
        assert_eq!((d.action, d.write), (Action::Idle, None));
        let applied = decide(&p, &three, &ScalerState::default(), Signal::Firing, at(0));
        let held = decide(
            &p,
            &Values::from([(Field::Replicas, 5)]),
            &applied.state,
            Signal::Unknown,
            at(100),
        );
        assert_eq!((held.action, held.write), (Action::Hold, None));
        assert_eq!(held.state.applied, applied.state.applied);
    }
}
