//! The executor's work budget: how much a rendering may do before it is stopped.
//!
//! Templates run inside an alarm-handler invocation, so no template (hostile or just
//! buggy) may keep it busy for long. Counting one step per node is not enough: a
//! single node can copy a megabyte-sized variable, compile a regular expression or
//! run it over a long text, and a loop repeats that node (found by fuzzing: a `range`
//! compiling the same regex in every iteration took seconds within the old node
//! count). So every step is charged what it costs, in units of about the time of
//! executing one simple node, and the total is bounded.

use serde_json::Value;

use crate::TemplateError;

/// Steps one rendering may take (a simple node is one step; about 10-25 ms of CPU
/// in release at the limit, whatever the steps are). The default message for 100
/// alerts takes under a twentieth of it (budget_tests).
pub const MAX_STEPS: usize = 1_000_000;

/// Bytes copied, compared or scanned by a linear string operation per step.
pub const BYTES_PER_STEP: usize = 16;

/// Bytes a regular expression search covers per step: searching is slower per byte
/// than copying, and much slower when the lazy DFA gives up on a large pattern.
pub const REGEX_BYTES_PER_STEP: usize = 1;

/// Steps charged for starting a regular expression search, however short the text.
pub const REGEX_SEARCH_STEPS: usize = 10;

/// Steps charged for copying one string, list item or map entry (an allocation).
const STEPS_PER_ITEM: usize = 2;

/// Steps charged and the limit they are charged against.
#[derive(Debug, Default)]
pub struct Budget {
    used: usize,
}

impl Budget {
    /// Charges `steps`, or fails without charging when that would pass
    /// [`MAX_STEPS`]; the caller charges before doing the work, so work beyond the
    /// limit is never done.
    pub fn charge(&mut self, steps: usize) -> Result<(), TemplateError> {
        match self.used.checked_add(steps) {
            Some(total) if total <= MAX_STEPS => {
                self.used = total;
                Ok(())
            }
            _ => Err(TemplateError::Exec(format!("more than {MAX_STEPS} steps"))),
        }
    }

    /// Charges a linear pass over `bytes` bytes (at least one step).
    pub fn charge_bytes(&mut self, bytes: usize) -> Result<(), TemplateError> {
        self.charge(1 + bytes / BYTES_PER_STEP)
    }

    /// Charges copying `value` (each string, list item and map entry, plus its
    /// bytes), before the copy is made.
    pub fn charge_value(&mut self, value: &Value) -> Result<(), TemplateError> {
        self.charge(value_steps(value))
    }

    /// Steps charged so far.
    pub fn used(&self) -> usize {
        self.used
    }
}

/// The cost of copying (or walking) `value`: [`STEPS_PER_ITEM`] per scalar, string,
/// list item and map entry, plus their bytes at [`BYTES_PER_STEP`]. Walking the value to price
/// it is itself proportional to that price.
pub fn value_steps(value: &Value) -> usize {
    let mut steps = 0usize;
    let mut bytes = 0usize;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        steps = steps.saturating_add(STEPS_PER_ITEM);
        match v {
            Value::String(s) => bytes = bytes.saturating_add(s.len()),
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => {
                for (key, item) in map {
                    bytes = bytes.saturating_add(key.len());
                    pending.push(item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    steps.saturating_add(bytes / BYTES_PER_STEP)
}
