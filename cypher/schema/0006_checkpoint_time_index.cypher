// Inclusion proofs find the checkpoint that sealed an entry by time.
CREATE RANGE INDEX checkpoint_sealed_at IF NOT EXISTS FOR (n:Checkpoint) ON (n.sealedAt);
