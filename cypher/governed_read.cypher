// First statement of every governed change: write-locks the governed nodes the change
// touches (setting `id` to the value it has takes the node's write lock, held until the
// transaction ends, so no concurrent change can slip in between this read and the
// write, and changes nothing: there is no marker to clean up; REMOVE of a property no
// node has would not do, since Neo4j skips it without locking while the property's
// name is unknown to the database), and reads their state,
// the relationships the command asked for, any stored idempotency record, and the user
// id of a token subject (for REGISTER_USER).
// Params: $ids [string] (sorted, so concurrent changes lock in one order),
//         $rels [{id, type, dir: 'OUT'|'IN'}], $idem (string or null),
//         $subject (string or null).
// Columns: nodes [map: properties plus _labels], rels [{id, type, dir, other}],
//          idem (map or null), subjectUser (string or null).
CALL () {
  UNWIND $ids AS id
  MATCH (n:Governed {id: id})
  SET n.id = n.id
  RETURN collect(n {.*, _labels: labels(n)}) AS nodes
}
CALL () {
  UNWIND $rels AS q
  MATCH (n:Governed {id: q.id})
  OPTIONAL MATCH (n)-[r:$(q.type)]-(m:Governed)
  WHERE (q.dir = 'OUT' AND startNode(r) = n) OR (q.dir = 'IN' AND endNode(r) = n)
  WITH q, m WHERE m IS NOT NULL
  RETURN collect({id: q.id, type: q.type, dir: q.dir, other: m.id}) AS rels
}
OPTIONAL MATCH (k:IdempotencyKey {id: $idem})
OPTIONAL MATCH (s:User {subject: $subject})
RETURN nodes, rels, k {.*} AS idem, s.id AS subjectUser
