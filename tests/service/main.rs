//! The service's integration tests, one binary (one link after a change,
//! not ten): application flows over the fakes (`quire-testkit`), the
//! corpus through extraction, the deployment configs, and the SQL homes.

mod app;
mod corpus;
mod deploy;
mod gate;
mod identity;
mod llm;
mod ops;
mod split;
mod sql_homes;
mod uploads;
