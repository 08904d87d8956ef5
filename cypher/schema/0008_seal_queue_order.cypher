// The checkpointer takes the oldest queued entries first; with a backlog (a restart
// after an outage, a bulk load) that order must come from an index, not a sort of the
// whole queue.
CREATE RANGE INDEX seal_queue_at IF NOT EXISTS FOR (n:SealQueue) ON (n.at);
