// An entity's history in time order straight from an index: every AUDITS edge carries
// the audited entity's id and the entry's timestamp, and a range index on the pair
// gives the entries of one entity, primary or related, newest or oldest first, without
// reading (or sorting) the rest of its history. A first page then costs the same on a
// history of 200 entries as on one of a million. Existing edges are filled in here.
CREATE RANGE INDEX audits_entity_at IF NOT EXISTS FOR ()-[r:AUDITS]-() ON (r.entity, r.at);
MATCH (e:AuditLog)-[r:AUDITS]->(x:Governed)
WHERE r.at IS NULL
CALL (e, r, x) {
  SET r.entity = x.id, r.at = e.timestamp
} IN TRANSACTIONS OF 10000 ROWS;
