//! Ordered schema migrations from `cypher/schema/NNNN_name.cypher`, compiled into the
//! binary. Each applied file is recorded as
//! `(:SchemaMigration {version, name, checksum, appliedAt})`; an applied file whose
//! checksum no longer matches stops start-up, and re-running applies nothing.
//!
//! Every statement is idempotent (`IF NOT EXISTS`), so a run interrupted between a
//! statement and its record, or two replicas migrating at once, converge.

use std::collections::BTreeMap;

use neo4rs::query;
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The `NNNN` prefix; strictly increasing.
    pub version: i64,
    /// The file name without directory.
    pub name: String,
    /// The file's text.
    pub script: String,
}

impl Migration {
    /// Hex SHA-256 of the file's bytes.
    #[must_use]
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.script.as_bytes()))
    }

    /// The statements: `;`-terminated, with `//` comment lines removed.
    #[must_use]
    pub fn statements(&self) -> Vec<String> {
        let text: String = self
            .script
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        text.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The compiled-in migration files. A unit test proves this list and the directory agree.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "0001_id_constraints.cypher",
        include_str!("../../cypher/schema/0001_id_constraints.cypher"),
    ),
    (
        "0002_natural_keys.cypher",
        include_str!("../../cypher/schema/0002_natural_keys.cypher"),
    ),
    (
        "0003_audit_indexes.cypher",
        include_str!("../../cypher/schema/0003_audit_indexes.cypher"),
    ),
    (
        "0004_governed_and_idempotency.cypher",
        include_str!("../../cypher/schema/0004_governed_and_idempotency.cypher"),
    ),
    (
        "0005_checkpoints.cypher",
        include_str!("../../cypher/schema/0005_checkpoints.cypher"),
    ),
    (
        "0006_checkpoint_time_index.cypher",
        include_str!("../../cypher/schema/0006_checkpoint_time_index.cypher"),
    ),
    (
        "0007_checkpoint_seals_edges.cypher",
        include_str!("../../cypher/schema/0007_checkpoint_seals_edges.cypher"),
    ),
    (
        "0008_seal_queue_order.cypher",
        include_str!("../../cypher/schema/0008_seal_queue_order.cypher"),
    ),
    (
        "0009_user_subjects_and_name_keys.cypher",
        include_str!("../../cypher/schema/0009_user_subjects_and_name_keys.cypher"),
    ),
    (
        "0010_pending_checkpoints.cypher",
        include_str!("../../cypher/schema/0010_pending_checkpoints.cypher"),
    ),
    (
        "0011_change_requests.cypher",
        include_str!("../../cypher/schema/0011_change_requests.cypher"),
    ),
    (
        "0012_break_glass_review.cypher",
        include_str!("../../cypher/schema/0012_break_glass_review.cypher"),
    ),
    (
        "0013_sbom.cypher",
        include_str!("../../cypher/schema/0013_sbom.cypher"),
    ),
    (
        "0014_component_match_keys.cypher",
        include_str!("../../cypher/schema/0014_component_match_keys.cypher"),
    ),
    (
        "0015_seal_queue_edges.cypher",
        include_str!("../../cypher/schema/0015_seal_queue_edges.cypher"),
    ),
    (
        "0016_audits_entity_order.cypher",
        include_str!("../../cypher/schema/0016_audits_entity_order.cypher"),
    ),
];

const MIGRATIONS_APPLIED: &str = include_str!("../../cypher/migrations_applied.cypher");
const MIGRATION_RECORD: &str = include_str!("../../cypher/migration_record.cypher");

