//! Commands that need more than their input before they can run, prepared outside the
//! change's transaction: a rollback from the entity's own entries (the state at the
//! chosen point, and the later entries it reverts), a technology's retirement from the
//! constraints and team approvals it ends. The prepared command is what runs,
//! or what a change request stores: its digest pins the exact state it restores. If
//! the entity changes in between, the change request's version check (or, at once,
//! the decision against the locked state) sees it. A preview decides the prepared
//! command against the state it would lock and writes nothing.

use chrono::{DateTime, Utc};

use serde_json::json;

use neo4rs::query;

use super::commands::{Resolved, RetireTechnology, RetirementScope, Rollback};
use super::statements::read_snapshot;
use super::{Answer, Command, Decision, GovernanceError, Governor, Rejection};
use crate::history::replay;

const RETIREMENT_SCOPE: &str = include_str!("../../cypher/retirement_scope.cypher");

impl Governor {
    /// `command`, prepared when it needs the history (`None`: run it as it is).
    pub(super) async fn prepare(
        &self,
        command: &Command,
    ) -> Result<Option<Command>, GovernanceError> {
        match command {
            Command::Rollback(rollback) if rollback.resolved.is_none() => {
                self.prepare_rollback(rollback).await.map(Some)
            }
            Command::RetireTechnology(retire) if retire.scope.is_none() => {
                self.prepare_retirement(retire).await.map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn prepare_retirement(
        &self,
        retire: &RetireTechnology,
    ) -> Result<Command, GovernanceError> {
        let store = &self.store;
        let row = store
            .read_one(query(RETIREMENT_SCOPE).param("id", retire.id.to_string()))
            .await
            .map_err(GovernanceError::Store)?
            .ok_or_else(|| store.decode("the retirement scope returned no row"))?;
        let ids = |column: &str| -> Result<Vec<String>, GovernanceError> {
            row.get(column).map_err(|e| store.decode(e).into())
        };
        Ok(Command::RetireTechnology(RetireTechnology {
            scope: Some(RetirementScope {
                constraints: ids("constraints")?,
                approvals: ids("approvals")?,
            }),
            ..retire.clone()
        }))
    }

    async fn prepare_rollback(&self, rollback: &Rollback) -> Result<Command, GovernanceError> {
        let entries = replay::entries(&self.store, rollback.entity_type, &rollback.id, None)
            .await
            .map_err(GovernanceError::Store)?;
        if entries.is_empty() {
            return Err(Rejection::not_found(rollback.entity_type, &rollback.id, "id").into());
        }
        let cut = match (&rollback.to.entry_id, &rollback.to.at) {
            (Some(entry), _) => {
                entries
                    .iter()
                    .position(|e| e.id == *entry)
                    .ok_or_else(|| Rejection::Invalid {
                        field: "toEntryId",
                        message: format!(
                            "entry {entry} is not in the history of {} {}",
                            rollback.entity_type, rollback.id
                        ),
                    })?
            }
            (None, Some(at)) => {
                let at = instant(at).ok_or_else(|| Rejection::Invalid {
                    field: "at",
                    message: "not an RFC 3339 instant".into(),
                })?;
                entries
                    .iter()
                    .rposition(|e| instant(&e.timestamp).is_some_and(|t| t <= at))
                    .ok_or_else(|| Rejection::Invalid {
                        field: "at",
                        message: "the entity has no entry at or before that instant".into(),
                    })?
            }
            (None, None) => {
                return Err(Rejection::Invalid {
                    field: "toEntryId",
                    message: "give exactly one of `toEntryId` or `at`".into(),
                }
                .into());
            }
        };
        let (kept, reverted) = entries.split_at(cut + 1);
        let target = replay::fold(&rollback.id, rollback.entity_type, kept);
        Ok(Command::Rollback(Rollback {
            resolved: Some(Resolved {
                to_entry_id: kept[cut].id.clone(),
                target: target.into_iter().collect(),
                reverts: reverted.iter().map(|e| e.id.clone()).collect(),
            }),
            ..rollback.clone()
        }))
    }
}

impl Governor {
    /// What `command` would change, decided from the state it would lock, in a
    /// transaction that is rolled back: nothing is written and no entry is made.
    pub(super) async fn preview(&self, command: &Command) -> Result<Answer, GovernanceError> {
        let store = &self.store;
        let mut txn = store.begin().await?;
        let decided = match read_snapshot(store, &mut txn, &command.decider().targets(), None).await
        {
            Ok(snapshot) => command
                .decider()
                .decide(command.operation(), &snapshot, &self.stamp())
                .map_err(GovernanceError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = txn.rollback().await {
            tracing::debug!(error = %e, "rollback after a preview");
        }
        let (entity, changes, supersedes, applies) = match decided? {
            Decision::Apply(plan) => (
                plan.primary,
                json!(plan.changes),
                json!(plan.supersedes),
                true,
            ),
            Decision::NoOp(noop) => (noop.primary, json!({}), json!([]), false),
            Decision::Execute(_) => return Err(store.decode("a preview cannot execute").into()),
        };
        Ok(Answer {
            status: 200,
            body: json!({
                "preview": true,
                "changed": applies,
                "operation": command.operation(),
                "entity": {"type": entity.entity_type, "id": entity.id, "label": entity.label},
                "changes": changes,
                "supersedes": supersedes,
                "command": command,
            }),
            etag: None,
            replayed: false,
        })
    }
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
