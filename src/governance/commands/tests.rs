use chrono::Utc;
use serde_json::{Value, json};

use super::*;
use crate::domain::{
    AuditLogId, RelType, Subject, SystemId, TeamId, TechnologyId, UserId, VersionConstraintId,
    team_approval_id,
};
use crate::governance::command::Command;
use crate::governance::plan::Decision;
use crate::governance::plan::Plan;

/// Decides `command` from `s` the way the governor does: under its own operation.
fn decide(command: &Command, s: &Snapshot, at: &Stamp) -> Result<Decision, Rejection> {
    command.decider().decide(command.operation(), s, at)
}

fn node(entity_type: EntityType, props: Value) -> Node {
    let Value::Object(props) = props else {
        panic!("map")
    };
    Node {
        id: props["id"].as_str().unwrap_or_default().to_owned(),
        entity_type,
        props,
    }
}

fn stamp() -> Stamp {
    Stamp {
        now: Utc::now(),
        entry_id: AuditLogId::new(),
    }
}

fn apply(decision: Result<Decision, Rejection>) -> Box<Plan> {
    match decision {
        Ok(Decision::Apply(plan)) => plan,
        other => panic!("expected a plan, got {other:?}"),
    }
}

fn constraint(id: VersionConstraintId, status: &str) -> Node {
    node(
        EntityType::VersionConstraint,
        json!({"id": id.to_string(), "status": status, "range": "^1", "technologyName": "tokio", "version": 4}),
    )
}

#[test]
fn activating_a_draft_constraint_records_both_statuses() {
    let id = VersionConstraintId::new();
    let s = Snapshot::with_nodes(vec![constraint(id, "DRAFT")]);
    let cmd = Command::Activate(TransitionConstraint { id });
    let plan = apply(decide(&cmd, &s, &stamp()));
    assert_eq!(plan.previous_status.as_deref(), Some("DRAFT"));
    assert_eq!(plan.new_status.as_deref(), Some("ACTIVE"));
    assert_eq!(
        plan.changes["status"],
        json!({"old": "DRAFT", "new": "ACTIVE"})
    );
    assert_eq!(plan.version, 5);
    assert_eq!(plan.primary.label, "tokio ^1");
}

#[test]
fn activating_an_archived_constraint_is_a_conflict_on_status() {
    let id = VersionConstraintId::new();
    let s = Snapshot::with_nodes(vec![constraint(id, "ARCHIVED")]);
    let cmd = Command::Activate(TransitionConstraint { id });
    assert!(matches!(
        decide(&cmd, &s, &stamp()),
        Err(Rejection::Conflict {
            field: "status",
            ..
        })
    ));
}

#[test]
fn repeating_a_transition_is_a_noop() {
    let id = VersionConstraintId::new();
    let s = Snapshot::with_nodes(vec![constraint(id, "ACTIVE")]);
    let cmd = Command::Activate(TransitionConstraint { id });
    assert!(matches!(decide(&cmd, &s, &stamp()), Ok(Decision::NoOp(_))));
}

#[test]
fn a_missing_constraint_is_not_found() {
    let cmd = Command::Archive(TransitionConstraint {
        id: VersionConstraintId::new(),
    });
    assert!(matches!(
        decide(&cmd, &Snapshot::default(), &stamp()),
        Err(Rejection::NotFound { field: "id", .. })
    ));
}