/// Why migrating stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// A file name does not start with a number, or versions are not increasing.
    #[error("bad migration file name `{0}`: expected NNNN_name.cypher in increasing order")]
    BadName(String),
    /// An applied migration's file changed after it was applied.
    #[error(
        "migration {version} ({name}) was applied with checksum {applied} but the file now has {current}; \
         applied migrations must never change: restore the file and add a new migration instead"
    )]
    ChecksumMismatch {
        /// Migration version.
        version: i64,
        /// File name.
        name: String,
        /// Checksum recorded in Neo4j.
        applied: String,
        /// Checksum of the file in this build.
        current: String,
    },
    /// Neo4j records a migration this build does not have (the database is newer).
    #[error(
        "Neo4j records migration {version} ({name}) which this build does not know; refusing to run an older govtrail against a newer schema"
    )]
    Unknown {
        /// Migration version.
        version: i64,
        /// Recorded file name.
        name: String,
    },
    /// Talking to Neo4j failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the database stands relative to this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions applied with matching checksums.
    pub applied: Vec<i64>,
    /// Versions not applied yet.
    pub pending: Vec<i64>,
}

impl MigrationStatus {
    /// True when nothing is pending.
    #[must_use]
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Applies a fixed, ordered list of migrations.
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Vec<Migration>,
}

impl Migrator {
    /// The migrations compiled into this binary.
    pub fn embedded() -> Result<Self, MigrationError> {
        Self::new(
            EMBEDDED
                .iter()
                .map(|(name, script)| ((*name).to_owned(), (*script).to_owned())),
        )
    }

