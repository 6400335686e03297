//! Executing a parsed template over JSON data with Go's text/template semantics
//! (truthiness, variable scopes, `range` over lists and sorted maps).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use crate::budget::Budget;
use crate::funcs::{call_function, call_method, is_function};
use crate::parse::{Arg, Node, Pipeline};
use crate::regex_cache::RegexCache;
use crate::TemplateError;

/// Runaway-template guards: nesting of blocks and template calls together (keeps
/// the stack bounded), output size; the work done is bounded by [`Budget`].
const MAX_DEPTH: usize = 100;
const MAX_OUTPUT: usize = 1 << 20;
/// Largest value a function may return: bytes of text plus one per list item or map
/// entry. The step and output limits do not bound values kept in variables, so
/// without it a loop that doubles one (`$x = print $x $x`, `$l = stringSlice $l $l`)
/// would grow memory exponentially within the step limit (found by fuzzing).
const MAX_VALUE: usize = MAX_OUTPUT;
/// Most iterations of `range` over a number (Go 1.22's `range 5`).
const MAX_RANGE_COUNT: u64 = 100_000;

pub struct Exec<'a> {
    pub defines: &'a HashMap<String, Vec<Node>>,
    pub out: String,
    pub depth: usize,
    /// Work done so far, charged before it is done.
    pub budget: Budget,
    regexes: RegexCache,
    vars: Vec<(String, Value)>,
}

fn exec_error(message: impl Into<String>) -> TemplateError {
    TemplateError::Exec(message.into())
}

/// Go's notion of an empty value.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// How Go's fmt prints a value with `%v`.
pub fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(display).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", map.get(*k).map(display).unwrap_or_default()))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

impl<'a> Exec<'a> {
    pub fn new(defines: &'a HashMap<String, Vec<Node>>, root: &Value) -> Exec<'a> {
        Exec {
            defines,
            out: String::new(),
            depth: 0,
            budget: Budget::default(),
            regexes: RegexCache::default(),
            vars: vec![(String::new(), root.clone())],
        }
    }

    pub fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        if self.depth >= MAX_DEPTH {
            return Err(exec_error(format!(
                "exceeded maximum template depth ({MAX_DEPTH} nested blocks and template calls)"
            )));
        }
        self.depth += 1;
        let result = self.run_nodes(nodes, dot);
        self.depth -= 1;
        result
    }

