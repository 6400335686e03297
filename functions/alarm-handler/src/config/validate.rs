//! From the file as written to a [`Config`]: compile the routing tree, inhibit rules
//! and time intervals, check what serde cannot (receivers' required and exclusive
//! fields, names the route uses), read template and secret files. Every refusal
//! names the field.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use alert_routing::{Inhibitor, Route, TimeIntervals};
use config_error::FieldError;

use super::error::ConfigError;
use super::file::ConfigFile;
use super::model::Config;
use super::templates::template_paths;
use crate::secret::SecretRef;

impl Config {
    /// Parses and validates YAML; relative `templates` and `*_file` paths are taken
    /// from `base_dir` (the config file's directory) or the working directory.
    pub fn parse(yaml: &str, base_dir: Option<&Path>) -> Result<Config, ConfigError> {
        let file: ConfigFile = config_error::from_yaml_str(yaml)?;
        file.route.validate_root()?;
        let route = Route::from_config(&file.route)?;
        let mut intervals = file.time_intervals.clone();
        intervals.extend(file.mute_time_intervals.iter().cloned());
        let time_intervals = TimeIntervals::new(&intervals)?;
        let inhibitor = Inhibitor::new(&file.inhibit_rules)?;
        validate_receivers(&file)?;
        validate_settings(&file)?;
        validate_route_references(&route, &file, &time_intervals)?;
        let base = base_dir.map(Path::to_path_buf).unwrap_or_default();
        let template_sources = read_templates(&base, &file.templates)?;
        let mut config = Config {
            file,
            route,
            inhibitor,
            time_intervals,
            template_sources,
            original: yaml.to_string(),
        };
        read_secret_files(&mut config.file, &base)?;
        Ok(config)
    }
}

/// The contents of every file the `templates` entries name, in order, with paths.
fn read_templates(base: &Path, entries: &[String]) -> Result<Vec<(String, String)>, FieldError> {
    let mut sources = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("templates[{i}]");
        for path in template_paths(base, entry).map_err(|e| e.under(&at))? {
            let text = read_file(&at, &path)?;
            sources.push((path.display().to_string(), text));
        }
    }
    Ok(sources)
}

/// The text of `path`; a failure names the field `at` and keeps the I/O error.
fn read_file(at: &str, path: &Path) -> Result<String, FieldError> {
    std::fs::read_to_string(path)
        .map_err(|e| FieldError::new(at, format!("cannot read {}", path.display())).caused_by(e))
}

/// `*_file` secrets become literal [`SecretRef`]s so senders see one form.
fn read_secret_files(file: &mut ConfigFile, base: &Path) -> Result<(), FieldError> {
    let read = |at: String, path: &PathBuf| -> Result<SecretRef, FieldError> {
        let text = read_file(&at, &base.join(path))?;
        Ok(SecretRef::new(text.trim().to_string()))
    };
    if let Some(path) = &file.global.slack_api_url_file {
        file.global.slack_api_url = Some(read("global.slack_api_url_file".into(), path)?);
    }
    for (r, receiver) in file.receivers.iter_mut().enumerate() {
        for (i, c) in receiver.webhook_configs.iter_mut().enumerate() {
            if let Some(path) = &c.url_file {
                let at = format!("receivers[{r}].webhook_configs[{i}].url_file");
                c.url = Some(read(at, path)?);
            }
        }
        for (i, c) in receiver.slack_configs.iter_mut().enumerate() {
            if let Some(path) = &c.api_url_file {
                let at = format!("receivers[{r}].slack_configs[{i}].api_url_file");
                c.api_url = Some(read(at, path)?);
            }
        }
        for (i, c) in receiver.pagerduty_configs.iter_mut().enumerate() {
            if let Some(path) = &c.routing_key_file {
                let at = format!("receivers[{r}].pagerduty_configs[{i}].routing_key_file");
                c.routing_key = Some(read(at, path)?);
            }
        }
    }
    Ok(())
}

/// An SNS topic ARN has six `:`-separated parts (`arn:aws:sns:region:account:name`).
fn is_topic_arn(arn: &str) -> bool {
    arn.starts_with("arn:") && arn.split(':').count() == 6
}

/// What serde cannot check of `receivers`: unique names, required and exclusive
/// fields, and the features we refuse.
/// Timers keep groups in the state table and send through the ledger (so a retried
/// flush never sends twice): both tables must be there.
fn validate_settings(file: &ConfigFile) -> Result<(), FieldError> {
    let settings = &file.alarm_handler;
    if settings.timers {
        if settings.state_table.is_none() {
            return Err(FieldError::new(
                "alarm_handler.timers",
                "needs alarm_handler.state_table (the groups live there)",
            ));
        }
        if settings.idempotency_table.is_none() {
            return Err(FieldError::new(
                "alarm_handler.timers",
                "needs alarm_handler.idempotency_table (a retried flush must not send twice)",
            ));
        }
    }
    Ok(())
}

