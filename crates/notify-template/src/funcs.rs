//! Template functions (Go's builtins and Alertmanager's additions) and the methods
//! Alertmanager's data types offer (`KV.SortedPairs`, `Alerts.Firing`, ...).

use serde_json::{Map, Value};

/// The bytes Go's `url.QueryEscape` leaves as they are (RFC 3986 unreserved).
const QUERY_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

use crate::budget::{Budget, REGEX_BYTES_PER_STEP, REGEX_SEARCH_STEPS};
use crate::exec::{display, kind, truthy};
use crate::regex_cache::RegexCache;
use crate::TemplateError;

const FUNCTIONS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "print",
    "printf",
    "println",
    "html",
    "js",
    "urlquery",
    "toUpper",
    "toLower",
    "title",
    "trimSpace",
    "join",
    "match",
    "reReplaceAll",
    "safeHtml",
    "stringSlice",
];

fn fail(message: impl Into<String>) -> TemplateError {
    TemplateError::Exec(message.into())
}

pub fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), TemplateError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(fail(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )))
    }
}

fn string_arg<'v>(name: &str, value: &'v Value) -> Result<&'v str, TemplateError> {
    value
        .as_str()
        .ok_or_else(|| fail(format!("{name}: expected a string, got {}", kind(value))))
}

fn compare(name: &str, a: &Value, b: &Value) -> Result<std::cmp::Ordering, TemplateError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x
                .partial_cmp(&y)
                .ok_or_else(|| fail(format!("{name}: cannot compare NaN"))),
            _ => Err(fail(format!("{name}: invalid number"))),
        },
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) if name == "eq" || name == "ne" => Ok(x.cmp(y)),
        // nil equals only nil (Go's eq on a nil interface); never an error.
        (Value::Null, _) | (_, Value::Null) if name == "eq" || name == "ne" => {
            Ok(if a.is_null() && b.is_null() {
                std::cmp::Ordering::Equal
            } else {
                std::cmp::Ordering::Less
            })
        }
        _ => Err(fail(format!(
            "{name}: incompatible types for comparison ({} and {})",
            kind(a),
            kind(b)
        ))),
    }
}

fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

/// The largest `%.Nf` precision `printf` accepts.
const MAX_PRECISION: usize = u16::MAX as usize;

/// Go's fmt verbs that templates use: `%s %v %d %q %f %.Nf %%`; each precision's
/// digits are charged to `budget` before they are written.
fn sprintf(format: &str, args: &[Value], budget: &mut Budget) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            precision = digits.parse::<usize>().ok();
            // Rust's formatter takes at most u16::MAX digits and panics beyond
            // (found by fuzzing); Go would print them, but no notification needs
            // that many.
            if precision.is_some_and(|p| p > MAX_PRECISION)
                || (precision.is_none() && !digits.is_empty())
            {
                return Err(fail(format!(
                    "printf: precision .{digits} is too large (at most {MAX_PRECISION})"
                )));
            }
            budget.charge_bytes(precision.unwrap_or(0))?;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        match verb {
            's' | 'v' => out.push_str(&display(arg)),
            'q' => out.push_str(&serde_json::to_string(&display(arg)).unwrap_or_default()),
            'd' => match arg.as_f64() {
                Some(f) => out.push_str(&format!("{}", f as i64)),
                None => out.push_str(&format!("%!d({})", display(arg))),
            },
            'f' => match arg.as_f64() {
                Some(f) => out.push_str(&format!("{f:.*}", precision.unwrap_or(6))),
                None => out.push_str(&format!("%!f({})", display(arg))),
            },
            other => return Err(fail(format!("printf: unsupported verb %{other}"))),
        }
    }
    Ok(out)
}

