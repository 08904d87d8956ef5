// The change requests a packet's entries ask for, act on or execute, with the exact
// command each holds (its canonical JSON text) and who approved it.
// Params: $ids [string]. Columns: request (map).
UNWIND $ids AS id
MATCH (r:Governed {id: id})
WHERE r:ChangeRequest
RETURN r {.id, .operation, .state, .command, .commandDigest, .requesterId, .approverIds,
          .policyVersion, .evidence, .breakGlass} AS request
ORDER BY r.id
