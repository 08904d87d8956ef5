// Pseudonymous actors: a User's token subject moves to its own property, unique, so
// a subject maps to one internal id (new users get a random UUID as id). Users from
// before this migration keep their id (entries already written name them by it) and
// get it as their subject.
CREATE CONSTRAINT user_subject IF NOT EXISTS FOR (n:User) REQUIRE n.subject IS UNIQUE;
MATCH (u:User)
WHERE u.subject IS NULL AND u.erased IS NULL
CALL (u) {
  SET u.subject = u.id
} IN TRANSACTIONS OF 1000 ROWS;
// Natural keys are unique after Unicode NFC and case folding (`nameKey`), so names
// that differ only in case or normalization form are one name. govtrail computes the
// keys of existing names at start-up and reports collisions (store::name_keys).
CREATE CONSTRAINT team_name_key IF NOT EXISTS FOR (n:Team) REQUIRE n.nameKey IS UNIQUE;
CREATE CONSTRAINT system_name_key IF NOT EXISTS FOR (n:System) REQUIRE n.nameKey IS UNIQUE;
CREATE CONSTRAINT technology_name_key IF NOT EXISTS FOR (n:Technology) REQUIRE n.nameKey IS UNIQUE;
