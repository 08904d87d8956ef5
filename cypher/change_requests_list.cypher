// Change requests, newest first, filtered, as one viewer may see them: a superuser
// ($all) sees every request; anyone else sees the requests they made or approved,
// and the PENDING ones they may approve (their roles hold the request's approver role,
// and they did not make it).
// Params: $all, $viewer, $viewerRoles [text], $state, $requester, $approver,
//         $operation, $target (each text or null), $afterAt, $afterId (cursor or
//         null), $limit. Columns: request (map; each request's node properties).
MATCH (r:ChangeRequest)
WHERE ($state IS NULL OR r.state = $state)
  AND ($requester IS NULL OR r.requesterId = $requester)
  AND ($approver IS NULL OR $approver IN r.approverIds)
  AND ($operation IS NULL OR r.operation = $operation)
  AND ($target IS NULL OR $target IN r.targetIds)
  AND ($all
       OR r.requesterId = $viewer
       OR $viewer IN r.approverIds
       OR (r.state = 'PENDING' AND r.approverRole IN $viewerRoles))
  AND ($afterAt IS NULL OR r.requestedAt < $afterAt
       OR (r.requestedAt = $afterAt AND r.id < $afterId))
RETURN r {.*} AS request
ORDER BY r.requestedAt DESC, r.id DESC
LIMIT $limit
