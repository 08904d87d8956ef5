// Takes or renews the checkpointer lease for `$holder` when it is free, expired or
// already held by `$holder`. Returns no row when another replica holds it.
// Params: $holder (replica id), $ttlMs. Columns: holder.
MERGE (l:CheckpointLease {id: 'checkpointer'})
WITH l
WHERE l.holder IS NULL OR l.holder = $holder OR l.expiresAt < datetime()
SET l.holder = $holder, l.expiresAt = datetime() + duration({milliseconds: $ttlMs})
RETURN l.holder AS holder
