//! Approval lineage: the decisions behind an entity's current approval state, who made
//! each and why, which earlier decision each superseded, and the constraints and
//! license decisions in force when it was made — as a JSON graph ordered in time and
//! as Mermaid text a person can look at.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use neo4rs::query;
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{Category, EntityType};
use crate::store::{Store, StoreError};

const LINEAGE: &str = include_str!("../../cypher/lineage.cypher");

/// Deepest lineage served.
pub const MAX_DEPTH: u8 = 3;
/// Most decisions in one lineage.
pub const MAX_DECISIONS: i64 = 1000;

/// A node of the lineage graph.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineageNode {
    /// Node id (entry id, entity id or user id).
    pub id: String,
    /// `decision`, `entity`, `request` (a change request) or `actor`.
    pub kind: &'static str,
    /// Details: the entry for a decision, type and label for an entity, name for an actor.
    #[serde(flatten)]
    pub data: Value,
}

/// An edge of the lineage graph.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LineageEdge {
    /// From node id.
    pub from: String,
    /// To node id.
    pub to: String,
    /// `AUDITS`, `PERFORMED_BY`, `SUPERSEDES`, `EXECUTES` (an entry ran the change
    /// request) or `APPROVED_BY` (an entry's change was approved by that user).
    #[serde(rename = "type")]
    pub edge_type: &'static str,
}

/// The lineage of one entity.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lineage {
    /// Decisions (oldest first), then entities and actors.
    pub nodes: Vec<LineageNode>,
    /// Edges.
    pub edges: Vec<LineageEdge>,
    /// Mermaid flowchart of the same graph.
    pub mermaid: String,
}

/// Reads the lineage of `id` to `depth` (1..=3) hops of related decisions.
pub async fn lineage(
    store: &Store,
    entity_type: EntityType,
    id: &str,
    depth: u8,
) -> Result<Lineage, StoreError> {
    let depth = depth.clamp(1, MAX_DEPTH);
    // A quantifier cannot be {1,0}; at depth 1 the pattern is switched off by `$depth`.
    let hops = (depth - 1).max(1);
    let text = LINEAGE.replace("{hops}", &hops.to_string());
    let mut rows = store
        .read(
            query(&text)
                .param("id", id)
                .param("type", entity_type.label())
                .param("depth", i64::from(depth))
                .param("max", MAX_DECISIONS),
        )
        .await?;
    let mut decisions = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let entry: Value = row.get("entry").map_err(|e| store.decode(e))?;
        let actor_id: Option<String> = entry["userId"].as_str().map(str::to_owned);
        let actor_name = super::ActorName::from_row(&row).map_err(|e| store.decode(e))?;
        let audits: Vec<Value> = row.get("audits").map_err(|e| store.decode(e))?;
        let supersedes: Vec<String> = row.get("supersedes").map_err(|e| store.decode(e))?;
        let executes: Vec<Value> = row.get("executes").map_err(|e| store.decode(e))?;
        let approvers: Vec<Value> = row.get("approvers").map_err(|e| store.decode(e))?;
        decisions.push(Decision {
            entry,
            actor_id,
            actor_name,
            audits,
            supersedes,
            executes,
            approvers,
        });
    }
    Ok(build(decisions))
}

/// One row of the lineage query.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The entry.
    pub entry: Value,
    /// Actor id, as the (hashed) entry records it.
    pub actor_id: Option<String>,
    /// The actor's display name now.
    pub actor_name: super::ActorName,
    /// Audited entities `{type, id, label, state}`.
    pub audits: Vec<Value>,
    /// Entry ids this one supersedes.
    pub supersedes: Vec<String>,
    /// The change request it ran, `{id, operation, state}` (at most one).
    pub executes: Vec<Value>,
    /// Who approved that request, `{id, displayName, erased}`.
    pub approvers: Vec<Value>,
}

/// What was in force at one instant, from the decisions seen so far.
#[derive(Default)]
struct InForce {
    /// Constraint id → status.
    constraints: BTreeMap<String, String>,
    /// License label → decision.
    licenses: BTreeMap<String, String>,
}

