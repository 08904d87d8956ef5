// Maps a token subject to its internal user id, creating the User with the fresh id
// `$id` the first time govtrail sees the subject. The unique constraint on `subject`
// makes concurrent first requests of one subject meet on one node. An erased user has
// no subject, so a subject never maps to an erased user.
// Params: $subject, $id (used only when the node is created). Columns: id.
MERGE (u:User {subject: $subject})
  ON CREATE SET u:Governed, u.id = $id, u.version = 1
RETURN u.id AS id
