//! The application tests' world lives in `quire-testkit` (`world`).
pub use quire_testkit::world::*;
