//! Why configuration could not be used: its own file, so parsers of one
//! area's settings (ops, LLM) can return it without depending on [`super`].

/// Why configuration could not be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("setting {0} is missing")]
    Missing(&'static str),
    #[error("setting {0} is invalid: {1}")]
    Invalid(&'static str, String),
}
