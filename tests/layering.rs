//! Static checks of the module layering (DESIGN.md, "Layout"): HTTP runs no Cypher
//! (its handlers call `history`, `governance`, `export` and the like, which own their
//! statements), and the lower layers (`audit`, `domain`, `store`) never reach back up
//! into the modules built on them.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The Rust files of `src/<module>`; never empty (a moved module must not pass).
fn module(name: &str) -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(name);
    let files: Vec<_> = rust_files(&dir)
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            (path, text)
        })
        .collect();
    assert!(!files.is_empty(), "src/{name} not found");
    files
}

/// The lines of `text` that contain any of `needles`.
fn offending(text: &str, needles: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|line| needles.iter().any(|n| line.contains(n)))
        .map(str::to_owned)
        .collect()
}

/// What running Cypher looks like in Rust: building a statement (neo4rs's `query`,
/// imported or not), or including a file of `cypher/`. (HTTP may name neo4rs's error
/// type, to classify it.)
const RUNS_CYPHER: &[&str] = &["neo4rs::query", "use neo4rs::", "cypher/"];

#[test]
fn http_runs_no_cypher() {
    let mut found = Vec::new();
    for (path, text) in module("http") {
        for line in offending(&text, RUNS_CYPHER) {
            found.push(format!("{}: {}", path.display(), line.trim()));
        }
    }
    assert!(
        found.is_empty(),
        "Cypher in the HTTP layer:\n{}",
        found.join("\n")
    );
}

#[test]
fn lower_layers_do_not_import_the_layers_above() {
    let above = [
        "crate::governance",
        "crate::http",
        "crate::history",
        "crate::export",
    ];
    let mut found = Vec::new();
    for name in ["audit", "domain", "store"] {
        for (path, text) in module(name) {
            for line in offending(&text, &above) {
                found.push(format!("{}: {}", path.display(), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a lower layer reaches up:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_checks_would_catch_a_violation() {
    let handler =
        "    let rows = store.read(neo4rs::query(\"MATCH (e:AuditLog) RETURN e\")).await?;";
    assert_eq!(offending(handler, RUNS_CYPHER).len(), 1);
    let imported = "use neo4rs::{Txn, query};";
    assert_eq!(offending(imported, RUNS_CYPHER).len(), 1);
    let included = "const X: &str = include_str!(\"../../cypher/audit_page.cypher\");";
    assert_eq!(offending(included, RUNS_CYPHER).len(), 1);
    let reaching = "use crate::governance::Governor;";
    assert_eq!(offending(reaching, &["crate::governance"]).len(), 1);
}
