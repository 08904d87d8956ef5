// One round trip to prove Neo4j answers (readiness, start-up wait).
// Params: none. Columns: ok (always 1).
RETURN 1 AS ok