fn validate_receivers(file: &ConfigFile) -> Result<(), FieldError> {
    let mut names = BTreeSet::new();
    for (r, receiver) in file.receivers.iter().enumerate() {
        let at = |rest: &str| format!("receivers[{r}] ({}){rest}", receiver.name);
        if receiver.name.is_empty() {
            return Err(FieldError::new(
                format!("receivers[{r}].name"),
                "missing name",
            ));
        }
        if !names.insert(receiver.name.as_str()) {
            return Err(FieldError::new(at(""), "receiver name is not unique"));
        }
        for (i, c) in receiver.sns_configs.iter().enumerate() {
            let field = |f: &str| at(&format!(".sns_configs[{i}].{f}"));
            if c.api_url.is_some() || c.sigv4.is_some() {
                return Err(FieldError::new(
                    field("api_url"),
                    "not supported: the function publishes with its own role and the standard AWS endpoint settings",
                ));
            }
            if c.phone_number.is_some() || c.target_arn.is_some() {
                return Err(FieldError::new(
                    field("phone_number"),
                    "only topic_arn is supported",
                ));
            }
            match &c.topic_arn {
                Some(arn) if is_topic_arn(arn) => {}
                Some(arn) => {
                    return Err(FieldError::new(
                        field("topic_arn"),
                        format!("not a topic ARN: {arn:?}"),
                    ))
                }
                None => return Err(FieldError::new(field("topic_arn"), "must be provided")),
            }
        }
        for (i, c) in receiver.webhook_configs.iter().enumerate() {
            if c.url.is_some() == c.url_file.is_some() {
                return Err(FieldError::new(
                    at(&format!(".webhook_configs[{i}]")),
                    "exactly one of url and url_file must be set",
                ));
            }
        }
        for (i, c) in receiver.slack_configs.iter().enumerate() {
            if c.api_url.is_some() && c.api_url_file.is_some() {
                return Err(FieldError::new(
                    at(&format!(".slack_configs[{i}]")),
                    "at most one of api_url and api_url_file must be set",
                ));
            }
            if c.api_url.is_none()
                && c.api_url_file.is_none()
                && file.global.slack_api_url.is_none()
                && file.global.slack_api_url_file.is_none()
            {
                return Err(FieldError::new(
                    at(&format!(".slack_configs[{i}].api_url")),
                    "no api_url here nor global.slack_api_url",
                ));
            }
        }
        for (i, c) in receiver.pagerduty_configs.iter().enumerate() {
            let field = at(&format!(".pagerduty_configs[{i}]"));
            if c.service_key.is_some() {
                return Err(FieldError::new(
                    field,
                    "service_key (Events API v1) is not supported; use routing_key (Events API v2)",
                ));
            }
            if c.routing_key.is_some() == c.routing_key_file.is_some() {
                return Err(FieldError::new(
                    field,
                    "exactly one of routing_key and routing_key_file must be set",
                ));
            }
        }
        for (i, c) in receiver.scaler_configs.iter().enumerate() {
            let field = at(&format!(".scaler_configs[{i}].topic_arn"));
            if c.topic_arn.is_empty() {
                return Err(FieldError::new(field, "must be provided"));
            }
            if !is_topic_arn(&c.topic_arn) {
                return Err(FieldError::new(
                    field,
                    format!("not a topic ARN: {:?}", c.topic_arn),
                ));
            }
        }
    }
    Ok(())
}

/// Every receiver and time interval a route names exists.
fn validate_route_references(
    route: &Route,
    file: &ConfigFile,
    intervals: &TimeIntervals,
) -> Result<(), FieldError> {
    let mut problem = None;
    route.walk(&mut |node| {
        if problem.is_some() {
            return;
        }
        if !file.receivers.iter().any(|r| r.name == node.receiver) {
            problem = Some(FieldError::new(
                format!("route {}", node.key()),
                format!("undefined receiver {:?} used in route", node.receiver),
            ));
            return;
        }
        for name in node
            .mute_time_intervals
            .iter()
            .chain(&node.active_time_intervals)
        {
            if !intervals.contains(name) {
                problem = Some(FieldError::new(
                    format!("route {}", node.key()),
                    format!("undefined time interval {name:?} used in route"),
                ));
                return;
            }
        }
    });
    problem.map_or(Ok(()), Err)
}
