//! Database sharding, the pure parts: which database a statement belongs
//! to, where a new tenant is placed, and what a move copies.
//!
//! The first database (binding `DB`) is the directory: tenants, their API
//! keys, users and identity providers, and the operations tables. It is
//! also shard 0. Further shards (`DB_1`, `DB_2`, ...) hold only tenant
//! data. A tenant's documents, jobs, uploads, shares, webhook deliveries
//! and audit log all live in its shard, so every tenant query reaches one
//! database, and the directory says which.

/// Tables that hold one tenant's data, in the order a move copies them
/// (parents first). `upload_parts` has no `tenant_id`: it goes with its
/// upload.
pub const TENANT_TABLES: [&str; 8] = [
    "documents",
    "jobs",
    "job_parts",
    "document_shares",
    "uploads",
    "upload_parts",
    "webhook_deliveries",
    "audit_log",
];

/// Tables local to every database (guards used inside one transaction).
const LOCAL_TABLES: [&str; 1] = ["audit_releases"];

/// Where a statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// The directory (and operations) database.
    Directory,
    /// The shard of the tenant being served.
    Shard,
    /// Neither kind named (e.g. `SELECT 1`): any database will do; the
    /// directory is used.
    Any,
}

/// The home of a statement, from the tables it names (words outside
/// string literals). A statement that names tables of both kinds cannot
/// run anywhere: `Err` with their names.
pub fn home_of(sql: &str) -> Result<Home, String> {
    let mut shard = None;
    let mut directory = None;
    // Every other piece between single quotes is inside a literal.
    let code = sql.split('\'').step_by(2);
    for word in code
        .flat_map(|piece| piece.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| !w.is_empty())
    {
        if is_tenant_table(word) {
            shard = Some(word);
        } else if DIRECTORY_TABLES.contains(&word) {
            directory = Some(word);
        }
    }
    match (shard, directory) {
        (Some(s), Some(d)) => Err(format!("statement names {s} (shard) and {d} (directory)")),
        (Some(_), None) => Ok(Home::Shard),
        (None, Some(_)) => Ok(Home::Directory),
        (None, None) => Ok(Home::Any),
    }
}

/// Tables only the directory holds rows of.
const DIRECTORY_TABLES: [&str; 10] = [
    "tenants",
    "api_keys",
    "users",
    "identity_providers",
    "tenant_tombstones",
    "dead_letters",
    "metrics_minute",
    "llm_metrics_minute",
    "alerts",
    "rollup_marks",
];

/// Whether a table's statements go to a tenant's shard (its guard table
/// too, which must be written in the same transaction as the deletes).
pub fn is_tenant_table(table: &str) -> bool {
    TENANT_TABLES.contains(&table) || LOCAL_TABLES.contains(&table)
}

/// The shard a new tenant is placed on: of the shards `eligible` allows,
/// the one with the fewest tenants (the lowest index on a tie); `None`
/// when it allows none. `counts[i]` is shard i's tenant count.
pub fn place(counts: &[u64], eligible: impl Fn(u32) -> bool) -> Option<u32> {
    counts
        .iter()
        .enumerate()
        .filter(|(i, _)| eligible(*i as u32))
        .min_by_key(|(i, n)| (**n, *i))
        .map(|(i, _)| i as u32)
}

/// Regions data can be kept in: Cloudflare's jurisdictions, which R2
/// buckets and Durable Objects can be restricted to.
pub const REGIONS: [&str; 2] = ["eu", "fedramp"];

/// Which shards are in a region (`SHARD_REGIONS`, e.g. `2=eu`): their
/// tenants' documents and results are kept in that region's bucket
/// (`DOCUMENTS_EU`) and their Durable Objects in its jurisdiction.
/// Shards not named are in no region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardRegions(std::collections::BTreeMap<u32, String>);

impl ShardRegions {
    pub fn parse(spec: &str) -> Result<ShardRegions, String> {
        let mut map = std::collections::BTreeMap::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (shard, region) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not shard=region"))?;
            let shard: u32 = shard
                .trim()
                .parse()
                .map_err(|_| format!("'{shard}' is not a shard number"))?;
            let region = region.trim();
            if !REGIONS.contains(&region) {
                return Err(format!(
                    "region '{region}' is not one of {}",
                    REGIONS.join(", ")
                ));
            }
            if map.insert(shard, region.to_string()).is_some() {
                return Err(format!("shard {shard} is named twice"));
            }
        }
        Ok(ShardRegions(map))
    }

    /// The region of a shard, if it is in one.
    pub fn of(&self, shard: u32) -> Option<&str> {
        self.0.get(&shard).map(String::as_str)
    }

    /// Every shard in a region, with it.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        self.0.iter().map(|(s, r)| (*s, r.as_str()))
    }

    /// Whether some shard is in `region`.
    pub fn has(&self, region: &str) -> bool {
        self.0.values().any(|r| r == region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_go_home_by_the_tables_they_name() {
        assert_eq!(
            home_of("SELECT id FROM jobs WHERE tenant_id = ?1"),
            Ok(Home::Shard)
        );
        assert_eq!(
            home_of("SELECT k.id FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"),
            Ok(Home::Directory)
        );
        assert_eq!(
            home_of("SELECT rowid AS __rowid, * FROM \"audit_log\" WHERE rowid > ?1"),
            Ok(Home::Shard)
        );
        assert_eq!(home_of("SELECT 1"), Ok(Home::Any));
        // A column named like a table prefix is not the table.
        assert_eq!(home_of("UPDATE jobs SET tenants_seen = 1"), Ok(Home::Shard));
        assert!(home_of("SELECT * FROM jobs j JOIN tenants t ON t.id = j.tenant_id").is_err());
        // A table's name inside a literal is a value, not the table.
        assert_eq!(
            home_of("SELECT upto_minute FROM rollup_marks WHERE name = 'jobs'"),
            Ok(Home::Directory)
        );
        assert_eq!(
            home_of("SELECT 1 FROM jobs WHERE status IN ('queued', 'tenants')"),
            Ok(Home::Shard)
        );
    }

    #[test]
    fn a_new_tenant_goes_to_the_emptiest_shard_it_may_use() {
        let any = |_| true;
        assert_eq!(place(&[3, 1, 2], any), Some(1));
        assert_eq!(place(&[2, 2], any), Some(0));
        assert_eq!(place(&[5], any), Some(0));
        assert_eq!(place(&[], any), None);
        // Only the shards of the tenant's region: the fullest if it must.
        assert_eq!(place(&[0, 0, 9], |s| s == 2), Some(2));
        assert_eq!(place(&[0, 0], |s| s == 2), None);
    }

    #[test]
    fn shard_regions_name_cloudflare_jurisdictions_only() {
        let r = ShardRegions::parse("2=eu, 3=fedramp").unwrap();
        assert_eq!(r.of(2), Some("eu"));
        assert_eq!(r.of(0), None);
        assert!(r.has("eu") && !r.has("us"));
        assert_eq!(ShardRegions::parse("").unwrap(), ShardRegions::default());
        for bad in ["2=us", "x=eu", "2", "2=eu,2=eu", "2=EU"] {
            assert!(ShardRegions::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_tenant_table_is_in_the_shard_home() {
        for t in TENANT_TABLES {
            assert_eq!(home_of(&format!("DELETE FROM {t}")), Ok(Home::Shard));
            assert!(is_tenant_table(t));
        }
        assert!(!is_tenant_table("tenants"));
    }
}