/// A decision node, with what was in force when it was made (before it applies).
fn decision_node(d: &Decision, in_force: &InForce) -> LineageNode {
    let active: Vec<&String> = in_force
        .constraints
        .iter()
        .filter(|(_, s)| s.as_str() == "ACTIVE")
        .map(|(c, _)| c)
        .collect();
    let parsed = |key: &str| -> Value {
        d.entry[key]
            .as_str()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null)
    };
    let changes = parsed("changes");
    LineageNode {
        id: d.entry["id"].as_str().unwrap_or_default().to_owned(),
        kind: "decision",
        data: json!({
            "operation": d.entry["operation"],
            "timestamp": d.entry["timestamp"],
            "category": d.entry["category"],
            "entityType": d.entry["entityType"],
            "entityId": d.entry["entityId"],
            "entityLabel": d.entry["entityLabel"],
            "previousStatus": d.entry["previousStatus"],
            "newStatus": d.entry["newStatus"],
            "changes": changes,
            "reason": d.entry["reason"],
            "source": d.entry["source"],
            "policyVersion": d.entry["policyVersion"],
            "evidence": parsed("evidence"),
            "changeRequestId": d.entry["changeRequestId"],
            "approverIds": d.entry["approverIds"],
            "actor": {"userId": d.actor_id, "displayName": d.actor_name.display_name, "erased": d.actor_name.erased},
            "supersedes": d.supersedes,
            "inForce": {"activeConstraints": active, "licenseDecisions": in_force.licenses},
        }),
    }
}

