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
pub const TENANT_TABLES: [&str; 7] = [
    "documents",
    "jobs",
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

/// The shard a new tenant is placed on: the one with the fewest tenants
/// (the lowest index on a tie). `counts[i]` is shard i's tenant count.
pub fn place(counts: &[u64]) -> u32 {
    counts
        .iter()
        .enumerate()
        .min_by_key(|(i, n)| (**n, *i))
        .map_or(0, |(i, _)| i as u32)
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
    fn a_new_tenant_goes_to_the_emptiest_shard() {
        assert_eq!(place(&[3, 1, 2]), 1);
        assert_eq!(place(&[2, 2]), 0);
        assert_eq!(place(&[5]), 0);
        assert_eq!(place(&[]), 0);
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
