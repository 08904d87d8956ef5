// Break-glass review: a governance-admin's next break-glass change looks up their
// unreviewed one, and /status the oldest unreviewed of all, through this index.
CREATE INDEX change_request_review IF NOT EXISTS FOR (n:ChangeRequest) ON (n.reviewState, n.requesterId);