    fn run_nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        for node in nodes {
            if self.out.len() > MAX_OUTPUT {
                return Err(exec_error(format!("output exceeds {MAX_OUTPUT} bytes")));
            }
            self.budget.charge(1)?;
            match node {
                Node::Text(text) => {
                    self.budget.charge_bytes(text.len())?;
                    self.out.push_str(text);
                }
                Node::Output(pipeline) => {
                    let value = self.pipeline(pipeline, dot)?;
                    if pipeline.decl.is_empty() {
                        let text = display(&value);
                        self.budget.charge_bytes(text.len())?;
                        self.out.push_str(&text);
                    }
                }
                Node::If(branches, otherwise) => {
                    let mark = self.vars.len();
                    let mut done = false;
                    for (cond, body) in branches {
                        if truthy(&self.pipeline(cond, dot)?) {
                            self.run(body, dot)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.run(otherwise, dot)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::With(cond, body, otherwise) => {
                    let mark = self.vars.len();
                    let value = self.pipeline(cond, dot)?;
                    if truthy(&value) {
                        self.run(body, &value)?;
                    } else {
                        self.run(otherwise, dot)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range(pipeline, body, otherwise) => {
                    self.range(pipeline, body, otherwise, dot)?
                }
                Node::Template(name, arg, line) => {
                    let data = match arg {
                        Some(p) => self.pipeline(p, dot)?,
                        None => Value::Null,
                    };
                    let Some(body) = self.defines.get(name) else {
                        return Err(exec_error(format!(
                            "line {line}: no such template {name:?}"
                        )));
                    };
                    self.budget.charge_value(&data)?;
                    let saved =
                        std::mem::replace(&mut self.vars, vec![(String::new(), data.clone())]);
                    let result = self.run(body, &data);
                    self.vars = saved;
                    result.map_err(|e| match e {
                        TemplateError::Exec(m) if !m.starts_with("template ") => {
                            exec_error(format!("template {name:?}: {m}"))
                        }
                        other => other,
                    })?;
                }
            }
        }
        Ok(())
    }

    fn range(
        &mut self,
        pipeline: &Pipeline,
        body: &[Node],
        otherwise: &[Node],
        dot: &Value,
    ) -> Result<(), TemplateError> {
        let value = self.eval(pipeline, dot)?;
        // The items are taken out of the (owned) value rather than copied; a number
        // counts up lazily, so an empty body still costs a step per iteration.
        let mut any = false;
        match value {
            Value::Array(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    any = true;
                    self.iteration(pipeline, body, Value::from(i), item)?;
                }
            }
            Value::Object(map) => {
                self.budget.charge(map.len())?;
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                for (key, item) in entries {
                    any = true;
                    self.iteration(pipeline, body, Value::String(key), item)?;
                }
            }
            // nil, or a missing key (read as ""): nothing to iterate.
            Value::Null => {}
            Value::String(text) if text.is_empty() => {}
            Value::Number(n) => {
                for i in 0..n.as_u64().unwrap_or(0).min(MAX_RANGE_COUNT) {
                    any = true;
                    self.iteration(pipeline, body, Value::from(i), Value::from(i))?;
                }
            }
            other => {
                return Err(exec_error(format!(
                    "line {}: range can't iterate over {}",
                    pipeline.line,
                    display(&other)
                )))
            }
        }
        if any {
            Ok(())
        } else {
            self.run(otherwise, dot)
        }
    }

    /// One pass of a `range` body with its variables bound to `key` and `item`.
    fn iteration(
        &mut self,
        pipeline: &Pipeline,
        body: &[Node],
        key: Value,
        item: Value,
    ) -> Result<(), TemplateError> {
        self.budget.charge(1)?;
        let mark = self.vars.len();
        match pipeline.decl.as_slice() {
            [] => {}
            [v] => {
                self.budget.charge_value(&item)?;
                self.vars.push((v.clone(), item.clone()));
            }
            [k, v] => {
                self.budget.charge_value(&item)?;
                self.vars.push((k.clone(), key));
                self.vars.push((v.clone(), item.clone()));
            }
            _ => return Err(exec_error("too many range variables")),
        }
        let result = self.run(body, &item);
        self.vars.truncate(mark);
        result
    }

    /// `$name.A.B`, copied (and charged) out of the variable.
    fn variable(&mut self, name: &str, chain: &[String]) -> Result<Value, TemplateError> {
        let Some((_, value)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
            return Err(exec_error(format!("undefined variable ${name}")));
        };
        follow(value, chain, &mut self.budget)
    }

    /// A pipeline's value, binding its declared or assigned variables.
    pub fn pipeline(&mut self, pipeline: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let value = self.eval(pipeline, dot)?;
        for _ in &pipeline.decl {
            self.budget.charge_value(&value)?;
        }
        if pipeline.assign {
            for name in &pipeline.decl {
                match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => return Err(exec_error(format!("undefined variable ${name}"))),
                }
            }
        } else {
            for name in &pipeline.decl {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    /// A pipeline's value without binding variables (`range` binds its own).
    fn eval(&mut self, pipeline: &Pipeline, dot: &Value) -> Result<Value, TemplateError> {
        let mut value: Option<Value> = None;
        for command in &pipeline.commands {
            value = Some(self.command(command, dot, value, pipeline.line)?);
        }
        Ok(value.unwrap_or(Value::Null))
    }

    fn command(
        &mut self,
        command: &[Arg],
        dot: &Value,
        piped: Option<Value>,
        line: usize,
    ) -> Result<Value, TemplateError> {
        let Some((first, rest)) = command.split_first() else {
            return Err(exec_error("empty command"));
        };
        let at = |e: TemplateError| match e {
            TemplateError::Exec(m) if !m.starts_with("line ") => {
                exec_error(format!("line {line}: {m}"))
            }
            other => other,
        };
        match first {
            Arg::Ident(name) => {
                if !is_function(name) {
                    return Err(exec_error(format!(
                        "line {line}: function {name:?} not defined"
                    )));
                }
                if name == "and" || name == "or" {
                    // Go evaluates these lazily: stop at the first empty (and) or
                    // non-empty (or) argument.
                    let stop_when = name == "or";
                    let mut last = Value::Null;
                    for arg in rest {
                        last = self.arg(arg, dot).map_err(at)?;
                        if truthy(&last) == stop_when {
                            return Ok(last);
                        }
                    }
                    if let Some(value) = piped {
                        last = value;
                    }
                    return Ok(last);
                }
                let mut args = Vec::with_capacity(rest.len() + 1);
                for arg in rest {
                    args.push(self.arg(arg, dot)?);
                }
                args.extend(piped);
                call_function(name, args, &mut self.budget, &mut self.regexes)
                    .and_then(|value| within_value_limit(name, value))
                    .and_then(|value| {
                        self.budget.charge_value(&value)?;
                        Ok(value)
                    })
                    .map_err(at)
            }
            Arg::Field(chain) | Arg::Var(_, chain) if !rest.is_empty() || piped.is_some() => {
                // A method call with arguments: `.CommonLabels.Remove .GroupLabels.Names`.
                let Some((method, path)) = chain.split_last() else {
                    return Err(exec_error(format!(
                        "line {line}: can't give argument to non-function"
                    )));
                };
                let receiver = match first {
                    Arg::Var(name, _) => self.variable(name, path)?,
                    _ => follow(dot, path, &mut self.budget)?,
                };
                let mut args = Vec::with_capacity(rest.len() + 1);
                for arg in rest {
                    args.push(self.arg(arg, dot)?);
                }
                args.extend(piped);
                self.budget.charge_value(&receiver).map_err(at)?;
                call_method(&receiver, method, args)
                    .unwrap_or_else(|| {
                        Err(exec_error(format!(
                            "can't give argument to non-function {method}"
                        )))
                    })
                    .map_err(at)
            }
            _ => {
                if !rest.is_empty() || piped.is_some() {
                    return Err(exec_error(format!(
                        "line {line}: can't give argument to non-function"
                    )));
                }
                self.arg(first, dot).map_err(at)
            }
        }
    }

    fn arg(&mut self, arg: &Arg, dot: &Value) -> Result<Value, TemplateError> {
        match arg {
            Arg::Field(chain) => follow(dot, chain, &mut self.budget),
            Arg::Var(name, chain) => self.variable(name, chain),
            Arg::Literal(v) => {
                self.budget.charge_value(v)?;
                Ok(v.clone())
            }
            Arg::Ident(name) => {
                if !is_function(name) {
                    return Err(exec_error(format!("function {name:?} not defined")));
                }
                call_function(name, Vec::new(), &mut self.budget, &mut self.regexes)
            }
            Arg::Sub(pipeline, chain) => {
                let value = self.pipeline(pipeline, dot)?;
                if chain.is_empty() {
                    Ok(value)
                } else {
                    follow(&value, chain, &mut self.budget)
                }
            }
        }
    }
}

/// `value` if it is no larger than [`MAX_VALUE`], else an error naming `function`.
fn within_value_limit(function: &str, value: Value) -> Result<Value, TemplateError> {
    let mut budget = MAX_VALUE;
    let mut pending = vec![&value];
    while let Some(v) = pending.pop() {
        let cost = match v {
            Value::String(s) => s.len(),
            Value::Array(items) => items.len(),
            Value::Object(map) => map.len() + map.keys().map(String::len).sum::<usize>(),
            _ => 1,
        };
        let Some(left) = budget.checked_sub(cost) else {
            return Err(exec_error(format!(
                "{function}: result exceeds {MAX_VALUE} bytes"
            )));
        };
        budget = left;
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    Ok(value)
}

/// `.A.B` on a value: map keys first, then Alertmanager's methods without
/// arguments (`SortedPairs`, `Names`, `Values`, `Firing`, `Resolved`). A missing key
/// of a map is empty, as for Go's `map[string]string`. Keys are followed by
/// reference; only the result is copied, and every copy and method call is charged.
pub fn follow(
    value: &Value,
    chain: &[String],
    budget: &mut Budget,
) -> Result<Value, TemplateError> {
    let mut current = Cow::Borrowed(value);
    for name in chain {
        current = match current {
            Cow::Borrowed(whole) => match whole.as_object().and_then(|map| map.get(name)) {
                Some(field) => Cow::Borrowed(field),
                None => Cow::Owned(method(whole, name, budget)?),
            },
            Cow::Owned(Value::Object(mut map)) if map.contains_key(name) => {
                Cow::Owned(map.remove(name).unwrap_or(Value::Null))
            }
            Cow::Owned(other) => Cow::Owned(method(&other, name, budget)?),
        };
    }
    if let Cow::Borrowed(found) = current {
        budget.charge_value(found)?;
    }
    Ok(current.into_owned())
}

/// `.name` on a value that has no such key: a method, a map's missing key, or an
/// error.
fn method(value: &Value, name: &str, budget: &mut Budget) -> Result<Value, TemplateError> {
    match value {
        Value::Null => Err(exec_error(format!("nil pointer evaluating .{name}"))),
        other => {
            budget.charge_value(other)?;
            match call_method(other, name, Vec::new()) {
                Some(result) => result,
                // A missing key reads as Go's `map[string]string` zero value.
                None if other.is_object() => Ok(Value::String(String::new())),
                None => Err(exec_error(format!(
                    "can't evaluate field {name} in {}",
                    kind(other)
                ))),
            }
        }
    }
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}