/// Calls the template function `name`. Its arguments were charged to `budget` when
/// they were evaluated (and its result is charged by the caller); what costs more
/// than a pass over them is charged here: regular expressions, printf precisions.
pub fn call_function(
    name: &str,
    args: Vec<Value>,
    budget: &mut Budget,
    regexes: &mut RegexCache,
) -> Result<Value, TemplateError> {
    Ok(match name {
        "and" => {
            let mut last = Value::Null;
            for a in args {
                if !truthy(&a) {
                    return Ok(a);
                }
                last = a;
            }
            last
        }
        "or" => {
            let mut last = Value::Null;
            for a in args {
                if truthy(&a) {
                    return Ok(a);
                }
                last = a;
            }
            last
        }
        "not" => {
            arity(name, &args, 1)?;
            Value::Bool(!args.first().is_some_and(truthy))
        }
        "len" => {
            arity(name, &args, 1)?;
            Value::from(match args.first() {
                Some(Value::String(s)) => s.len(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                Some(Value::Null) => 0,
                Some(other) => return Err(fail(format!("len of {}", kind(other)))),
                None => 0,
            })
        }
        "index" => {
            let mut it = args.into_iter();
            let mut value = it.next().unwrap_or(Value::Null);
            for key in it {
                value = match (&value, &key) {
                    (Value::Object(o), Value::String(k)) => {
                        o.get(k).cloned().unwrap_or(Value::Null)
                    }
                    (Value::Array(a), Value::Number(n)) => {
                        match n.as_u64().and_then(|i| a.get(i as usize)) {
                            Some(v) => v.clone(),
                            None => return Err(fail(format!("index out of range: {n}"))),
                        }
                    }
                    _ => {
                        return Err(fail(format!(
                            "can't index {} with {}",
                            kind(&value),
                            kind(&key)
                        )))
                    }
                };
            }
            value
        }
        "eq" => {
            let Some((first, rest)) = args.split_first() else {
                return Err(fail("eq: missing arguments"));
            };
            if rest.is_empty() {
                return Err(fail("eq: missing argument for comparison"));
            }
            let mut any = false;
            for other in rest {
                if compare(name, first, other)? == std::cmp::Ordering::Equal {
                    any = true;
                }
            }
            Value::Bool(any)
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
                return Err(fail(format!("{name}: missing arguments")));
            };
            let ord = compare(name, a, b)?;
            Value::Bool(match name {
                "ne" => ord.is_ne(),
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        "print" => {
            // Go adds spaces between operands when neither is a string.
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 && !a.is_string() && !args[i - 1].is_string() {
                    out.push(' ');
                }
                out.push_str(&display(a));
            }
            Value::String(out)
        }
        "println" => {
            let parts: Vec<String> = args.iter().map(display).collect();
            Value::String(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            let Some((format, rest)) = args.split_first() else {
                return Err(fail("printf: missing format"));
            };
            Value::String(sprintf(string_arg(name, format)?, rest, budget)?)
        }
        "html" | "safeHtml" => {
            let text: String = args.iter().map(display).collect();
            if name == "safeHtml" {
                Value::String(text)
            } else {
                Value::String(
                    text.replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('"', "&#34;")
                        .replace('\'', "&#39;"),
                )
            }
        }
        "js" => {
            let text: String = args.iter().map(display).collect();
            let json = serde_json::to_string(&text).unwrap_or_default();
            Value::String(json.trim_matches('"').replace('\'', "\\'"))
        }
        "urlquery" => {
            // Go's url.QueryEscape: RFC 3986 unreserved bytes stay, a space is `+`,
            // every other byte is %XX. Only an encoded space can produce "%20" (an
            // input "%" becomes "%25"), so the replace is exact.
            let text: String = args.iter().map(display).collect();
            let encoded = percent_encoding::utf8_percent_encode(&text, QUERY_UNRESERVED);
            Value::String(encoded.to_string().replace("%20", "+"))
        }
        "toUpper" | "toLower" | "title" | "trimSpace" => {
            arity(name, &args, 1)?;
            let text = args.first().map(display).unwrap_or_default();
            Value::String(match name {
                "toUpper" => text.to_uppercase(),
                "toLower" => text.to_lowercase(),
                "title" => title_case(&text),
                _ => text.trim().to_string(),
            })
        }
        "join" => {
            arity(name, &args, 2)?;
            let sep = args.first().map(display).unwrap_or_default();
            match args.get(1) {
                Some(Value::Array(items)) => {
                    Value::String(items.iter().map(display).collect::<Vec<_>>().join(&sep))
                }
                Some(Value::Null) | None => Value::String(String::new()),
                Some(other) => {
                    return Err(fail(format!("join: expected a list, got {}", kind(other))))
                }
            }
        }
        "match" => {
            arity(name, &args, 2)?;
            let pattern = args.first().map(display).unwrap_or_default();
            let text = args.get(1).map(display).unwrap_or_default();
            let regex = regexes.get(name, &pattern, budget)?;
            budget.charge(REGEX_SEARCH_STEPS + text.len() / REGEX_BYTES_PER_STEP)?;
            Value::Bool(regex.is_match(&text))
        }
        "reReplaceAll" => {
            arity(name, &args, 3)?;
            let pattern = args.first().map(display).unwrap_or_default();
            let replacement = args.get(1).map(display).unwrap_or_default();
            let text = args.get(2).map(display).unwrap_or_default();
            let regex = regexes.get(name, &pattern, budget)?;
            budget.charge(REGEX_SEARCH_STEPS + text.len() / REGEX_BYTES_PER_STEP)?;
            // Every match (at most one per position) gets the replacement, whose
            // `$1`s copy at most the whole text each: the result is bounded by this
            // product, charged before it is built.
            budget.charge_bytes(
                text.len()
                    .saturating_add(1)
                    .saturating_mul(replacement.len().saturating_add(1)),
            )?;
            Value::String(regex.replace_all(&text, replacement.as_str()).into_owned())
        }
        "stringSlice" => Value::Array(args),
        other => return Err(fail(format!("function {other:?} not defined"))),
    })
}

fn sorted_pairs(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut pairs: Vec<(&String, &Value)> = map.iter().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
}

fn by_status(items: &[Value], status: &str) -> Value {
    Value::Array(
        items
            .iter()
            .filter(|a| a.get("Status").and_then(Value::as_str) == Some(status))
            .cloned()
            .collect(),
    )
}

/// Methods of Alertmanager's template types; `None` when `name` is not one.
pub fn call_method(
    receiver: &Value,
    name: &str,
    args: Vec<Value>,
) -> Option<Result<Value, TemplateError>> {
    match (receiver, name) {
        (Value::Object(map), "SortedPairs") => Some(Ok(Value::Array(
            sorted_pairs(map)
                .into_iter()
                .map(|(k, v)| {
                    let mut pair = Map::new();
                    pair.insert("Name".into(), Value::String(k.clone()));
                    pair.insert("Value".into(), v.clone());
                    Value::Object(pair)
                })
                .collect(),
        ))),
        (Value::Object(map), "Names") => Some(Ok(Value::Array(
            sorted_pairs(map)
                .into_iter()
                .map(|(k, _)| Value::String(k.clone()))
                .collect(),
        ))),
        (Value::Object(map), "Values") => Some(Ok(Value::Array(
            sorted_pairs(map)
                .into_iter()
                .map(|(_, v)| v.clone())
                .collect(),
        ))),
        (Value::Object(map), "Remove") => Some(match args.first() {
            Some(Value::Array(names)) => {
                let mut kept = map.clone();
                for n in names {
                    if let Some(n) = n.as_str() {
                        kept.remove(n);
                    }
                }
                Ok(Value::Object(kept))
            }
            _ => Err(fail("Remove: expected a list of label names")),
        }),
        (Value::Array(items), "Firing") => Some(Ok(by_status(items, "firing"))),
        (Value::Array(items), "Resolved") => Some(Ok(by_status(items, "resolved"))),
        // A SortedPairs list's `.Names` / `.Values`.
        (Value::Array(items), "Names" | "Values") => {
            let field = if name == "Names" { "Name" } else { "Value" };
            Some(Ok(Value::Array(
                items.iter().filter_map(|p| p.get(field).cloned()).collect(),
            )))
        }
        _ => None,
    }
}
