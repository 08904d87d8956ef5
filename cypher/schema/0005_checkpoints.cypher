// Signed checkpoints: one per sequence number; entries waiting to be sealed are
// queued by id; one lease decides which replica runs the checkpointer.
CREATE CONSTRAINT checkpoint_seq IF NOT EXISTS FOR (n:Checkpoint) REQUIRE n.seq IS UNIQUE;
CREATE CONSTRAINT seal_queue_entry IF NOT EXISTS FOR (n:SealQueue) REQUIRE n.entryId IS UNIQUE;
CREATE CONSTRAINT checkpoint_lease_id IF NOT EXISTS FOR (n:CheckpointLease) REQUIRE n.id IS UNIQUE;
