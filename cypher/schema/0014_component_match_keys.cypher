// Components carry the alias-independent part of the technology matching rule
// (baseKey); technology usage finds its components by it.
CREATE INDEX component_base_key IF NOT EXISTS FOR (n:Component) ON (n.baseKey);
