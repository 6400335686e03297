//! Notification templates: the subset of Go's text/template that Alertmanager
//! configs use (actions, pipelines, `if`/`range`/`with`, variables, `define` /
//! `template` / `block`, Go's comparison functions plus Alertmanager's `toUpper`,
//! `join`, `reReplaceAll`, ... and its `SortedPairs` / `Remove` / `Firing` methods),
//! so `subject:` / `message:` / `text:` fields copied from an Alertmanager config
//! render the same here. Data is JSON shaped like Alertmanager's template data.

mod budget;
mod data;
mod defaults;
mod exec;
mod funcs;
mod parse;
mod regex_cache;

#[cfg(test)]
mod budget_tests;

use std::collections::HashMap;

pub use data::{notification_data, TemplateAlert};

/// A template that cannot be parsed or executed; parse errors carry the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// The template text does not parse; found when the config loads, not at
    /// delivery time.
    #[error("template {template}: line {line}: {message}")]
    Parse {
        /// The template's name (file or `define`).
        template: String,
        /// 1-based line in that template.
        line: usize,
        /// What the parser expected.
        message: String,
    },
    /// Executing failed (an undefined template, a function given the wrong
    /// arguments): found at delivery time, with the data of that notification.
    #[error("executing template: {0}")]
    Exec(String),
}

/// Named templates: the defaults plus the user's `define`s.
#[derive(Debug, Clone)]
pub struct Templates {
    defines: HashMap<String, Vec<parse::Node>>,
}

impl Templates {
    /// The built-in defaults only (`sns.default.message`, `slack.default.title`, ...).
    pub fn with_defaults() -> Templates {
        let mut templates = Templates {
            defines: HashMap::new(),
        };
        // The defaults are constant and covered by tests; a failure would be a bug
        // caught there, so it is ignored here rather than panicking.
        let _ = templates.add("defaults", defaults::DEFAULTS);
        templates
    }

    /// Parses `text` and adds its `define` blocks (later definitions win, so user
    /// files can override defaults).
    pub fn add(&mut self, source_name: &str, text: &str) -> Result<(), TemplateError> {
        let parsed = parse::parse(source_name, text)?;
        self.defines.extend(parsed.defines);
        Ok(())
    }

    /// Renders an inline template against `data`.
    pub fn render_str(
        &self,
        text: &str,
        data: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        self.render_str_counted(text, data).0
    }

    /// [`Templates::render_str`] and the steps its execution was charged (tests
    /// check the budget counts what a template really costs).
    fn render_str_counted(
        &self,
        text: &str,
        data: &serde_json::Value,
    ) -> (Result<String, TemplateError>, usize) {
        let parsed = match parse::parse("inline", text) {
            Ok(parsed) => parsed,
            Err(e) => return (Err(e), 0),
        };
        let mut defines = self.defines.clone();
        defines.extend(parsed.defines);
        let mut exec = exec::Exec::new(&defines, data);
        let result = exec.run(&parsed.nodes, data);
        let steps = exec.budget.used();
        (result.map(|()| exec.out), steps)
    }

    /// Renders the named template.
    pub fn render_named(
        &self,
        name: &str,
        data: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        let Some(body) = self.defines.get(name) else {
            return Err(TemplateError::Exec(format!("no such template {name:?}")));
        };
        let mut exec = exec::Exec::new(&self.defines, data);
        exec.run(body, data)?;
        Ok(exec.out)
    }

    /// Whether a template of that name is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.defines.contains_key(name)
    }
}
