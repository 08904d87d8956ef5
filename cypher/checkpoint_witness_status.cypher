// Records on the lease what stops checkpoints from reaching the witness (null when
// nothing does), for /status on every replica.
// Params: $error (string or null). Columns: holder.
MATCH (l:CheckpointLease {id: 'checkpointer'})
SET l.witnessError = $error,
    l.witnessErrorSince = CASE
      WHEN $error IS NULL THEN null
      ELSE coalesce(l.witnessErrorSince, datetime())
    END
RETURN l.holder AS holder
