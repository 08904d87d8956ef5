// One page of audit entries, newest or oldest first, with keyset pagination on
// (timestamp, id). A template with seven placeholders (braced words below): the scope's
// pattern, its predicate, the timestamp it pages by and the sort key it orders by
// (src/history/mod.rs: the entry's own timestamp, or for one entity the copy on its
// AUDITS edge, which the `audits_entity_at` index serves in (entity, timestamp) order,
// so a page reads no more of a long history than it shows), an AND-joined list of predicates on fixed property names, and the
// sort direction with its comparison — all chosen from closed Rust enums, never from
// input; every value is a parameter.
// Params: $scopeId, $scopeType, $from, $to (RFC 3339), $cursorTs, $cursorId (or null),
//         $limit, and one parameter per filter.
// Columns: entry (map; timestamp as RFC 3339 text), actorName and actorErased (of the
// User the hashed `userId` names), audits [{type, id}], sealed (a checkpoint SEALS it).
{scope}
WHERE {ts} >= datetime($from) AND {ts} <= datetime($to)
  {scopeFilter}
  {filters}
  AND ($cursorTs IS NULL
       OR {ts} {cmp} datetime($cursorTs)
       OR ({ts} = datetime($cursorTs) AND e.id {cmp} $cursorId))
WITH e
ORDER BY {sort} {dir}, e.id {dir}
LIMIT $limit
OPTIONAL MATCH (u:User {id: e.userId})
RETURN e {.*, timestamp: toString(e.timestamp)} AS entry,
       u.displayName AS actorName,
       coalesce(u.erased, false) AS actorErased,
       COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN {type: [l IN labels(x) WHERE l <> 'Governed'][0], id: x.id} } AS audits,
       EXISTS { (:Checkpoint)-[:SEALS]->(e) } AS sealed
