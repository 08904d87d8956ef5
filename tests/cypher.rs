//! Static checks of the Cypher in `cypher/`: every file is used by the code, every
//! `include_str!` points at a file, and no statement can update or delete an
//! existing `AuditLog` (the audit log is append-only).

use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path, ext));
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Every `.cypher` file; never empty (a moved directory must not pass as "all fine").
fn cypher_files() -> Vec<PathBuf> {
    let found = files(&root().join("cypher"), "cypher");
    assert!(
        found.len() > 10,
        "cypher/ not found or nearly empty: {found:?}"
    );
    found
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_cypher_file_is_used_and_every_include_exists() {
    let sources: String = files(&root().join("src"), "rs")
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    for file in cypher_files() {
        let relative = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        assert!(
            sources.contains(&format!("{relative}\")")),
            "{relative} is not loaded by any include_str!"
        );
    }
    for include in sources.split("include_str!(\"").skip(1) {
        let target = include.split('"').next().unwrap_or_default();
        let name = target.trim_start_matches("../").trim_start_matches("../");
        assert!(
            root().join(name).exists(),
            "include_str!(\"{target}\") has no file"
        );
    }
}

/// Variables a statement binds to existing `AuditLog` nodes with MATCH.
fn matched_audit_vars(statement: &str) -> Vec<String> {
    let mut vars = Vec::new();
    let upper = statement.to_uppercase();
    let mut from = 0;
    while let Some(at) = upper[from..].find("MATCH") {
        let start = from + at + "MATCH".len();
        let clause = &statement[start..];
        let clause_end = clause.find('\n').unwrap_or(clause.len());
        let mut rest = &clause[..clause_end];
        while let Some(open) = rest.find('(') {
            let inside = &rest[open + 1..];
            let close = inside.find(')').unwrap_or(inside.len());
            let node = &inside[..close];
            if let Some((var, labels)) = node.split_once(':')
                && labels.trim_start().starts_with("AuditLog")
                && !var.trim().is_empty()
            {
                vars.push(var.trim().to_owned());
            }
            rest = &inside[close..];
        }
        from = start;
    }
    vars
}

#[test]
fn no_statement_updates_or_deletes_an_existing_audit_entry() {
    for file in cypher_files() {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let upper = code.to_uppercase();
        for var in matched_audit_vars(&code) {
            for verb in ["SET", "REMOVE", "DELETE", "DETACH DELETE"] {
                for pattern in [format!("{verb} {var}"), format!("{verb} {var}.")] {
                    assert!(
                        !upper.contains(&pattern.to_uppercase()),
                        "{}: `{pattern}` changes an existing AuditLog",
                        file.display()
                    );
                }
            }
        }
        assert!(
            !upper.contains("DETACH DELETE") || !upper.contains("AUDITLOG"),
            "{} deletes near AuditLog",
            file.display()
        );
    }
}

#[test]
fn the_append_only_check_would_catch_an_edit() {
    let vars = matched_audit_vars("MATCH (e:AuditLog {id: $id})\nSET e.reason = 'x'");
    assert_eq!(vars, vec!["e".to_owned()]);
    let vars = matched_audit_vars("OPTIONAL MATCH (old:AuditLog {id: $id})-[:AUDITS]->(x)");
    assert_eq!(vars, vec!["old".to_owned()]);
}