#[test]
fn adding_a_member_audits_the_user_and_needs_it_to_exist() {
    let team = TeamId::new();
    let user = UserId::fresh();
    let team_node = node(
        EntityType::Team,
        json!({"id": team.to_string(), "name": "core", "version": 1}),
    );
    let cmd = Command::AddTeamMember(TeamMembership {
        team,
        user: user.clone(),
    });
    let unknown = Snapshot::with_nodes(vec![team_node.clone()]);
    assert!(matches!(
        decide(&cmd, &unknown, &stamp()),
        Err(Rejection::NotFound {
            field: "userId",
            ..
        })
    ));
    let erased = Snapshot::with_nodes(vec![
        team_node.clone(),
        node(
            EntityType::User,
            json!({"id": user.to_string(), "erased": true, "version": 2}),
        ),
    ]);
    assert!(matches!(
        decide(&cmd, &erased, &stamp()),
        Err(Rejection::Conflict {
            field: "userId",
            ..
        })
    ));
    let s = Snapshot::with_nodes(vec![
        team_node,
        node(
            EntityType::User,
            json!({"id": user.to_string(), "version": 1}),
        ),
    ]);
    let plan = apply(decide(&cmd, &s, &stamp()));
    assert_eq!(plan.related.len(), 1);
    assert_eq!(plan.related[0].entity_type, EntityType::User);
    assert!(plan.effects.creates.is_empty());
    assert_eq!(plan.effects.rel_adds.len(), 1);
    assert_eq!(
        plan.changes["members"],
        json!({"added": [user.to_string()], "removed": []})
    );
    assert_eq!(plan.version, 2);
}

