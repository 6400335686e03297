//! Compiled regular expressions of one rendering (`match`, `reReplaceAll`).
//!
//! Compiling is far costlier than matching a short label value, and templates call
//! these functions inside `range` with the same pattern every time (found by
//! fuzzing: one compilation per iteration made a rendering take seconds). So each
//! pattern is compiled once per rendering, and each compilation is charged to the
//! budget by the size it needed, which is bounded.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use crate::budget::Budget;
use crate::TemplateError;

/// Compiled-size limits tried in turn, with the steps charged for trying each.
/// Building a program takes time in proportion to its size (about 5 ns a byte, so
/// a lone Unicode `\w` takes 0.2 ms, and the regex crate's default limit of ten
/// megabytes 50 ms): a pattern is first built under the smallest limit, and only
/// if it does not fit is it rebuilt under the next one, charged for that size.
/// Notification patterns (`(.*):.*`, `[a-z]+-\d+`) fit the first; a pattern that
/// fits none is an error.
const SIZE_TIERS: [(usize, usize); 5] = [
    (1 << 14, 2_500),
    (1 << 16, 10_000),
    (1 << 18, 40_000),
    (1 << 20, 160_000),
    (1 << 22, 640_000),
];

/// The largest compiled pattern accepted.
const MAX_REGEX_SIZE: usize = SIZE_TIERS[SIZE_TIERS.len() - 1].0;

/// Patterns kept compiled; when one more is needed they are all dropped (and are
/// compiled and charged again if used again), so memory stays bounded.
const MAX_CACHED: usize = 64;

/// The compiled patterns of one rendering, by pattern text.
#[derive(Debug, Default)]
pub struct RegexCache {
    compiled: HashMap<String, Regex>,
}

impl RegexCache {
    /// The compiled `pattern`, compiling (and charging `budget`) if it is not cached;
    /// `function` names the template function in errors.
    pub fn get(
        &mut self,
        function: &str,
        pattern: &str,
        budget: &mut Budget,
    ) -> Result<&Regex, TemplateError> {
        // Looked up twice rather than returned from a first `get`: returning a borrow
        // from one branch would keep `compiled` borrowed in the other.
        if self.compiled.contains_key(pattern) {
            return self.compiled.get(pattern).ok_or_else(|| {
                TemplateError::Exec(format!("{function}: regex {pattern:?} not cached"))
            });
        }
        budget.charge_bytes(pattern.len())?;
        let mut built = None;
        for (limit, steps) in SIZE_TIERS {
            budget.charge(steps)?;
            match RegexBuilder::new(pattern)
                .size_limit(limit)
                .dfa_size_limit(limit)
                .build()
            {
                Err(regex::Error::CompiledTooBig(_)) => continue,
                other => {
                    built = Some(other);
                    break;
                }
            }
        }
        let regex = match built {
            Some(Ok(regex)) => regex,
            Some(Err(e)) => {
                return Err(TemplateError::Exec(format!(
                    "{function}: invalid regex {pattern:?}: {e}"
                )))
            }
            None => {
                return Err(TemplateError::Exec(format!(
                    "{function}: regex {pattern:?} compiles to more than {MAX_REGEX_SIZE} bytes"
                )))
            }
        };
        if self.compiled.len() >= MAX_CACHED {
            self.compiled.clear();
        }
        // Kept, not cloned per use: a clone of a `Regex` gets its own, empty, search
        // cache, which costs more to set up than searching a label value.
        let kept: &Regex = self.compiled.entry(pattern.to_string()).or_insert(regex);
        Ok(kept)
    }
}
