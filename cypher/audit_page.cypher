// One page of audit entries, newest or oldest first, with keyset pagination on
// (timestamp, id). A template with four placeholders (braced words below): the scope
// pattern (src/history/mod.rs), an AND-joined list of predicates on fixed property
// names, and the sort direction with its comparison — all chosen from closed Rust
// enums, never from input; every value is a parameter.
// Params: $scopeId, $scopeType, $from, $to (RFC 3339), $cursorTs, $cursorId (or null),
//         $limit, and one parameter per filter.
// Columns: entry (map; timestamp as RFC 3339 text), actorName and actorErased (of the
// User the hashed `userId` names), audits [{type, id}], sealed (a checkpoint SEALS it).
{scope}
WHERE e.timestamp >= datetime($from) AND e.timestamp <= datetime($to)
  {filters}
  AND ($cursorTs IS NULL
       OR e.timestamp {cmp} datetime($cursorTs)
       OR (e.timestamp = datetime($cursorTs) AND e.id {cmp} $cursorId))
WITH e
ORDER BY e.timestamp {dir}, e.id {dir}
LIMIT $limit
OPTIONAL MATCH (u:User {id: e.userId})
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry,
       u.displayName AS actorName,
       coalesce(u.erased, false) AS actorErased,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN {type: [l IN labels(x) WHERE l <> 'Governed'][0], id: x.id} } AS audits,
       EXISTS { (:Checkpoint)-[:SEALS]->(e) } AS sealed
