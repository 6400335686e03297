//! Property test of the scaler's safety rules: 1,000 random policies, each driven by
//! a random sequence of alarm state changes, alarm events (fresh, stale and out of
//! order), reconciles, time passing and humans editing the object. Whatever happens:
//! no value the scaler writes is outside `floor..=ceiling` unless it is the recorded
//! original, an HPA never gets `minReplicas > maxReplicas`, a repeated decision
//! writes nothing, and after the alarm recovers (cooldown and rate limit allowing)
//! the object holds the recorded original again.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use scaler::config::{Adjust, Escalation, Policy, Target};
use scaler::decide::{decide, Signal};
use scaler::signal::{policy_signal, AlarmState};
use scaler::state::ScalerState;
use scaler::values::{Field, Kind, Values};

#[derive(Debug, Clone)]
enum Step {
    /// The alarm's real state changes (no event is delivered: events get lost).
    Flip(AlarmState),
    /// An event claiming a state arrives; acted on only when it agrees with the
    /// alarm's current state, as the handler does.
    Event(AlarmState),
    /// The scheduled reconcile.
    Reconcile,
    /// Minutes pass.
    Wait(i64),
    /// Someone edits the object by hand.
    Edit(i32, i32),
}

fn alarm_state() -> impl Strategy<Value = AlarmState> {
    prop_oneof![
        3 => Just(AlarmState::Alarm),
        3 => Just(AlarmState::Ok),
        1 => Just(AlarmState::InsufficientData),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => alarm_state().prop_map(Step::Flip),
        3 => alarm_state().prop_map(Step::Event),
        3 => Just(Step::Reconcile),
        3 => (1i64..40).prop_map(Step::Wait),
        1 => (1i32..60, 1i32..60).prop_map(|(a, b)| Step::Edit(a, b)),
    ]
}

fn adjust() -> impl Strategy<Value = Adjust> {
    prop_oneof![
        (-5i64..60).prop_map(Adjust::Set),
        (-5i64..10).prop_map(Adjust::Add),
        (0.25f64..4.0).prop_map(Adjust::Multiply),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    policy: Policy,
    initial: Values,
    steps: Vec<Step>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(Kind::HorizontalPodAutoscaler), Just(Kind::Deployment)],
        proptest::option::of(adjust()),
        proptest::option::of(adjust()),
        1i32..10,
        0i32..40,
        proptest::option::of((1u64..30, 1u32..6)),
        0u64..40,
        2u32..8,
        (1i32..30, 0i32..30),
        proptest::collection::vec(step(), 1..60),
    )
        .prop_map(
            |(kind, a, b, floor, span, escalation, cooldown, max_changes, (v1, v2), steps)| {
                let mut while_firing = BTreeMap::new();
                let escalating = escalation.is_some();
                // Escalation needs add or multiply (the config refuses set with it).
                let fix = |adj: Adjust| match adj {
                    Adjust::Set(v) if escalating => Adjust::Add(v.clamp(-3, 5)),
                    other => other,
                };
                let default = Adjust::Add(3);
                match kind {
                    Kind::HorizontalPodAutoscaler => {
                        if let Some(a) = a {
                            while_firing.insert(Field::MinReplicas, fix(a));
                        }
                        while_firing.insert(Field::MaxReplicas, fix(b.unwrap_or(default)));
                    }
                    _ => {
                        while_firing.insert(Field::Replicas, fix(a.or(b).unwrap_or(default)));
                    }
                }
                let initial = match kind {
                    Kind::HorizontalPodAutoscaler => Values::from([
                        (Field::MinReplicas, v1.min(v1 + v2)),
                        (Field::MaxReplicas, v1 + v2),
                    ]),
                    _ => Values::from([(Field::Replicas, v2)]),
                };
                let policy = Policy {
                    name: "p".into(),
                    alarms: vec!["alarm".into()],
                    matchers: vec![],
                    target: Target {
                        cluster: "c".into(),
                        namespace: "n".into(),
                        kind,
                        name: "x".into(),
                    },
                    while_firing,
                    floor: if kind == Kind::HorizontalPodAutoscaler {
                        floor
                    } else {
                        floor - 1
                    },
                    ceiling: floor + span,
                    escalation: escalation.map(|(minutes, max_steps)| Escalation {
                        every: Duration::from_secs(minutes * 60),
                        max_steps,
                    }),
                    cooldown: Duration::from_secs(cooldown * 60),
                    max_changes_per_hour: max_changes,
                    dry_run: false,
                };
                Case {
                    policy,
                    initial,
                    steps,
                }
            },
        )
}

