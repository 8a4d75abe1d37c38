//! Schema migrations: SQL files in `console/migrations/`, applied in order, once.
//! `PRAGMA user_version` is the number applied so far; each runs in its own
//! transaction with the version bump, so a crash mid-migration leaves the old schema.

use rusqlite::Connection;

use super::StoreError;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("../../migrations/0001_initial.sql")),
    ("0002_cluster", include_str!("../../migrations/0002_cluster.sql")),
    ("0003_unsent_reviews", include_str!("../../migrations/0003_unsent_reviews.sql")),
    ("0004_session_credentials", include_str!("../../migrations/0004_session_credentials.sql")),
];

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if applied > known {
        return Err(StoreError::NewerSchema { found: applied, known });
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let failed = |source| StoreError::Migration { name, source };
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(failed)?;
        tx.commit().map_err(failed)?;
        tracing::info!(migration = name, "console database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_a_newer_schema_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        let n: i64 =
            c.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'incidents'", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
        c.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(migrate(&mut c), Err(StoreError::NewerSchema { found: 99, .. })));
    }
}
