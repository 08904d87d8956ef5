// Every governed node also carries the label Governed, so a change can lock and read
// the nodes it touches by id through one index whatever their type. Idempotency
// records are unique per (caller, key).
CREATE CONSTRAINT governed_id IF NOT EXISTS FOR (n:Governed) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT idempotency_key_id IF NOT EXISTS FOR (n:IdempotencyKey) REQUIRE n.id IS UNIQUE;
