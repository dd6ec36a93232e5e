//! Readers of one setting, shared by every part of the configuration that
//! parses its own (`ops`, `llm`): a leaf, so none of them imports the
//! configuration as a whole to read a number.

use super::error::ConfigError;

/// A whole number (zero allowed), `default` when unset.
pub fn whole(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError::Invalid(name, format!("'{v}' is not a number"))),
        None => Ok(default),
    }
}
