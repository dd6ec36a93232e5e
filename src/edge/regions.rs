//! Data residency at the edge: the region of the shard entered (see
//! [`crate::tenants::shards::ShardRegions`]) picks the R2 bucket a
//! tenant's objects are kept in (`DOCUMENTS_EU` for `eu`, bound with that
//! jurisdiction) and the jurisdiction of its Durable Object.

use super::d1::Databases;
use crate::tenants::shards::ShardRegions;
use std::collections::BTreeMap;
use std::rc::Rc;
use worker::{Bucket, Env};

/// The binding of a region's bucket.
pub fn bucket_binding(region: &str) -> String {
    format!("DOCUMENTS_{}", region.to_ascii_uppercase())
}

pub struct Regions {
    dbs: Rc<Databases>,
    shards: ShardRegions,
    buckets: BTreeMap<String, Bucket>,
    /// Durable Objects are restricted to their jurisdiction (everywhere
    /// but `wrangler dev`: workerd does not implement jurisdictions).
    jurisdictions: bool,
}

impl Regions {
    /// The regional buckets `regions` needs; a missing binding is an
    /// error (a tenant's objects must never fall back to another place).
    pub fn bind(
        env: &Env,
        dbs: Rc<Databases>,
        config: &crate::config::Config,
    ) -> worker::Result<Rc<Regions>> {
        let regions = &config.shard_regions;
        let mut buckets = BTreeMap::new();
        for (_, region) in regions.iter() {
            if !buckets.contains_key(region) {
                let binding = bucket_binding(region);
                let bucket = env.bucket(&binding).map_err(|_| {
                    worker::Error::RustError(format!(
                        "SHARD_REGIONS names region {region}, but no R2 bucket is bound as {binding}"
                    ))
                })?;
                buckets.insert(region.to_string(), bucket);
            }
        }
        Ok(Rc::new(Regions {
            dbs,
            shards: regions.clone(),
            buckets,
            jurisdictions: !config.is_local(),
        }))
    }

    /// The region of the shard entered, if it is in one.
    pub fn region(&self) -> Option<&str> {
        self.dbs.entered().and_then(|s| self.shards.of(s))
    }

    /// The jurisdiction the tenant's Durable Object must be in: its
    /// region's, except locally (see `jurisdictions`).
    pub fn jurisdiction(&self) -> Option<&str> {
        self.region().filter(|_| self.jurisdictions)
    }

    /// The bucket of the region of the shard entered.
    pub fn bucket(&self) -> Option<&Bucket> {
        self.region().and_then(|r| self.buckets.get(r))
    }
}
