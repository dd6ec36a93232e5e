//! How a storage or messaging dependency fails: the core's value type
//! (`quire_core::store`), named here beside the ports that return it.

pub use quire_core::store::{StoreError, StoreResult};
