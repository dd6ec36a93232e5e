//! D1 backups as SQL: `INSERT` statements for every row of every table, to
//! be run with `wrangler d1 execute --file` on a database that has had the
//! migrations applied (see docs/OPERATIONS.md, "Backups and recovery"). Pure.

use serde_json::{Map, Value};

/// Tables never copied: D1's and SQLite's own, the migration ledger (the
/// restore target gets it from `wrangler d1 migrations apply`), and the
/// per-minute metrics (re-creatable, and by far the most rows).
pub fn is_backed_up(table: &str) -> bool {
    !(table.starts_with("_cf_")
        || table.starts_with("sqlite_")
        || table == "d1_migrations"
        || table == "metrics_minute")
}

/// The first lines of a backup.
pub fn header(created_at: &str, tables: usize) -> String {
    format!(
        "-- Quire D1 backup, {created_at}, {tables} tables.\n\
         -- Restore: apply the migrations to an empty database, then run this file.\n\
         PRAGMA defer_foreign_keys = true;\n"
    )
}

/// A SQL literal for a value as D1 returns it.
pub fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        },
        Value::String(s) => quote(s),
        other => quote(&other.to_string()),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One `INSERT` per row, columns named.
pub fn inserts(table: &str, rows: &[Map<String, Value>]) -> String {
    let mut out = String::new();
    for row in rows {
        let cols: Vec<String> = row.keys().map(|k| ident(k)).collect();
        let vals: Vec<String> = row.values().map(literal).collect();
        out.push_str(&format!(
            "INSERT INTO {} ({}) VALUES ({});\n",
            ident(table),
            cols.join(", "),
            vals.join(", ")
        ));
    }
    out
}

/// A backup's object key: sortable by time.
pub fn object_key(created_ms: u64, id: &str) -> String {
    format!("backups/{created_ms:015}-{id}.sql")
}

/// The time a backup key was made at, if it is one.
pub fn created_of(key: &str) -> Option<u64> {
    key.strip_prefix("backups/")?.get(..15)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_quote_and_keep_integers_integral() {
        assert_eq!(literal(&json!(null)), "NULL");
        assert_eq!(literal(&json!(42)), "42");
        assert_eq!(literal(&json!(1700000000000.0)), "1700000000000");
        assert_eq!(literal(&json!(0.25)), "0.25");
        assert_eq!(literal(&json!("it's")), "'it''s'");
        assert_eq!(literal(&json!(true)), "1");
    }

    #[test]
    fn inserts_name_columns() {
        let rows = vec![json!({"id": "t1", "name": "O'Neil\nLtd", "n": 3})
            .as_object()
            .unwrap()
            .clone()];
        assert_eq!(
            inserts("tenants", &rows),
            "INSERT INTO \"tenants\" (\"id\", \"name\", \"n\") VALUES ('t1', 'O''Neil\nLtd', 3);\n"
        );
        assert!(!is_backed_up("d1_migrations"));
        assert!(!is_backed_up("_cf_KV"));
        assert!(!is_backed_up("metrics_minute"));
        assert!(is_backed_up("audit_log"));
    }

    #[test]
    fn keys_sort_by_time_and_parse_back() {
        let k = object_key(1_700_000_000_000, "bk_1");
        assert_eq!(k, "backups/001700000000000-bk_1.sql");
        assert_eq!(created_of(&k), Some(1_700_000_000_000));
        assert_eq!(created_of("tenants/x"), None);
        assert!(object_key(9, "a") < object_key(10, "a"));
    }
}
