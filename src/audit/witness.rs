//! The external witness of checkpoint heads: an append-only JSON-lines file outside
//! Neo4j (`checkpoint_sink`). Each line is one checkpoint head, in sequence order:
//! `{"seq", "prev", "hash", "root", "count", "sealedAt", "keyId", "signature"}`. The
//! witness accepts a head only as the direct successor of its last line (the next
//! `seq`, and `prev` equal to the last `hash`), so it holds one unbroken chain, and
//! appending a head it already holds is a no-op. Verification trusts the witness, not
//! anything stored in Neo4j.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One checkpoint head as the witness holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    /// Checkpoint sequence number.
    pub seq: i64,
    /// Hash of the previous checkpoint (`GENESIS` for the first). Lines written before
    /// govtrail recorded it have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    /// The checkpoint's hash.
    pub hash: String,
    /// Its Merkle root.
    pub root: String,
    /// Entries it seals.
    pub count: i64,
    /// When it was sealed (canonical timestamp).
    pub sealed_at: String,
    /// Signing key id.
    pub key_id: String,
    /// Signature of `hash`.
    pub signature: String,
}

impl Head {
    /// The head of a checkpoint map (as stored or as built).
    #[must_use]
    pub fn of(checkpoint: &Value) -> Self {
        let text = |k: &str| checkpoint[k].as_str().unwrap_or_default().to_owned();
        Self {
            seq: checkpoint["seq"].as_i64().unwrap_or(0),
            prev: checkpoint["prev"].as_str().map(str::to_owned),
            hash: text("hash"),
            root: text("root"),
            count: checkpoint["count"].as_i64().unwrap_or(0),
            sealed_at: text("sealedAt"),
            key_id: text("keyId"),
            signature: text("signature"),
        }
    }
}

/// A witness line that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub detail: String,
}

/// Why a head was not appended.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The file cannot be read or written.
    #[error("the checkpoint witness {path} cannot be used: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The head does not continue the witness's chain.
    #[error("the witness refuses checkpoint {seq}: {detail}")]
    Refused {
        /// The head's seq.
        seq: i64,
        /// Why.
        detail: String,
    },
}

/// Everything the witness holds: its heads in file order, and the lines it could not read.
#[derive(Debug, Clone, Default)]
pub struct Witnessed {
    /// Heads, in file order.
    pub heads: Vec<Head>,
    /// Unreadable lines.
    pub bad: Vec<BadLine>,
}

/// A witness file.
#[derive(Debug, Clone)]
pub struct FileWitness {
    path: PathBuf,
}

impl FileWitness {
    /// The witness at `path` (created on the first append).
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Its path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> WitnessError {
        WitnessError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Every line. A missing file holds nothing.
    pub fn read_all(&self) -> Result<Witnessed, WitnessError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io(e)),
        };
        let mut out = Witnessed::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Head>(line) {
                Ok(head) => out.heads.push(head),
                Err(e) => out.bad.push(BadLine {
                    line: i + 1,
                    detail: e.to_string(),
                }),
            }
        }
        Ok(out)
    }

    /// The last head, read from the end of the file.
    pub fn last(&self) -> Result<Option<Head>, WitnessError> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let len = file.metadata().map_err(|e| self.io(e))?.len();
        // A head line is well under 1 KiB; read enough of the tail for a whole one.
        let start = len.saturating_sub(16 * 1024);
        file.seek(SeekFrom::Start(start)).map_err(|e| self.io(e))?;
        let mut tail = String::new();
        file.read_to_string(&mut tail).map_err(|e| self.io(e))?;
        let Some(line) = tail.lines().rev().find(|l| !l.trim().is_empty()) else {
            return Ok(None);
        };
        serde_json::from_str(line)
            .map(Some)
            .map_err(|e| WitnessError::Refused {
                seq: 0,
                detail: format!("its last line cannot be read: {e}"),
            })
    }

    /// Appends `head` if it continues the chain; a head already held (same seq and
    /// hash) is accepted without writing. Returns whether a line was written.
    pub fn append(&self, head: &Head) -> Result<bool, WitnessError> {
        let last = self.last()?;
        let refuse = |detail: String| WitnessError::Refused {
            seq: head.seq,
            detail,
        };
        match &last {
            Some(l) if l.seq == head.seq && l.hash == head.hash => return Ok(false),
            Some(l) if l.seq >= head.seq => {
                return Err(refuse(format!(
                    "it already holds checkpoint {} with another hash or a later one ({})",
                    head.seq, l.seq
                )));
            }
            Some(l) if l.seq + 1 != head.seq => {
                return Err(refuse(format!(
                    "its last checkpoint is {}, so {} would leave a gap",
                    l.seq, head.seq
                )));
            }
            Some(l) if head.prev.as_deref() != Some(l.hash.as_str()) => {
                return Err(refuse(format!(
                    "its prev does not name checkpoint {}'s hash",
                    l.seq
                )));
            }
            // An empty witness takes any first head: a witness added to a running
            // deployment starts where it is (verification names the earlier ones).
            _ => {}
        }
        let line = serde_json::to_string(head).map_err(|e| refuse(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        writeln!(file, "{line}").map_err(|e| self.io(e))?;
        file.sync_data().map_err(|e| self.io(e))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(seq: i64, prev: &str, hash: &str) -> Head {
        Head {
            seq,
            prev: Some(prev.into()),
            hash: hash.into(),
            root: "r".into(),
            count: 1,
            sealed_at: "2026-12-01T00:00:00.000000Z".into(),
            key_id: "k".into(),
            signature: "s".into(),
        }
    }

    #[test]
    fn the_witness_holds_one_unbroken_chain() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let w = FileWitness::new(dir.path().join("heads.jsonl"));
        assert_eq!(w.last().ok().flatten(), None);
        assert!(
            w.append(&head(1, "GENESIS", "h1"))
                .is_ok_and(|written| written)
        );
        assert!(
            w.append(&head(1, "GENESIS", "h1"))
                .is_ok_and(|written| !written),
            "a repeat is a no-op"
        );
        assert!(
            w.append(&head(1, "GENESIS", "other")).is_err(),
            "a different seq 1"
        );
        assert!(w.append(&head(3, "h2", "h3")).is_err(), "a gap");
        assert!(
            w.append(&head(2, "wrong", "h2")).is_err(),
            "prev must name the last hash"
        );
        assert!(w.append(&head(2, "h1", "h2")).is_ok_and(|written| written));
        assert_eq!(w.last().ok().flatten().map(|h| h.seq), Some(2));
        let all = w.read_all().unwrap_or_default();
        assert_eq!(all.heads.len(), 2);
        assert!(all.bad.is_empty());
    }

    #[test]
    fn an_unwritable_witness_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let w = FileWitness::new(dir.path().to_path_buf());
        assert!(matches!(
            w.append(&head(1, "GENESIS", "h1")),
            Err(WitnessError::Io { .. })
        ));
    }
}