/// Assembles the graph from decisions ordered oldest first.
#[must_use]
pub fn build(decisions: Vec<Decision>) -> Lineage {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut entities: BTreeMap<String, Value> = BTreeMap::new();
    let mut actors: BTreeMap<String, super::ActorName> = BTreeMap::new();
    let mut in_force = InForce::default();
    for d in decisions {
        let id = d.entry["id"].as_str().unwrap_or_default().to_owned();
        let entity_type = d.entry["entityType"].as_str().unwrap_or_default();
        let entity_id = d.entry["entityId"].as_str().unwrap_or_default().to_owned();
        let new_status = d.entry["newStatus"].as_str().map(str::to_owned);
        nodes.push(decision_node(&d, &in_force));
        if let Some(status) = new_status {
            if entity_type == EntityType::VersionConstraint.as_str() {
                in_force.constraints.insert(entity_id.clone(), status);
            } else if d.entry["category"] == Category::License.as_str() && entity_type == "License"
            {
                let label = d.entry["entityLabel"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                in_force.licenses.insert(label, status);
            }
        }
        for target in &d.audits {
            let target_id = target["id"].as_str().unwrap_or_default().to_owned();
            entities
                .entry(target_id.clone())
                .or_insert_with(|| target.clone());
            edges.push(LineageEdge {
                from: id.clone(),
                to: target_id,
                edge_type: "AUDITS",
            });
        }
        if let Some(actor) = d.actor_id {
            actors.entry(actor.clone()).or_insert(d.actor_name.clone());
            edges.push(LineageEdge {
                from: id.clone(),
                to: actor,
                edge_type: "PERFORMED_BY",
            });
        }
        for old in d.supersedes {
            edges.push(LineageEdge {
                from: id.clone(),
                to: old,
                edge_type: "SUPERSEDES",
            });
        }
        for request in &d.executes {
            let request_id = request["id"].as_str().unwrap_or_default().to_owned();
            entities.entry(request_id.clone()).or_insert_with(|| {
                json!({"type": EntityType::ChangeRequest, "label": request["operation"], "state": request["state"]})
            });
            edges.push(LineageEdge {
                from: id.clone(),
                to: request_id,
                edge_type: "EXECUTES",
            });
        }
        for approver in &d.approvers {
            let approver_id = approver["id"].as_str().unwrap_or_default().to_owned();
            actors
                .entry(approver_id.clone())
                .or_insert_with(|| super::ActorName {
                    display_name: approver["displayName"].as_str().map(str::to_owned),
                    erased: approver["erased"] == json!(true),
                });
            edges.push(LineageEdge {
                from: id.clone(),
                to: approver_id,
                edge_type: "APPROVED_BY",
            });
        }
    }
    for (id, e) in entities {
        let request = e["type"] == EntityType::ChangeRequest.as_str();
        nodes.push(LineageNode {
            id,
            kind: if request { "request" } else { "entity" },
            data: if request {
                json!({"type": e["type"], "label": e["label"], "state": e["state"]})
            } else {
                json!({"type": e["type"], "label": e["label"]})
            },
        });
    }
    for (id, name) in actors {
        nodes.push(LineageNode {
            id,
            kind: "actor",
            data: json!({"displayName": name.display_name, "erased": name.erased}),
        });
    }
    let mermaid = mermaid(&nodes, &edges);
    Lineage {
        nodes,
        edges,
        mermaid,
    }
}

/// Mermaid flowchart: decisions left to right in time, superseded decisions linked.
fn mermaid(nodes: &[LineageNode], edges: &[LineageEdge]) -> String {
    let key: BTreeMap<&str, String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), format!("n{i}")))
        .collect();
    let clean = |s: &str| s.replace(['"', '[', ']', '<', '>', '{', '}', '|'], "'");
    let mut out = String::from("flowchart LR\n");
    for n in nodes {
        let k = &key[n.id.as_str()];
        let text = match n.kind {
            "decision" => format!(
                "{}<br/>{}<br/>by {}",
                n.data["operation"].as_str().unwrap_or_default(),
                n.data["timestamp"].as_str().unwrap_or_default(),
                n.data["actor"]["displayName"]
                    .as_str()
                    .or(n.data["actor"]["userId"].as_str())
                    .unwrap_or("unknown")
            ),
            "entity" | "request" => format!(
                "{}: {}",
                n.data["type"].as_str().unwrap_or_default(),
                n.data["label"].as_str().unwrap_or_default()
            ),
            _ => n.data["displayName"].as_str().unwrap_or(&n.id).to_owned(),
        };
        let (open, close) = match n.kind {
            "decision" => ("[\"", "\"]"),
            "entity" => ("([\"", "\"])"),
            "request" => ("{{\"", "\"}}"),
            _ => ("((\"", "\"))"),
        };
        let _ = writeln!(out, "  {k}{open}{}{close}", clean(&text));
    }
    let decisions: Vec<&LineageNode> = nodes.iter().filter(|n| n.kind == "decision").collect();
    for pair in decisions.windows(2) {
        let _ = writeln!(
            out,
            "  {} -.-> {}",
            key[pair[0].id.as_str()],
            key[pair[1].id.as_str()]
        );
    }
    let seen: BTreeSet<(&str, &str, &str)> = edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str(), e.edge_type))
        .collect();
    for (from, to, edge_type) in seen {
        let (Some(a), Some(b)) = (key.get(from), key.get(to)) else {
            continue;
        };
        match edge_type {
            "SUPERSEDES" => {
                let _ = writeln!(out, "  {a} ==>|supersedes| {b}");
            }
            "AUDITS" => {
                let _ = writeln!(out, "  {a} --> {b}");
            }
            "EXECUTES" => {
                let _ = writeln!(out, "  {a} ==>|executes| {b}");
            }
            "APPROVED_BY" => {
                let _ = writeln!(out, "  {a} -.-|approved by| {b}");
            }
            _ => {
                let _ = writeln!(out, "  {a} -.-|by| {b}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(
        id: &str,
        op: &str,
        entity_type: &str,
        entity: &str,
        status: &str,
        supersedes: &[&str],
    ) -> Decision {
        Decision {
            entry: json!({"id": id, "operation": op, "entityType": entity_type, "entityId": entity,
                          "newStatus": status, "timestamp": id, "category": "x", "changes": "{}"}),
            actor_id: Some("alice".into()),
            actor_name: super::super::ActorName {
                display_name: Some("Alice".into()),
                erased: false,
            },
            audits: vec![json!({"type": entity_type, "id": entity, "label": entity})],
            supersedes: supersedes.iter().map(|s| (*s).to_owned()).collect(),
            executes: Vec::new(),
            approvers: Vec::new(),
        }
    }

    #[test]
    fn decisions_record_supersession_and_the_constraints_in_force() {
        let lineage = build(vec![
            decision("1", "ACTIVATE", "VersionConstraint", "c1", "ACTIVE", &[]),
            decision(
                "2",
                "APPROVE_VERSION",
                "TeamApproval",
                "a",
                "APPROVED =1.0.0",
                &[],
            ),
            decision(
                "3",
                "REVOKE_APPROVAL",
                "TeamApproval",
                "a",
                "REVOKED =1.0.0",
                &["2"],
            ),
        ]);
        let approve = &lineage.nodes[1];
        assert_eq!(approve.data["inForce"]["activeConstraints"], json!(["c1"]));
        assert!(lineage.edges.contains(&LineageEdge {
            from: "3".into(),
            to: "2".into(),
            edge_type: "SUPERSEDES"
        }));
        assert!(lineage.mermaid.contains("==>|supersedes|"));
        assert!(lineage.mermaid.starts_with("flowchart LR"));
    }
}
