//! Every governed operation of the catalog, driven through HTTP in a realistic order
//! (teams, technologies, a constraint's whole lifecycle, approvals, membership,
//! systems, stewardship, license decisions, and deletions at the end). After each
//! request: the status, the answer body, and the one `AuditLog` entry it wrote, field
//! by field, with its `AUDITS` and `PERFORMED_BY` edges. Every name is fresh, so the
//! suite runs repeatedly against the same database; the only shared state (the
//! license policy and a license) is read first and left as it was found.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Reply, TEST_SECRET, TestApp, claims, hs256, token_for};
use govtrail::domain::{
    TeamId, TechnologyId, license_id, license_policy_id, team_approval_id, version_node_id,
};
use serde_json::{Map, Value, json};

/// The license policy and licenses are global: tests of this binary that change them
/// take turns.
static GLOBAL_STATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A caller: token subject, token, the roles and source its entries must record.
struct Actor {
    sub: String,
    token: String,
    roles: Vec<&'static str>,
    source: &'static str,
}

/// A fresh governance admin; `sub` is the internal user id its entries record.
async fn admin(app: &TestApp) -> Actor {
    let (sub, token) = app.caller(&["governance-admin"]).await;
    Actor {
        sub,
        token,
        roles: vec!["governance-admin"],
        source: "API",
    }
}

/// A fresh superuser.
async fn superuser(app: &TestApp) -> Actor {
    let (sub, token) = app.caller(&["superuser"]).await;
    Actor {
        sub,
        token,
        roles: vec!["superuser"],
        source: "API",
    }
}

/// An SBOM pipeline integration: role `integration`, claim `source: SBOM`.
async fn sbom_integration(app: &TestApp) -> Actor {
    let mut c = claims(&format!("sbom-{}", uuid::Uuid::new_v4()), &["integration"]);
    c["source"] = json!("SBOM");
    let token = hs256(&c, TEST_SECRET.as_bytes());
    Actor {
        sub: app.user_id(&token).await,
        token,
        roles: vec!["integration"],
        source: "SBOM",
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix} {}", uuid::Uuid::new_v4())
}

/// What one governed request must answer and record.
#[derive(Debug, Default)]
struct Expect {
    status: u16,
    entity_type: &'static str,
    entity_id: String,
    label: String,
    version: i64,
    previous: Option<String>,
    new: Option<String>,
    /// Field → `{old, new}` or `{added, removed}`; `changedFields` is its sorted keys.
    changes: Value,
    /// Every audited id (primary included), any order.
    audits: Vec<String>,
    reason: Option<&'static str>,
    supersedes: Vec<String>,
}

/// A request as sent, before its answer is checked.
struct Sent {
    method: &'static str,
    path: String,
    correlation_id: String,
    reply: Reply,
}

/// What the script exercised for one operation, checked against the catalog.
struct Covered {
    method: &'static str,
    path: String,
    audited_types: BTreeSet<String>,
    category: Value,
    severity: Value,
    had_reason: bool,
}

/// The script's state: the app and every operation exercised so far.
struct Script<'a> {
    app: &'a TestApp,
    covered: BTreeMap<String, Covered>,
}