    /// Migrations from `(file name, text)` pairs; versions come from the name prefix.
    pub fn new(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, MigrationError> {
        let mut migrations: Vec<Migration> = Vec::new();
        for (name, script) in files {
            let version = name
                .split_once('_')
                .filter(|(_, rest)| rest.ends_with(".cypher"))
                .and_then(|(digits, _)| digits.parse::<i64>().ok())
                .ok_or_else(|| MigrationError::BadName(name.clone()))?;
            if migrations.last().is_some_and(|m| m.version >= version) {
                return Err(MigrationError::BadName(name));
            }
            migrations.push(Migration {
                version,
                name,
                script,
            });
        }
        Ok(Self { migrations })
    }

    /// The migrations, in order.
    #[must_use]
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// Compares the recorded migrations with this build's. One round trip.
    pub async fn status(&self, store: &Store) -> Result<MigrationStatus, MigrationError> {
        let recorded = self.recorded(store).await?;
        self.compare(&recorded)
    }

    /// Applies every pending migration in order; returns the versions applied now.
    ///
    /// Replicas starting together migrate concurrently: Neo4j then reports deadlocks
    /// or already-existing schema objects for statements another replica just ran.
    /// Every statement is idempotent, so a failed run is simply re-run (after
    /// re-reading what is applied) a few times before giving up.
    pub async fn run(&self, store: &Store) -> Result<Vec<i64>, MigrationError> {
        const ATTEMPTS: u32 = 8;
        let mut applied = Vec::new();
        for attempt in 1..=ATTEMPTS {
            match self.run_once(store, &mut applied).await {
                Err(MigrationError::Store(e)) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "migration interrupted; re-running");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                        .await;
                }
                Err(e) => return Err(e),
                Ok(()) => return Ok(applied),
            }
        }
        Ok(applied)
    }

    async fn run_once(
        &self,
        store: &Store,
        applied_now: &mut Vec<i64>,
    ) -> Result<(), MigrationError> {
        let recorded = self.recorded(store).await?;
        let status = self.compare(&recorded)?;
        for migration in self
            .migrations
            .iter()
            .filter(|m| status.pending.contains(&m.version))
        {
            for statement in migration.statements() {
                // Schema statements cannot share a transaction with writes; each runs
                // in its own auto-commit transaction.
                store
                    .graph()
                    .run(query(&statement))
                    .await
                    .map_err(|e| store.error(e))?;
            }
            let checksum = migration.checksum();
            let mut rows = store
                .graph()
                .execute(
                    query(MIGRATION_RECORD)
                        .param("version", migration.version)
                        .param("name", migration.name.as_str())
                        .param("checksum", checksum.as_str()),
                )
                .await
                .map_err(|e| store.error(e))?;
            let row = rows
                .next()
                .await
                .map_err(|e| store.error(e))?
                .ok_or_else(|| StoreError::Decode("migration record returned no row".into()))?;
            let recorded: String = row
                .get("checksum")
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            if recorded != checksum {
                return Err(MigrationError::ChecksumMismatch {
                    version: migration.version,
                    name: migration.name.clone(),
                    applied: recorded,
                    current: checksum,
                });
            }
            tracing::info!(version = migration.version, name = %migration.name, "applied migration");
            applied_now.push(migration.version);
        }
        Ok(())
    }

    async fn recorded(&self, store: &Store) -> Result<BTreeMap<i64, (String, String)>, StoreError> {
        let mut rows = store
            .graph()
            .execute(query(MIGRATIONS_APPLIED))
            .await
            .map_err(|e| store.error(e))?;
        let mut recorded = BTreeMap::new();
        while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
            let version: i64 = row
                .get("version")
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            let name: String = row.get("name").unwrap_or_default();
            let checksum: String = row
                .get("checksum")
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            recorded.insert(version, (name, checksum));
        }
        Ok(recorded)
    }

    fn compare(
        &self,
        recorded: &BTreeMap<i64, (String, String)>,
    ) -> Result<MigrationStatus, MigrationError> {
        let mut status = MigrationStatus {
            applied: Vec::new(),
            pending: Vec::new(),
        };
        for migration in &self.migrations {
            match recorded.get(&migration.version) {
                Some((_, applied)) if *applied == migration.checksum() => {
                    status.applied.push(migration.version);
                }
                Some((_, applied)) => {
                    return Err(MigrationError::ChecksumMismatch {
                        version: migration.version,
                        name: migration.name.clone(),
                        applied: applied.clone(),
                        current: migration.checksum(),
                    });
                }
                None => status.pending.push(migration.version),
            }
        }
        if let Some((version, (name, _))) = recorded
            .iter()
            .find(|(v, _)| !self.migrations.iter().any(|m| m.version == **v))
        {
            return Err(MigrationError::Unknown {
                version: *version,
                name: name.clone(),
            });
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_the_schema_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/cypher/schema");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cypher"))
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(embedded, on_disk);
        assert!(Migrator::embedded().is_ok());
    }

    #[test]
    fn statements_drop_comments_and_split_on_semicolons() {
        let m = Migration {
            version: 1,
            name: "0001_x.cypher".into(),
            script: "// c1\nCREATE A;\n  // c2\nCREATE B\n  ON C;\n\n".into(),
        };
        assert_eq!(m.statements(), vec!["CREATE A", "CREATE B\n  ON C"]);
    }

    #[test]
    fn names_must_be_numbered_and_increasing() {
        let file = |n: &str| (n.to_owned(), String::new());
        assert!(Migrator::new([file("0001_a.cypher"), file("0002_b.cypher")]).is_ok());
        assert!(Migrator::new([file("0002_a.cypher"), file("0001_b.cypher")]).is_err());
        assert!(Migrator::new([file("0001_a.cypher"), file("0001_b.cypher")]).is_err());
        assert!(Migrator::new([file("first.cypher")]).is_err());
        assert!(Migrator::new([file("0001_a.txt")]).is_err());
    }

    #[test]
    fn a_changed_applied_file_is_a_checksum_mismatch() {
        let migrator = Migrator::new([("0001_a.cypher".to_owned(), "CREATE A;".to_owned())]);
        let Ok(migrator) = migrator else {
            panic!("valid migrations")
        };
        let mut recorded = BTreeMap::new();
        recorded.insert(1, ("0001_a.cypher".to_owned(), "0000".to_owned()));
        assert!(matches!(
            migrator.compare(&recorded),
            Err(MigrationError::ChecksumMismatch { version: 1, .. })
        ));
        recorded.insert(
            1,
            (
                "0001_a.cypher".to_owned(),
                migrator.migrations()[0].checksum(),
            ),
        );
        assert!(migrator.compare(&recorded).is_ok_and(|s| s.is_current()));
        recorded.insert(2, ("0002_b.cypher".to_owned(), "x".to_owned()));
        assert!(matches!(
            migrator.compare(&recorded),
            Err(MigrationError::Unknown { version: 2, .. })
        ));
    }
}
