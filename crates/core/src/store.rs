//! How a storage or messaging dependency fails: a value of the core, so
//! the error envelope maps it without depending on the ports that return
//! it (`ports::error` names it there).

/// A failure of a storage or messaging dependency.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// May succeed if tried again (network blip, overload, timeout).
    #[error("transient storage failure: {0}")]
    Transient(String),
    /// Will fail again the same way (bad query, constraint violation).
    #[error("storage failure: {0}")]
    Permanent(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
