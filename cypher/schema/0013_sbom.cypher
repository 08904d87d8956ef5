// SBOM data (operational, never audited): documents, the components they list (one
// node per package URL, or per name and version), and a per-system lock node that
// serialises ingests of one system without touching its governed node.
CREATE CONSTRAINT sbom_id IF NOT EXISTS FOR (n:Sbom) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT component_key IF NOT EXISTS FOR (n:Component) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT sbom_lock_system IF NOT EXISTS FOR (n:SbomLock) REQUIRE n.systemId IS UNIQUE;