/// The object under test, and what the scaler did to it.
struct World {
    values: Values,
    state: ScalerState,
    now: DateTime<Utc>,
    alarm: AlarmState,
}

impl World {
    /// One run of the policy against the object, as the handler does it; checks the
    /// write against the bounds and that deciding again writes nothing.
    fn run(&mut self, policy: &Policy) -> Result<(), TestCaseError> {
        let states = BTreeMap::from([("alarm".to_string(), self.alarm)]);
        let signal: Signal = policy_signal(
            policy,
            &states,
            &BTreeMap::new(),
            Duration::from_secs(3600),
            self.now,
        );
        let decision = decide(policy, &self.values, &self.state, signal, self.now);
        if let Some(write) = &decision.write {
            // The original in force for this write: recorded before (or by) it.
            let original = decision
                .state
                .applied
                .as_ref()
                .or(self.state.applied.as_ref())
                .map(|a| a.original.clone())
                .unwrap_or_else(|| self.values.clone());
            for (field, value) in write {
                let in_bounds = (policy.floor..=policy.ceiling).contains(value);
                prop_assert!(
                    in_bounds || original.get(field) == Some(value),
                    "{field:?} written {value}, bounds {}..={}, original {original:?}",
                    policy.floor,
                    policy.ceiling
                );
            }
            self.values.extend(write.iter().map(|(f, v)| (*f, *v)));
        }
        if let (Some(min), Some(max)) = (
            self.values.get(&Field::MinReplicas),
            self.values.get(&Field::MaxReplicas),
        ) {
            prop_assert!(min <= max, "HPA min {min} > max {max}");
        }
        self.state = decision.state;
        // The same run again (a duplicate event, a second concurrent invocation that
        // lost the race and re-read) changes nothing.
        let again = decide(policy, &self.values, &self.state, signal, self.now);
        prop_assert_eq!(again.write, None, "a repeated decision wrote again");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn bounds_hold_and_recovery_restores_the_original(case in case()) {
        let policy = &case.policy;
        let mut world = World {
            values: case.initial.clone(),
            state: ScalerState::default(),
            now: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            alarm: AlarmState::Ok,
        };
        for step in &case.steps {
            match step {
                Step::Flip(state) => world.alarm = *state,
                Step::Event(claimed) => {
                    if *claimed == world.alarm {
                        world.run(policy)?;
                    }
                }
                Step::Reconcile => world.run(policy)?,
                Step::Wait(minutes) => world.now += chrono::Duration::minutes(*minutes),
                Step::Edit(a, b) => match policy.target.kind {
                    Kind::HorizontalPodAutoscaler => {
                        world.values.insert(Field::MinReplicas, (*a).min(*b));
                        world.values.insert(Field::MaxReplicas, (*a).max(*b));
                    }
                    _ => {
                        world.values.insert(Field::Replicas, *a);
                    }
                },
            }
        }
        // What the object must return to: the original recorded for the episode in
        // force, or (nothing applied) whatever it holds now.
        let expected = world
            .state
            .applied
            .as_ref()
            .map(|a| a.original.clone())
            .unwrap_or_else(|| world.values.clone());
        // Recovery: the alarm is OK and reconciles run every 5 minutes for 3 hours
        // (past any cooldown and any rate-limit window).
        world.alarm = AlarmState::Ok;
        for _ in 0..36 {
            world.run(policy)?;
            world.now += chrono::Duration::minutes(5);
        }
        prop_assert_eq!(&world.state.applied, &None, "still applied after recovery");
        prop_assert_eq!(&world.values, &expected, "not back at the original");
    }
}
