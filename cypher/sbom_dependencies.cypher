// One batch of dependency edges between components. Params: $rows [{from, to}].
UNWIND $rows AS row
MATCH (a:Component {key: row.from})
MATCH (b:Component {key: row.to})
MERGE (a)-[:DEPENDS_ON]->(b)