#[test]
fn registering_a_subject_records_no_subject_and_a_known_one_changes_nothing() {
    let subject = Subject::parse("mallory@example.com").unwrap_or_else(|e| panic!("{e}"));
    let cmd = Command::RegisterUser(RegisterUser {
        id: UserId::fresh(),
        subject: subject.clone(),
    });
    let plan = apply(decide(&cmd, &Snapshot::default(), &stamp()));
    assert_eq!(
        plan.effects.creates[0].props["subject"],
        json!(subject.as_str())
    );
    assert!(!format!("{:?}{}", plan.changes, plan.primary.label).contains("mallory"));
    let known = Snapshot::from_rows(vec![], vec![], None, Some("u-9".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let Ok(Decision::NoOp(noop)) = decide(&cmd, &known, &stamp()) else {
        panic!("a known subject is a no-op")
    };
    assert_eq!(noop.primary.id, "u-9");
}

#[test]
fn erasing_a_user_removes_subject_name_and_email_but_not_its_id() {
    let user = UserId::fresh();
    let s = Snapshot::with_nodes(vec![node(
        EntityType::User,
        json!({"id": user.to_string(), "subject": "ann@example.com", "displayName": "Ann",
               "email": "ann@example.com", "version": 3}),
    )]);
    let cmd = Command::EraseUserPii(EraseUserPii { id: user.clone() });
    let plan = apply(decide(&cmd, &s, &stamp()));
    let set = &plan.effects.updates[0].set;
    for key in ["subject", "displayName", "email"] {
        assert_eq!(set[key], Value::Null, "{key}");
    }
    assert_eq!(set["erased"], json!(true));
    assert_eq!(plan.primary.id, user.to_string());
    assert_eq!(plan.changes.keys().collect::<Vec<_>>(), vec!["erased"]);
    assert!(!format!("{:?}", plan.changes).contains("ann"));
}

#[test]
fn removing_a_non_member_changes_nothing() {
    let team = TeamId::new();
    let s = Snapshot::with_nodes(vec![node(
        EntityType::Team,
        json!({"id": team.to_string(), "name": "core", "version": 1}),
    )]);
    let user = UserId::parse("u-2").unwrap_or_else(|_| panic!("id"));
    let cmd = Command::RemoveTeamMember(TeamMembership { team, user });
    assert!(matches!(decide(&cmd, &s, &stamp()), Ok(Decision::NoOp(_))));
}

#[test]
fn a_revocation_supersedes_the_entry_that_granted_the_approval() {
    let (team, tech) = (TeamId::new(), TechnologyId::new());
    let approval = team_approval_id(team, tech).to_string();
    let granted_by = AuditLogId::new().to_string();
    let s = Snapshot::with_nodes(vec![
        node(
            EntityType::Team,
            json!({"id": team.to_string(), "name": "core", "version": 1}),
        ),
        node(
            EntityType::Technology,
            json!({"id": tech.to_string(), "name": "tokio", "version": 1}),
        ),
        node(
            EntityType::TeamApproval,
            json!({"id": approval, "approvedRanges": ["^1.2"], "approvalEntryIds": [granted_by], "version": 3}),
        ),
    ]);
    let range = Approval::range("^1.2".to_owned());
    let cmd = Command::RevokeApproval(TeamApprovalChange {
        team,
        technology: tech,
        change: ApprovalChange::Revoke(range.clone()),
    });
    let plan = apply(decide(&cmd, &s, &stamp()));
    assert_eq!(plan.supersedes, vec![granted_by]);
    assert_eq!(
        plan.changes["approvedRanges"],
        json!({"old": ["^1.2"], "new": []})
    );

    let again = Command::RevokeApproval(TeamApprovalChange {
        team,
        technology: tech,
        change: ApprovalChange::Revoke(Approval::range("^2".to_owned())),
    });
    assert!(matches!(
        decide(&again, &s, &stamp()),
        Err(Rejection::Invalid { field: "range", .. })
    ));
}

#[test]
fn an_approval_remembers_its_entry_id() {
    let (team, tech) = (TeamId::new(), TechnologyId::new());
    let s = Snapshot::with_nodes(vec![
        node(
            EntityType::Team,
            json!({"id": team.to_string(), "name": "core", "version": 1}),
        ),
        node(
            EntityType::Technology,
            json!({"id": tech.to_string(), "name": "tokio", "version": 1}),
        ),
    ]);
    let at = stamp();
    let version = semver::Version::new(1, 2, 3);
    let cmd = Command::ApproveVersion(TeamApprovalChange {
        team,
        technology: tech,
        change: ApprovalChange::Approve(Approval::version(version)),
    });
    let plan = apply(decide(&cmd, &s, &at));
    let update = plan
        .effects
        .updates
        .iter()
        .find(|u| u.id == team_approval_id(team, tech).to_string())
        .unwrap_or_else(|| panic!("approval update"));
    assert_eq!(
        update.set["approvalEntryIds"],
        json!([at.entry_id.to_string()])
    );
    assert_eq!(update.set["approvedRanges"], json!(["=1.2.3"]));
    // Team, technology and the new Version node are all audited.
    assert_eq!(plan.related.len(), 3);
}

#[test]
fn a_team_with_members_cannot_be_deleted() {
    let team = TeamId::new();
    let s = Snapshot::with_nodes(vec![node(
        EntityType::Team,
        json!({"id": team.to_string(), "name": "core", "version": 1}),
    )])
    .with_rel(&team.to_string(), RelType::MemberOf, false, "u-1");
    let cmd = Command::DeleteTeam(DeleteTeam { id: team });
    assert!(matches!(
        decide(&cmd, &s, &stamp()),
        Err(Rejection::Conflict {
            field: "members",
            ..
        })
    ));
}

#[test]
fn deleting_a_team_frees_its_name_and_keeps_a_tombstone() {
    let team = TeamId::new();
    let s = Snapshot::with_nodes(vec![node(
        EntityType::Team,
        json!({"id": team.to_string(), "name": "core", "version": 1}),
    )]);
    let plan = apply(decide(
        &Command::DeleteTeam(DeleteTeam { id: team }),
        &s,
        &stamp(),
    ));
    assert_eq!(plan.changes["name"], json!({"old": "core", "new": null}));
    assert_eq!(plan.changes["deleted"], json!({"old": null, "new": true}));
    assert_eq!(plan.primary.label, "core");
    assert_eq!(plan.new_status.as_deref(), Some("DELETED"));
}

#[test]
fn transferring_a_system_audits_old_and_new_owner() {
    let (system, old, new) = (SystemId::new(), TeamId::new(), TeamId::new());
    let s = Snapshot::with_nodes(vec![
        node(
            EntityType::System,
            json!({"id": system.to_string(), "name": "billing", "version": 2}),
        ),
        node(
            EntityType::Team,
            json!({"id": new.to_string(), "name": "payments", "version": 1}),
        ),
    ])
    .with_rel(&system.to_string(), RelType::Owns, false, &old.to_string());
    let plan = apply(decide(
        &Command::AssignSystemOwner(AssignSystemOwner {
            id: system,
            team: new,
        }),
        &s,
        &stamp(),
    ));
    assert_eq!(
        plan.changes["owner"],
        json!({"old": old.to_string(), "new": new.to_string()})
    );
    assert_eq!(plan.related.len(), 2);
    assert_eq!(plan.effects.rel_removes.len(), 1);
}
