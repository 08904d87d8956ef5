// Bulk seeding (benchmarks, demo data): creates governed nodes of one label.
// The label arrives as a value but comes only from govtrail's closed EntityType enum.
// Params: $label, $nodes [map]. Columns: created.
UNWIND $nodes AS n
CREATE (x:Governed)
SET x = n, x:$($label)
RETURN count(x) AS created
