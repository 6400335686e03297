//! YAML to typed config, with errors that say where in the text.

use std::fmt;

use serde::de::DeserializeOwned;

/// YAML that does not parse, or does not have the config's shape. The message names
/// the field (serde's `unknown field`, `missing field`, `invalid type` wording) and,
/// where the parser knows it, the line and column.
#[derive(Debug, thiserror::Error)]
pub struct YamlError {
    /// 1-based line and column of the problem, where the parser knows them.
    pub location: Option<(usize, usize)>,
    #[source]
    source: yaml_serde::Error,
}

impl YamlError {
    fn new(source: yaml_serde::Error) -> Self {
        let location = source.location().map(|l| (l.line(), l.column()));
        Self { location, source }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // yaml_serde's own message already ends in "at line L column C" where it has a
        // location; it is the whole explanation, so it is shown rather than only
        // chained.
        write!(f, "{}", self.source)
    }
}

/// Parses `text` into `T` (a config file as written).
pub fn from_yaml_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    yaml_serde::from_str(text).map_err(YamlError::new)
}

/// Converts an already parsed YAML value (an inline config in an event) into `T`.
pub fn from_yaml_value<T: DeserializeOwned>(value: yaml_serde::Value) -> Result<T, YamlError> {
    yaml_serde::from_value(value).map_err(YamlError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        name: String,
        #[serde(default)]
        port: u16,
    }

    #[test]
    fn unknown_field_names_it_with_line_and_column() {
        let result = from_yaml_str::<Small>("name: a\nprot: 80\n");
        let Err(e) = result else {
            panic!("a typo was accepted")
        };
        let text = e.to_string();
        assert!(text.contains("unknown field `prot`"), "{text}");
        assert_eq!(e.location, Some((2, 1)));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let Err(e) = from_yaml_str::<Small>("name: a\nport: eighty\n") else {
            panic!("a word was accepted as a port")
        };
        assert!(e.to_string().contains("port"), "{e}");
        assert!(e.location.is_some());
    }
}