impl<'a> Script<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            covered: BTreeMap::new(),
        }
    }

    /// Sends one governed request with a fresh correlation id.
    async fn call(
        &self,
        actor: &Actor,
        method: &'static str,
        path: String,
        body: Option<Value>,
    ) -> Sent {
        let correlation_id = format!("gov-ops-{}", uuid::Uuid::new_v4());
        let reply = self
            .app
            .send(
                method,
                &path,
                &actor.token,
                body,
                &[("X-Correlation-Id", correlation_id.as_str())],
            )
            .await;
        Sent {
            method,
            path,
            correlation_id,
            reply,
        }
    }

    /// Checks the answer, then the one entry the request wrote; returns that entry.
    #[expect(
        clippy::too_many_lines,
        reason = "one assertion per answer and entry field keeps failures precise"
    )]
    async fn verify(&mut self, sent: &Sent, actor: &Actor, op: &str, want: Expect) -> Value {
        let ctx = format!("{op} ({} {})", sent.method, sent.path);
        let r = &sent.reply;
        let body = &r.body;
        assert_eq!(r.status, want.status, "{ctx}: status; body {body}");
        assert_eq!(
            r.header("x-correlation-id").as_deref(),
            Some(sent.correlation_id.as_str()),
            "{ctx}: correlation id echoed"
        );
        assert_eq!(
            r.header("etag"),
            Some(format!("\"{}\"", want.version)),
            "{ctx}: ETag"
        );
        let changed_fields: Vec<String> = want
            .changes
            .as_object()
            .map(|m| {
                let mut keys: Vec<String> = m.keys().cloned().collect();
                keys.sort();
                keys
            })
            .unwrap_or_default();
        let mut audits = want.audits.clone();
        audits.sort();
        audits.dedup();

        // The answer.
        assert_eq!(body["changed"], json!(true), "{ctx}: changed; {body}");
        assert_eq!(body["operation"], json!(op), "{ctx}: operation");
        assert_eq!(
            body["entity"],
            json!({
                "type": want.entity_type,
                "id": want.entity_id,
                "label": want.label,
                "version": want.version,
            }),
            "{ctx}: entity"
        );
        assert_eq!(
            body["previousStatus"],
            json!(want.previous),
            "{ctx}: previousStatus"
        );
        assert_eq!(body["newStatus"], json!(want.new), "{ctx}: newStatus");
        assert_eq!(
            body["changedFields"],
            json!(changed_fields),
            "{ctx}: changedFields"
        );
        assert_eq!(body["changes"], want.changes, "{ctx}: changes");
        let entry_id = body["auditLogId"]
            .as_str()
            .unwrap_or_else(|| panic!("{ctx}: no auditLogId in {body}"))
            .to_owned();
        let parsed = uuid::Uuid::parse_str(&entry_id)
            .unwrap_or_else(|e| panic!("{ctx}: auditLogId {entry_id}: {e}"));
        assert_eq!(parsed.get_version_num(), 7, "{ctx}: entry ids are UUID v7");

        // Exactly one entry for the request.
        let n = self
            .app
            .query_column(
                "MATCH (e:AuditLog {correlationId: $c}) RETURN count(e) AS n",
                json!({ "c": sent.correlation_id }),
                "n",
            )
            .await;
        assert_eq!(
            n,
            vec![json!(1)],
            "{ctx}: exactly one entry carries the request's correlation id"
        );

        // The entry, field by field.
        let e = self.app.entry(&entry_id).await;
        assert_eq!(e["id"], json!(entry_id), "{ctx}: id");
        assert_eq!(e["operation"], json!(op), "{ctx}: entry operation");
        assert_eq!(e["outcome"], json!("SUCCEEDED"), "{ctx}: outcome");
        assert_eq!(
            e["entityType"],
            json!(want.entity_type),
            "{ctx}: entityType"
        );
        assert_eq!(e["entityId"], json!(want.entity_id), "{ctx}: entityId");
        assert_eq!(e["entityLabel"], json!(want.label), "{ctx}: entityLabel");
        assert_eq!(
            e["entityVersion"],
            json!(want.version),
            "{ctx}: entityVersion"
        );
        assert_eq!(
            e["previousStatus"],
            json!(want.previous),
            "{ctx}: entry previousStatus"
        );
        assert_eq!(e["newStatus"], json!(want.new), "{ctx}: entry newStatus");
        assert_eq!(
            e["changedFields"],
            json!(changed_fields),
            "{ctx}: entry changedFields"
        );
        assert_eq!(e["changes"], want.changes, "{ctx}: entry changes");
        assert_eq!(e["reason"], json!(want.reason), "{ctx}: reason");
        assert_eq!(e["source"], json!(actor.source), "{ctx}: source");
        assert_eq!(e["userId"], json!(actor.sub), "{ctx}: userId");
        assert_eq!(
            e["correlationId"],
            json!(sent.correlation_id),
            "{ctx}: correlationId"
        );
        assert_eq!(e["actorRoles"], json!(actor.roles), "{ctx}: actorRoles");
        assert_eq!(e["authMethod"], json!("jwt:HS256"), "{ctx}: authMethod");
        assert_eq!(
            e["policyVersion"],
            json!(self.app.state.governor.policies().version()),
            "{ctx}: policyVersion"
        );
        assert!(
            e["timestamp"].as_str().is_some_and(|t| !t.is_empty()),
            "{ctx}: timestamp {}",
            e["timestamp"]
        );
        assert_eq!(e["audits"], json!(audits), "{ctx}: AUDITS edges");
        assert_eq!(
            e["performers"],
            json!([actor.sub]),
            "{ctx}: PERFORMED_BY edge"
        );
        let mut supersedes: Vec<&str> = e["supersedes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        supersedes.sort_unstable();
        let mut wanted: Vec<&str> = want.supersedes.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        assert_eq!(supersedes, wanted, "{ctx}: SUPERSEDES edges");
        let related: BTreeSet<String> = e["relatedEntities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|r| r.split_once(':').map(|(_, id)| id.to_owned()))
            .chain(std::iter::once(want.entity_id.clone()))
            .collect();
        assert_eq!(
            related,
            audits.iter().cloned().collect::<BTreeSet<_>>(),
            "{ctx}: relatedEntities name the other audited entities ({})",
            e["relatedEntities"]
        );

        // The primary entity is at the version the answer and the entry name.
        assert_eq!(
            self.version_of(&want.entity_id).await,
            json!(want.version),
            "{ctx}: stored version of the primary entity"
        );

        let audited_types: BTreeSet<String> = self
            .app
            .query_column(
                "MATCH (:AuditLog {id: $id})-[:AUDITS]->(x) \
                 UNWIND [l IN labels(x) WHERE l <> 'Governed'] AS label \
                 RETURN DISTINCT label",
                json!({ "id": entry_id }),
                "label",
            )
            .await
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        self.covered.insert(
            op.to_owned(),
            Covered {
                method: sent.method,
                path: sent.path.clone(),
                audited_types,
                category: e["category"].clone(),
                severity: e["severity"].clone(),
                had_reason: want.reason.is_some(),
            },
        );
        e
    }

    /// The stored `version` of the governed node `id` (`Null` if none).
    async fn version_of(&self, id: &str) -> Value {
        self.app
            .query_column(
                "MATCH (n:Governed {id: $id}) RETURN n.version AS v",
                json!({ "id": id }),
                "v",
            )
            .await
            .into_iter()
            .next()
            .unwrap_or(Value::Null)
    }

    /// The properties of the governed node `id`, if it exists.
    async fn props_of(&self, id: &str) -> Option<Map<String, Value>> {
        self.app
            .query_column(
                "MATCH (n:Governed {id: $id}) RETURN n {.*} AS n",
                json!({ "id": id }),
                "n",
            )
            .await
            .into_iter()
            .next()
            .and_then(|v| match v {
                Value::Object(m) => Some(m),
                _ => None,
            })
    }
}

fn created_id(sent: &Sent) -> String {
    sent.reply.body["entity"]["id"]
        .as_str()
        .unwrap_or_else(|| {
            panic!(
                "{} {}: no entity id in {} {}",
                sent.method, sent.path, sent.reply.status, sent.reply.body
            )
        })
        .to_owned()
}

/// An SPDX id no `License` node exists for yet (so its first decision creates it), or
/// failing that the last one tried.
async fn fresh_spdx_id(script: &Script<'_>) -> String {
    let licenses = spdx::identifiers::LICENSES;
    let start = usize::try_from(uuid::Uuid::new_v4().as_u128() % 1_000_003).unwrap_or(0);
    let mut candidate = String::new();
    for i in 0..64 {
        let l = &licenses[(start + i * 7) % licenses.len()];
        if l.name.ends_with('+') {
            continue;
        }
        candidate = l.name.to_owned();
        if script
            .props_of(&license_id(&candidate).to_string())
            .await
            .is_none()
        {
            break;
        }
    }
    candidate
}

/// The two license decisions, in an order that changes the license twice and ends
/// DENIED: ALLOW (by the SBOM integration) then DENY, unless it is already ALLOWED.
async fn decide_license(script: &mut Script<'_>, admin: &Actor, sbom: &Actor) {
    let spdx = fresh_spdx_id(script).await;
    let id = license_id(&spdx).to_string();
    let before = script.props_of(&id).await;
    let allowed_now = before
        .as_ref()
        .and_then(|p| p.get("decision"))
        .is_some_and(|d| d == "ALLOWED");
    let mut state = before.map(|p| {
        (
            p.get("decision").cloned().unwrap_or(Value::Null),
            p.get("version").and_then(Value::as_i64).unwrap_or(0),
        )
    });
    let order: [(&str, &str); 2] = if allowed_now {
        [("DENY_LICENSE", "DENIED"), ("ALLOW_LICENSE", "ALLOWED")]
    } else {
        [("ALLOW_LICENSE", "ALLOWED"), ("DENY_LICENSE", "DENIED")]
    };
    for (op, decision) in order {
        let (actor, verb, reason) = if op == "ALLOW_LICENSE" {
            (sbom, "allow", None)
        } else {
            (
                admin,
                "deny",
                Some("copyleft terms conflict with our distribution model"),
            )
        };
        let body = reason.map(|r| json!({ "reason": r }));
        let sent = script
            .call(actor, "POST", format!("/v1/licenses/{spdx}/{verb}"), body)
            .await;
        let want = match &state {
            None => Expect {
                status: 201,
                version: 1,
                previous: Some("UNDECIDED".into()),
                changes: json!({
                    "decision": {"old": null, "new": decision},
                    "spdxId": {"old": null, "new": spdx},
                }),
                ..Expect::default()
            },
            Some((old, version)) => Expect {
                status: 200,
                version: version + 1,
                previous: old.as_str().map(str::to_owned),
                changes: json!({ "decision": {"old": old, "new": decision} }),
                ..Expect::default()
            },
        };
        let version = want.version;
        script
            .verify(
                &sent,
                actor,
                op,
                Expect {
                    entity_type: "License",
                    entity_id: id.clone(),
                    label: spdx.clone(),
                    new: Some(decision.to_owned()),
                    audits: vec![id.clone()],
                    reason,
                    ..want
                },
            )
            .await;
        state = Some((json!(decision), version));
    }
}

/// ENABLE then DISABLE the license whitelist, or the other way round if it is on, so
/// it ends as it was found.
async fn toggle_whitelist(script: &mut Script<'_>, admin: &Actor) {
    let id = license_policy_id().to_string();
    let before = script.props_of(&id).await;
    let on_now = before
        .as_ref()
        .and_then(|p| p.get("whitelistEnabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut state = before.map(|p| {
        (
            p.get("whitelistEnabled").cloned().unwrap_or(Value::Null),
            p.get("version").and_then(Value::as_i64).unwrap_or(0),
        )
    });
    let order = if on_now { [false, true] } else { [true, false] };
    let word = |on: bool| if on { "ENABLED" } else { "DISABLED" };
    for enable in order {
        let (op, verb, reason) = if enable {
            ("ENABLE_LICENSE_WHITELIST", "enable", None)
        } else {
            (
                "DISABLE_LICENSE_WHITELIST",
                "disable",
                Some("whitelist rollout paused until the SBOM backfill completes"),
            )
        };
        let body = reason.map(|r| json!({ "reason": r }));
        let sent = script
            .call(
                admin,
                "POST",
                format!("/v1/license-policy/whitelist/{verb}"),
                body,
            )
            .await;
        let want = match &state {
            None => Expect {
                status: 201,
                version: 1,
                changes: json!({ "whitelistEnabled": {"old": null, "new": true} }),
                ..Expect::default()
            },
            Some((old, version)) => Expect {
                status: 200,
                version: version + 1,
                changes: json!({ "whitelistEnabled": {"old": old, "new": enable} }),
                ..Expect::default()
            },
        };
        let version = want.version;
        script
            .verify(
                &sent,
                admin,
                op,
                Expect {
                    entity_type: "LicensePolicy",
                    entity_id: id.clone(),
                    label: "license policy".into(),
                    previous: Some(word(!enable).to_owned()),
                    new: Some(word(enable).to_owned()),
                    audits: vec![id.clone()],
                    reason,
                    ..want
                },
            )
            .await;
        state = Some((json!(enable), version));
    }
}

/// Runs every governed operation once (a few twice, to set the scene), asserting each
/// answer and entry; returns what was exercised.
#[expect(
    clippy::too_many_lines,
    reason = "the script reads top to bottom as one realistic governance session"
)]
async fn run_script(app: &TestApp) -> BTreeMap<String, Covered> {
    let mut s = Script::new(app);
    let admin = admin(app).await;
    let sbom = sbom_integration(app).await;

    // ---- teams
    let team_name = unique("payments team");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/teams".into(),
            Some(json!({
                "name": format!("  {team_name} "),
                "responsibilityAreas": ["payments", " billing ", "payments"],
            })),
        )
        .await;
    let team = created_id(&sent);
    s.verify(
        &sent,
        &admin,
        "CREATE_TEAM",
        Expect {
            status: 201,
            entity_type: "Team",
            entity_id: team.clone(),
            label: team_name.clone(),
            version: 1,
            changes: json!({
                "name": {"old": null, "new": team_name},
                "responsibilityAreas": {"old": null, "new": ["billing", "payments"]},
            }),
            audits: vec![team.clone()],
            ..Expect::default()
        },
    )
    .await;

    let other_team_name = unique("platform team");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/teams".into(),
            Some(json!({ "name": other_team_name })),
        )
        .await;
    let other_team = created_id(&sent);
    s.verify(
        &sent,
        &admin,
        "CREATE_TEAM",
        Expect {
            status: 201,
            entity_type: "Team",
            entity_id: other_team.clone(),
            label: other_team_name.clone(),
            version: 1,
            changes: json!({
                "name": {"old": null, "new": other_team_name},
                "responsibilityAreas": {"old": null, "new": []},
            }),
            audits: vec![other_team.clone()],
            ..Expect::default()
        },
    )
    .await;

    // ---- technologies (the first one discovered by the SBOM pipeline)
    let tech_name = unique("postgresql");
    let sent = s
        .call(
            &sbom,
            "POST",
            "/v1/technologies".into(),
            Some(json!({ "name": tech_name, "riskLevel": "MEDIUM" })),
        )
        .await;
    let tech = created_id(&sent);
    s.verify(
        &sent,
        &sbom,
        "CREATE_TECHNOLOGY",
        Expect {
            status: 201,
            entity_type: "Technology",
            entity_id: tech.clone(),
            label: tech_name.clone(),
            version: 1,
            new: Some("ACTIVE".into()),
            changes: json!({
                "lifecycle": {"old": null, "new": "ACTIVE"},
                "name": {"old": null, "new": tech_name},
                "riskLevel": {"old": null, "new": "MEDIUM"},
            }),
            audits: vec![tech.clone()],
            ..Expect::default()
        },
    )
    .await;

    let target_name = unique("cockroachdb");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/technologies".into(),
            Some(json!({ "name": target_name, "reason": "evaluated as the successor" })),
        )
        .await;
    let target = created_id(&sent);
    s.verify(
        &sent,
        &admin,
        "CREATE_TECHNOLOGY",
        Expect {
            status: 201,
            entity_type: "Technology",
            entity_id: target.clone(),
            label: target_name.clone(),
            version: 1,
            new: Some("ACTIVE".into()),
            changes: json!({
                "lifecycle": {"old": null, "new": "ACTIVE"},
                "name": {"old": null, "new": target_name},
            }),
            audits: vec![target.clone()],
            reason: Some("evaluated as the successor"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("/v1/technologies/{tech}/risk-level"),
            Some(json!({ "riskLevel": "HIGH", "reason": "end of community support announced" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "CHANGE_RISK_LEVEL",
        Expect {
            status: 200,
            entity_type: "Technology",
            entity_id: tech.clone(),
            label: tech_name.clone(),
            version: 2,
            previous: Some("MEDIUM".into()),
            new: Some("HIGH".into()),
            changes: json!({ "riskLevel": {"old": "MEDIUM", "new": "HIGH"} }),
            audits: vec![tech.clone()],
            reason: Some("end of community support announced"),
            ..Expect::default()
        },
    )
    .await;

    // ---- stewardship
    let steward = app.fresh_user().await;
    let sent = s
        .call(
            &admin,
            "PUT",
            format!("/v1/technologies/{tech}/steward"),
            Some(json!({ "userId": steward })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "ASSIGN_STEWARD",
        Expect {
            status: 200,
            entity_type: "Technology",
            entity_id: tech.clone(),
            label: tech_name.clone(),
            version: 3,
            changes: json!({ "steward": {"old": null, "new": steward} }),
            audits: vec![tech.clone(), steward.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "DELETE",
            format!("/v1/technologies/{tech}/steward"),
            Some(json!({ "reason": "steward moved to another department" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "REMOVE_STEWARD",
        Expect {
            status: 200,
            entity_type: "Technology",
            entity_id: tech.clone(),
            label: tech_name.clone(),
            version: 4,
            changes: json!({ "steward": {"old": steward, "new": null} }),
            audits: vec![tech.clone(), steward.clone()],
            reason: Some("steward moved to another department"),
            ..Expect::default()
        },
    )
    .await;

    // ---- a version constraint's whole lifecycle
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/version-constraints".into(),
            Some(json!({ "technologyId": tech, "range": " >=1.2, <2 " })),
        )
        .await;
    let constraint = created_id(&sent);
    s.verify(
        &sent,
        &admin,
        "CREATE_CONSTRAINT",
        Expect {
            status: 201,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: format!("{tech_name} >=1.2, <2"),
            version: 1,
            new: Some("DRAFT".into()),
            changes: json!({
                "range": {"old": null, "new": ">=1.2, <2"},
                "status": {"old": null, "new": "DRAFT"},
                "technologyId": {"old": null, "new": tech},
                "technologyName": {"old": null, "new": tech_name},
            }),
            audits: vec![constraint.clone(), tech.clone()],
            ..Expect::default()
        },
    )
    .await;
    let c_path = format!("/v1/version-constraints/{constraint}");

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("{c_path}/range"),
            Some(json!({ "range": "^1.4", "reason": "1.2 and 1.3 have known CVEs" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "CHANGE_CONSTRAINT_RANGE",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            // The label is the entity's as the change found it.
            label: format!("{tech_name} >=1.2, <2"),
            version: 2,
            changes: json!({ "range": {"old": ">=1.2, <2", "new": "^1.4"} }),
            audits: vec![constraint.clone()],
            reason: Some("1.2 and 1.3 have known CVEs"),
            ..Expect::default()
        },
    )
    .await;
    let c_label = format!("{tech_name} ^1.4");

    let sent = s
        .call(&admin, "POST", format!("{c_path}/activate"), None)
        .await;
    s.verify(
        &sent,
        &admin,
        "ACTIVATE",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: c_label.clone(),
            version: 3,
            previous: Some("DRAFT".into()),
            new: Some("ACTIVE".into()),
            changes: json!({ "status": {"old": "DRAFT", "new": "ACTIVE"} }),
            audits: vec![constraint.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(&admin, "PUT", format!("{c_path}/teams/{team}"), None)
        .await;
    s.verify(
        &sent,
        &admin,
        "APPLY_CONSTRAINT_TO_TEAM",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: c_label.clone(),
            version: 4,
            changes: json!({ "enforcedFor": {"added": [team], "removed": []} }),
            audits: vec![constraint.clone(), team.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "POST",
            format!("{c_path}/deactivate"),
            Some(json!({ "reason": "blocks the emergency hotfix release" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "DEACTIVATE",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: c_label.clone(),
            version: 5,
            previous: Some("ACTIVE".into()),
            new: Some("INACTIVE".into()),
            changes: json!({ "status": {"old": "ACTIVE", "new": "INACTIVE"} }),
            audits: vec![constraint.clone()],
            reason: Some("blocks the emergency hotfix release"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "DELETE",
            format!("{c_path}/teams/{team}"),
            Some(json!({ "reason": "team migrates off this technology" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "REMOVE_CONSTRAINT_FROM_TEAM",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: c_label.clone(),
            version: 6,
            changes: json!({ "enforcedFor": {"added": [], "removed": [team]} }),
            audits: vec![constraint.clone(), team.clone()],
            reason: Some("team migrates off this technology"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "POST",
            format!("{c_path}/archive"),
            Some(json!({ "reason": "superseded by the platform baseline" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "ARCHIVE",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: c_label.clone(),
            version: 7,
            previous: Some("INACTIVE".into()),
            new: Some("ARCHIVED".into()),
            changes: json!({ "status": {"old": "INACTIVE", "new": "ARCHIVED"} }),
            audits: vec![constraint.clone()],
            reason: Some("superseded by the platform baseline"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "DELETE",
            c_path.clone(),
            Some(json!({ "reason": "created by mistake during the pilot" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "DELETE_CONSTRAINT",
        Expect {
            status: 200,
            entity_type: "VersionConstraint",
            entity_id: constraint.clone(),
            label: c_label.clone(),
            version: 8,
            previous: Some("ARCHIVED".into()),
            new: Some("DELETED".into()),
            changes: json!({ "deleted": {"old": null, "new": true} }),
            audits: vec![constraint.clone()],
            reason: Some("created by mistake during the pilot"),
            ..Expect::default()
        },
    )
    .await;

    // ---- the team's approval record for the technology
    let team_id = TeamId::parse(&team).unwrap_or_else(|e| panic!("team id {team}: {e}"));
    let tech_id = TechnologyId::parse(&tech).unwrap_or_else(|e| panic!("tech id {tech}: {e}"));
    let approval = team_approval_id(team_id, tech_id).to_string();
    let a_path = format!("/v1/teams/{team}/technologies/{tech}");
    let a_label = format!("{team_name} / {tech_name}");

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("{a_path}/time-category"),
            Some(json!({ "category": "MIGRATE" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "SET_TIME_CATEGORY",
        Expect {
            // The first decision creates the team's approval record.
            status: 201,
            entity_type: "TeamApproval",
            entity_id: approval.clone(),
            label: a_label.clone(),
            version: 1,
            new: Some("MIGRATE".into()),
            changes: json!({ "timeCategory": {"old": null, "new": "MIGRATE"} }),
            audits: vec![approval.clone(), team.clone(), tech.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("{a_path}/eol-date"),
            Some(json!({ "eolDate": "2027-06-30" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "SET_EOL_DATE",
        Expect {
            status: 200,
            entity_type: "TeamApproval",
            entity_id: approval.clone(),
            label: a_label.clone(),
            version: 2,
            new: Some("2027-06-30".into()),
            changes: json!({ "eolDate": {"old": null, "new": "2027-06-30"} }),
            audits: vec![approval.clone(), team.clone(), tech.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("{a_path}/migration-target"),
            Some(json!({ "technologyId": target })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "SET_MIGRATION_TARGET",
        Expect {
            status: 200,
            entity_type: "TeamApproval",
            entity_id: approval.clone(),
            label: a_label.clone(),
            version: 3,
            new: Some(target.clone()),
            changes: json!({ "migrationTargetId": {"old": null, "new": target} }),
            audits: vec![approval.clone(), team.clone(), tech.clone(), target.clone()],
            ..Expect::default()
        },
    )
    .await;

    let version_node = version_node_id(
        tech_id,
        &semver::Version::parse("1.4.2").unwrap_or_else(|e| panic!("{e}")),
    )
    .to_string();
    let sent = s
        .call(
            &admin,
            "POST",
            format!("{a_path}/approvals"),
            Some(json!({ "version": "1.4.2", "reason": "needed until the migration lands" })),
        )
        .await;
    let approve_entry = s
        .verify(
            &sent,
            &admin,
            "APPROVE_VERSION",
            Expect {
                status: 200,
                entity_type: "TeamApproval",
                entity_id: approval.clone(),
                label: a_label.clone(),
                version: 4,
                new: Some("APPROVED =1.4.2".into()),
                changes: json!({ "approvedRanges": {"old": null, "new": ["=1.4.2"]} }),
                audits: vec![
                    approval.clone(),
                    team.clone(),
                    tech.clone(),
                    version_node.clone(),
                ],
                reason: Some("needed until the migration lands"),
                ..Expect::default()
            },
        )
        .await;
    let approve_entry_id = approve_entry["id"].as_str().unwrap_or_default().to_owned();

    let sent = s
        .call(
            &admin,
            "POST",
            format!("{a_path}/approvals/revoke"),
            Some(json!({ "version": "1.4.2", "reason": "migration finished early" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "REVOKE_APPROVAL",
        Expect {
            status: 200,
            entity_type: "TeamApproval",
            entity_id: approval.clone(),
            label: a_label.clone(),
            version: 5,
            previous: Some("APPROVED =1.4.2".into()),
            new: Some("REVOKED =1.4.2".into()),
            changes: json!({ "approvedRanges": {"old": ["=1.4.2"], "new": []} }),
            audits: vec![approval.clone(), team.clone(), tech.clone()],
            reason: Some("migration finished early"),
            supersedes: vec![approve_entry_id],
        },
    )
    .await;

    // ---- membership
    let member = app.fresh_user().await;
    let m_path = format!("/v1/teams/{team}/members/{member}");
    let sent = s.call(&admin, "PUT", m_path.clone(), None).await;
    s.verify(
        &sent,
        &admin,
        "ADD_TEAM_MEMBER",
        Expect {
            status: 200,
            entity_type: "Team",
            entity_id: team.clone(),
            label: team_name.clone(),
            version: 2,
            changes: json!({ "members": {"added": [member], "removed": []} }),
            audits: vec![team.clone(), member.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "DELETE",
            m_path,
            Some(json!({ "reason": "left the company" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "REMOVE_TEAM_MEMBER",
        Expect {
            status: 200,
            entity_type: "Team",
            entity_id: team.clone(),
            label: team_name.clone(),
            version: 3,
            changes: json!({ "members": {"added": [], "removed": [member]} }),
            audits: vec![team.clone(), member.clone()],
            reason: Some("left the company"),
            ..Expect::default()
        },
    )
    .await;

    // ---- identity: a subject registered ahead of sign-in, then its personal data
    // erased. Neither entry holds the subject.
    let subject = format!("new.hire+{}@example.com", uuid::Uuid::new_v4());
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/users".into(),
            Some(json!({ "subject": subject })),
        )
        .await;
    let user = created_id(&sent);
    assert!(
        uuid::Uuid::parse_str(&user).is_ok(),
        "a registered user gets a UUID"
    );
    s.verify(
        &sent,
        &admin,
        "REGISTER_USER",
        Expect {
            status: 201,
            entity_type: "User",
            entity_id: user.clone(),
            label: user.clone(),
            version: 1,
            new: Some("REGISTERED".into()),
            changes: json!({ "registered": {"old": null, "new": true} }),
            audits: vec![user.clone()],
            ..Expect::default()
        },
    )
    .await;
    let superuser = superuser(app).await;
    let sent = s
        .call(
            &superuser,
            "POST",
            format!("/v1/users/{user}/erase"),
            Some(json!({ "reason": "data subject request DSR-17" })),
        )
        .await;
    s.verify(
        &sent,
        &superuser,
        "ERASE_USER_PII",
        Expect {
            status: 200,
            entity_type: "User",
            entity_id: user.clone(),
            label: user.clone(),
            version: 2,
            new: Some("ERASED".into()),
            changes: json!({ "erased": {"old": null, "new": true} }),
            audits: vec![user.clone()],
            reason: Some("data subject request DSR-17"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("/v1/teams/{team}/responsibility-areas"),
            Some(json!({ "responsibilityAreas": ["platform", "billing"] })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "CHANGE_RESPONSIBILITY_AREAS",
        Expect {
            status: 200,
            entity_type: "Team",
            entity_id: team.clone(),
            label: team_name.clone(),
            version: 4,
            changes: json!({
                "responsibilityAreas": {
                    "old": ["billing", "payments"],
                    "new": ["billing", "platform"],
                },
            }),
            audits: vec![team.clone()],
            ..Expect::default()
        },
    )
    .await;

    // ---- systems
    let system_name = unique("checkout");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/systems".into(),
            Some(json!({ "name": system_name, "criticality": "HIGH", "ownerTeamId": team })),
        )
        .await;
    let system = created_id(&sent);
    s.verify(
        &sent,
        &admin,
        "CREATE_SYSTEM",
        Expect {
            status: 201,
            entity_type: "System",
            entity_id: system.clone(),
            label: system_name.clone(),
            version: 1,
            changes: json!({
                "criticality": {"old": null, "new": "HIGH"},
                "name": {"old": null, "new": system_name},
                "owner": {"old": null, "new": team},
            }),
            audits: vec![system.clone(), team.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("/v1/systems/{system}/owner"),
            Some(json!({ "teamId": other_team, "reason": "reorganisation" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "ASSIGN_SYSTEM_OWNER",
        Expect {
            status: 200,
            entity_type: "System",
            entity_id: system.clone(),
            label: system_name.clone(),
            version: 2,
            previous: Some(team.clone()),
            new: Some(other_team.clone()),
            changes: json!({ "owner": {"old": team, "new": other_team} }),
            audits: vec![system.clone(), team.clone(), other_team.clone()],
            reason: Some("reorganisation"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "PUT",
            format!("/v1/systems/{system}/criticality"),
            Some(json!({ "criticality": "CRITICAL" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "CHANGE_CRITICALITY",
        Expect {
            status: 200,
            entity_type: "System",
            entity_id: system.clone(),
            label: system_name.clone(),
            version: 3,
            previous: Some("HIGH".into()),
            new: Some("CRITICAL".into()),
            changes: json!({ "criticality": {"old": "HIGH", "new": "CRITICAL"} }),
            audits: vec![system.clone()],
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "POST",
            format!("/v1/systems/{system}/retire"),
            Some(json!({
                "reason": "replaced by the new checkout",
                "acknowledged": ["history-retained", "data-disposed", "dependents-informed"],
            })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "RETIRE_SYSTEM",
        Expect {
            status: 200,
            entity_type: "System",
            entity_id: system.clone(),
            label: system_name.clone(),
            version: 4,
            previous: Some("ACTIVE".into()),
            new: Some("RETIRED".into()),
            changes: json!({
                "deleted": {"old": null, "new": true},
                "name": {"old": system_name, "new": null},
                "owner": {"old": other_team, "new": null},
                "retentionChecklist": {"old": null, "new": ["data-disposed", "dependents-informed", "history-retained"]},
            }),
            audits: vec![system.clone(), other_team.clone()],
            reason: Some("replaced by the new checkout"),
            ..Expect::default()
        },
    )
    .await;

    // ---- licenses and the license policy (global: one test at a time)
    {
        let _turn = GLOBAL_STATE.lock().await;
        toggle_whitelist(&mut s, &admin).await;
        decide_license(&mut s, &admin, &sbom).await;
    }

    // ---- retirements and deletions
    let sent = s
        .call(
            &admin,
            "POST",
            format!("/v1/technologies/{target}/retire"),
            Some(json!({
                "reason": "evaluation ended; not adopted",
                "acknowledged": ["no-remaining-use", "decisions-end", "history-retained"],
            })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "RETIRE_TECHNOLOGY",
        Expect {
            status: 200,
            entity_type: "Technology",
            entity_id: target.clone(),
            label: target_name.clone(),
            version: 2,
            previous: Some("ACTIVE".into()),
            new: Some("RETIRED".into()),
            changes: json!({
                "lifecycle": {"old": "ACTIVE", "new": "RETIRED"},
                "deleted": {"old": null, "new": true},
                "name": {"old": target_name, "new": null},
                "retentionChecklist": {"old": null, "new": ["decisions-end", "history-retained", "no-remaining-use"]},
            }),
            audits: vec![target.clone()],
            reason: Some("evaluation ended; not adopted"),
            ..Expect::default()
        },
    )
    .await;

    let sent = s
        .call(
            &admin,
            "DELETE",
            format!("/v1/teams/{team}"),
            Some(json!({ "reason": "merged into the platform team" })),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "DELETE_TEAM",
        Expect {
            status: 200,
            entity_type: "Team",
            entity_id: team.clone(),
            label: team_name.clone(),
            version: 5,
            previous: Some("ACTIVE".into()),
            new: Some("DELETED".into()),
            changes: json!({
                "deleted": {"old": null, "new": true},
                "name": {"old": team_name, "new": null},
            }),
            audits: vec![team.clone()],
            reason: Some("merged into the platform team"),
            ..Expect::default()
        },
    )
    .await;

    s.covered
}

/// An approver.
async fn approver(app: &TestApp) -> Actor {
    let (sub, token) = app.caller(&["approver"]).await;
    Actor {
        sub,
        token,
        roles: vec!["approver"],
        source: "API",
    }
}

/// The change-control operations, on a govtrail where adding a team member needs two
/// approvals: an approval that is not the last, a withdrawal and a rejection (each one
/// entry on the request, chained on the team and the user too). The last approval,
/// which also writes the change it runs, is `tests/change_requests.rs`.
#[expect(
    clippy::too_many_lines,
    reason = "one app, every change-control action in turn"
)]
async fn run_change_control() -> BTreeMap<String, Covered> {
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings.approval_policies.insert(
        govtrail::domain::Operation::AddTeamMember,
        govtrail::config::PolicySetting::Rule {
            approvals: 2,
            role: govtrail::domain::Role::Approver,
        },
    );
    let app = TestApp::spawn_with(settings).await;
    let mut s = Script::new(&app);
    let admin = admin(&app).await;
    let approver = approver(&app).await;
    let team_name = unique("change control");
    let created = s
        .call(
            &admin,
            "POST",
            "/v1/teams".into(),
            Some(json!({"name": team_name})),
        )
        .await;
    let team = created_id(&created);
    let created_entry = created.reply.body["auditLogId"].clone();
    let member = app.fresh_user().await;
    let ask = async |s: &Script<'_>| {
        let sent = s
            .call(
                &admin,
                "PUT",
                format!("/v1/teams/{team}/members/{member}"),
                Some(json!({"reason": "joins the on-call rota"})),
            )
            .await;
        assert_eq!(sent.reply.status, 202, "{}", sent.reply.body);
        created_id(&sent)
    };
    let pending = Some("PENDING".to_owned());
    let cases = [
        (
            "approve",
            &approver,
            "APPROVE_CHANGE",
            "PENDING",
            json!({"approverIds": {"old": [], "new": [approver.sub.clone()]}}),
        ),
        (
            "withdraw",
            &admin,
            "WITHDRAW_CHANGE",
            "WITHDRAWN",
            json!({"state": {"old": "PENDING", "new": "WITHDRAWN"}}),
        ),
        (
            "reject",
            &approver,
            "REJECT_CHANGE",
            "REJECTED",
            json!({"state": {"old": "PENDING", "new": "REJECTED"}}),
        ),
    ];
    for (action, actor, op, state, changes) in cases {
        let request = ask(&s).await;
        let sent = s
            .call(
                actor,
                "POST",
                format!("/v1/change-requests/{request}/{action}"),
                Some(json!({"reason": "reviewed with the team lead"})),
            )
            .await;
        s.verify(
            &sent,
            actor,
            op,
            Expect {
                status: 200,
                entity_type: "ChangeRequest",
                entity_id: request.clone(),
                label: "ADD_TEAM_MEMBER".into(),
                version: 2,
                previous: pending.clone(),
                new: Some(state.to_owned()),
                changes,
                audits: vec![request.clone(), team.clone(), member.clone()],
                reason: Some("reviewed with the team lead"),
                ..Expect::default()
            },
        )
        .await;
    }
    // A break-glass change (critical, run at once) is reviewed by someone else.
    let glass = s
        .call(
            &admin,
            "PUT",
            format!("/v1/teams/{team}/members/{member}"),
            Some(json!({"reason": "the on-call rota is short tonight, INC-7731", "breakGlass": true})),
        )
        .await;
    assert_eq!(glass.reply.status, 200, "{}", glass.reply.body);
    let request = glass.reply.body["changeRequestId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let sent = s
        .call(
            &approver,
            "POST",
            format!("/v1/change-requests/{request}/review"),
            Some(json!({"reason": "reviewed with the team lead"})),
        )
        .await;
    s.verify(
        &sent,
        &approver,
        "REVIEW_BREAK_GLASS",
        Expect {
            status: 200,
            entity_type: "ChangeRequest",
            entity_id: request.clone(),
            label: "ADD_TEAM_MEMBER".into(),
            version: 2,
            changes: json!({
                "reviewState": {"old": "UNREVIEWED", "new": "REVIEWED"},
                "reviewedBy": {"old": null, "new": approver.sub.clone()},
            }),
            audits: vec![request.clone(), team.clone(), member.clone()],
            reason: Some("reviewed with the team lead"),
            ..Expect::default()
        },
    )
    .await;
    // A rollback to the team's first entry undoes the break-glass membership and
    // supersedes every later entry of the team.
    let mut later: Vec<String> = app
        .query_column(
            "MATCH (:Governed {id: $team})<-[:AUDITS]-(e:AuditLog {outcome: 'SUCCEEDED'}) \
             WHERE e.id <> $first RETURN e.id AS id",
            json!({"team": team, "first": created_entry}),
            "id",
        )
        .await
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    later.sort();
    let sent = s
        .call(
            &admin,
            "POST",
            format!("/v1/entities/Team/{team}/rollback"),
            Some(json!({"toEntryId": created_entry, "confirm": true, "reason": "reviewed with the team lead"})),
        )
        .await;
    s.verify(
        &sent,
        &admin,
        "ROLLBACK",
        Expect {
            status: 200,
            entity_type: "Team",
            entity_id: team.clone(),
            label: team_name.clone(),
            version: 3,
            changes: json!({"members": {"added": [], "removed": [member.clone()]}}),
            audits: vec![team.clone(), member.clone()],
            reason: Some("reviewed with the team lead"),
            supersedes: later,
            ..Expect::default()
        },
    )
    .await;
    s.covered
}

#[tokio::test]
async fn every_governed_operation_writes_exactly_one_entry_with_exact_fields_and_edges() {
    let app = TestApp::spawn().await;
    let mut covered = Box::pin(run_script(&app)).await;
    covered.extend(Box::pin(run_change_control()).await);
    assert_eq!(
        covered.len(),
        govtrail::governance::catalog::routed().count(),
        "operations exercised: {:?}",
        covered.keys()
    );
}

/// Whether a concrete path fits a catalog template such as `/v1/teams/{id}`.
fn fits(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

#[tokio::test]
async fn the_script_exercises_every_catalog_operation_through_its_declared_route() {
    let app = TestApp::spawn().await;
    let mut covered = Box::pin(run_script(&app)).await;
    covered.extend(Box::pin(run_change_control()).await);
    let (_, token) = token_for(&["approver"]);
    let catalog = app.send("GET", "/v1/catalog", &token, None, &[]).await;
    assert_eq!(catalog.status, 200, "catalog: {}", catalog.body);
    let operations = catalog.body["operations"]
        .as_array()
        .unwrap_or_else(|| panic!("catalog without operations: {}", catalog.body));
    let codes: BTreeSet<String> = operations
        .iter()
        .filter_map(|o| o["code"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(codes.len(), operations.len(), "catalog codes are unique");
    let exercised: BTreeSet<String> = covered.keys().cloned().collect();
    let missing: Vec<&String> = codes.difference(&exercised).collect();
    assert!(
        missing.is_empty(),
        "catalog operations the script never exercises: {missing:?}"
    );
    let unknown: Vec<&String> = exercised.difference(&codes).collect();
    assert!(
        unknown.is_empty(),
        "operations exercised that the catalog does not list: {unknown:?}"
    );
    for o in operations {
        let code = o["code"].as_str().unwrap_or_default();
        let Some(c) = covered.get(code) else { continue };
        assert_eq!(o["method"], json!(c.method), "{code}: method");
        let template = o["path"].as_str().unwrap_or_default();
        assert!(
            fits(template, &c.path),
            "{code}: exercised {} which does not fit the catalog route {template}",
            c.path
        );
        let declared: BTreeSet<String> = o["entityTypes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        assert!(
            c.audited_types.is_subset(&declared),
            "{code}: audited {:?}, catalog declares {declared:?}",
            c.audited_types
        );
        assert_eq!(o["category"], c.category, "{code}: category on the entry");
        assert_eq!(o["severity"], c.severity, "{code}: severity on the entry");
        if o["reasonRequired"] == json!(true) {
            assert!(c.had_reason, "{code}: the catalog requires a reason");
        }
    }
}

#[tokio::test]
async fn an_integration_token_records_its_source_from_the_token() {
    let app = TestApp::spawn().await;
    let mut s = Script::new(&app);
    let sbom = sbom_integration(&app).await;
    let name = unique("left-pad");
    let sent = s
        .call(
            &sbom,
            "POST",
            "/v1/technologies".into(),
            Some(json!({ "name": name, "riskLevel": "LOW" })),
        )
        .await;
    let id = created_id(&sent);
    let entry = s
        .verify(
            &sent,
            &sbom,
            "CREATE_TECHNOLOGY",
            Expect {
                status: 201,
                entity_type: "Technology",
                entity_id: id.clone(),
                label: name.clone(),
                version: 1,
                new: Some("ACTIVE".into()),
                changes: json!({
                    "lifecycle": {"old": null, "new": "ACTIVE"},
                    "name": {"old": null, "new": name},
                    "riskLevel": {"old": null, "new": "LOW"},
                }),
                audits: vec![id.clone()],
                ..Expect::default()
            },
        )
        .await;
    assert_eq!(entry["source"], "SBOM");

    // Without a source claim an integration acts as API.
    let token = hs256(
        &claims(
            &format!("integration-{}", uuid::Uuid::new_v4()),
            &["integration"],
        ),
        TEST_SECRET.as_bytes(),
    );
    let plain = Actor {
        sub: app.user_id(&token).await,
        token,
        roles: vec!["integration"],
        source: "API",
    };
    let sent = s
        .call(
            &plain,
            "PUT",
            format!("/v1/technologies/{id}/risk-level"),
            Some(json!({ "riskLevel": "MEDIUM" })),
        )
        .await;
    let entry = s
        .verify(
            &sent,
            &plain,
            "CHANGE_RISK_LEVEL",
            Expect {
                status: 200,
                entity_type: "Technology",
                entity_id: id.clone(),
                label: name.clone(),
                version: 2,
                previous: Some("LOW".into()),
                new: Some("MEDIUM".into()),
                changes: json!({ "riskLevel": {"old": "LOW", "new": "MEDIUM"} }),
                audits: vec![id.clone()],
                ..Expect::default()
            },
        )
        .await;
    assert_eq!(entry["source"], "API");
}

#[tokio::test]
async fn a_source_field_in_the_body_is_refused_with_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let s = Script::new(&app);
    for actor in [admin(&app).await, sbom_integration(&app).await] {
        let name = unique("spoofed");
        let sent = s
            .call(
                &actor,
                "POST",
                "/v1/technologies".into(),
                Some(json!({ "name": name, "source": "System" })),
            )
            .await;
        let r = &sent.reply;
        assert_eq!(r.status, 422, "body {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        assert_eq!(
            r.body["errors"][0]["field"], "source",
            "the problem names the unknown field: {}",
            r.body
        );
        let written = app
            .query_column(
                "MATCH (e:AuditLog {correlationId: $c}) RETURN count(e) AS n",
                json!({ "c": sent.correlation_id }),
                "n",
            )
            .await;
        assert_eq!(written, vec![json!(0)], "no entry for a refused request");
        let techs = app
            .query_column(
                "MATCH (t:Technology {name: $name}) RETURN count(t) AS n",
                json!({ "name": name }),
                "n",
            )
            .await;
        assert_eq!(techs, vec![json!(0)], "no technology was created");
    }
}

#[tokio::test]
async fn a_change_that_changes_nothing_answers_200_and_writes_no_entry() {
    let app = TestApp::spawn().await;
    let s = Script::new(&app);
    let admin = admin(&app).await;
    let name = unique("redis");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/technologies".into(),
            Some(json!({ "name": name, "riskLevel": "LOW" })),
        )
        .await;
    let id = created_id(&sent);
    let before = app.entry_count(&id).await;
    let sent = s
        .call(
            &admin,
            "PUT",
            format!("/v1/technologies/{id}/risk-level"),
            Some(json!({ "riskLevel": "LOW" })),
        )
        .await;
    let r = &sent.reply;
    assert_eq!(r.status, 200, "body {}", r.body);
    assert_eq!(r.body["changed"], json!(false), "{}", r.body);
    assert_eq!(r.body["auditLogId"], Value::Null, "{}", r.body);
    assert_eq!(r.body["entity"]["version"], json!(1), "{}", r.body);
    assert_eq!(
        app.entry_count(&id).await,
        before,
        "a no-op writes no entry"
    );
    assert_eq!(s.version_of(&id).await, json!(1));
}

#[tokio::test]
async fn approving_a_second_exact_version_of_a_technology_writes_its_own_entry() {
    let app = TestApp::spawn().await;
    let mut s = Script::new(&app);
    let admin = admin(&app).await;
    let team_name = unique("search team");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/teams".into(),
            Some(json!({ "name": team_name })),
        )
        .await;
    let team = created_id(&sent);
    let tech_name = unique("elasticsearch");
    let sent = s
        .call(
            &admin,
            "POST",
            "/v1/technologies".into(),
            Some(json!({ "name": tech_name })),
        )
        .await;
    let tech = created_id(&sent);
    let team_id = TeamId::parse(&team).unwrap_or_else(|e| panic!("{e}"));
    let tech_id = TechnologyId::parse(&tech).unwrap_or_else(|e| panic!("{e}"));
    let approval = team_approval_id(team_id, tech_id).to_string();
    let path = format!("/v1/teams/{team}/technologies/{tech}/approvals");
    let mut ranges: Vec<String> = Vec::new();
    for (i, version) in ["8.11.1", "8.12.0"].into_iter().enumerate() {
        let node = version_node_id(
            tech_id,
            &semver::Version::parse(version).unwrap_or_else(|e| panic!("{e}")),
        )
        .to_string();
        let sent = s
            .call(
                &admin,
                "POST",
                path.clone(),
                Some(json!({ "version": version })),
            )
            .await;
        assert!(
            sent.reply.status < 300,
            "approving exact version {version} (approval #{}) of one technology answered {} {}",
            i + 1,
            sent.reply.status,
            sent.reply.body
        );
        let old = if ranges.is_empty() {
            Value::Null
        } else {
            json!(ranges)
        };
        ranges.push(format!("={version}"));
        s.verify(
            &sent,
            &admin,
            "APPROVE_VERSION",
            Expect {
                // The first approval creates the team's approval record.
                status: if i == 0 { 201 } else { 200 },
                entity_type: "TeamApproval",
                entity_id: approval.clone(),
                label: format!("{team_name} / {tech_name}"),
                version: i64::try_from(i).unwrap_or(0) + 1,
                new: Some(format!("APPROVED ={version}")),
                changes: json!({ "approvedRanges": {"old": old, "new": ranges} }),
                audits: vec![approval.clone(), team.clone(), tech.clone(), node],
                ..Expect::default()
            },
        )
        .await;
    }
}
