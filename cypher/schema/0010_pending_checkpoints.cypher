// A checkpoint is committed as pending before its head reaches the external witness,
// and final after: one pending checkpoint per sequence number.
CREATE CONSTRAINT pending_checkpoint_seq IF NOT EXISTS FOR (n:PendingCheckpoint) REQUIRE n.seq IS UNIQUE;
// No query reads checkpoints by time since SEALS edges lead from an entry to its
// checkpoint.
DROP INDEX checkpoint_sealed_at IF EXISTS;
