// Change requests: the sweep finds PENDING requests past their time through this
// index; govtrail's own User (no subject, so no token maps to it) performs what
// govtrail records by itself, such as an expiry.
CREATE INDEX change_request_expiry IF NOT EXISTS FOR (n:ChangeRequest) ON (n.state, n.expiresAt);
MERGE (u:User {id: '00000000-0000-0000-0000-000000000000'})
  ON CREATE SET u:Governed, u.version = 1, u.displayName = 'govtrail', u.system = true;
