// Teams, systems and technologies whose name has no natural key yet (written before
// migration 0009), with the keys already taken by their label, for the start-up
// backfill of `nameKey`.
// Params: none. Columns: label, missing [{id, name}], taken [{id, key}].
UNWIND ['Team', 'System', 'Technology'] AS label
CALL (label) {
  MATCH (n:Governed)
  WHERE label IN labels(n) AND n.name IS NOT NULL AND n.nameKey IS NULL
  RETURN collect({id: n.id, name: n.name}) AS missing
}
WITH label, missing
WHERE size(missing) > 0
CALL (label) {
  MATCH (n:Governed)
  WHERE label IN labels(n) AND n.nameKey IS NOT NULL
  RETURN collect({id: n.id, key: n.nameKey}) AS taken
}
RETURN label, missing, taken
