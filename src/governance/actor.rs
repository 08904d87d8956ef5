//! Who acts. A verified [`Principal`] becomes an [`Actor`] once its token subject is
//! mapped to the internal user id entries name it by; [`Identities`] keeps that map,
//! creating the `User` (with a fresh random id) the first time a subject is seen.
//! The subject, display name and email live only on the `User` node.

use std::sync::Arc;

use neo4rs::query;
use quick_cache::sync::Cache;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::audit::ActorFacts;
use crate::auth::Principal;
use crate::domain::{Subject, UserId};
use crate::store::{Store, StoreError};

pub(super) const USER_RESOLVE: &str = include_str!("../../cypher/user_resolve.cypher");

/// Subjects whose user id is remembered per replica.
const CACHED_SUBJECTS: usize = 10_000;

/// The authenticated caller of a governed command: its internal user id and the
/// principal its token proved. Only [`Identities::resolve`] makes one, from a
/// [`Principal`] only the token verifier makes, so no write is reachable without both.
#[derive(Debug, Clone)]
pub struct Actor {
    id: UserId,
    principal: Principal,
}

/// The internal id of govtrail's own `User` (migration 0011): the actor of what
/// govtrail records by itself, such as a change request's expiry. It has no subject,
/// so no token maps to it.
pub const SYSTEM_USER_ID: &str = "00000000-0000-0000-0000-000000000000";

impl Actor {
    /// govtrail itself, for its own jobs: no roles, source `System`.
    #[must_use]
    pub fn system() -> Self {
        Self {
            id: UserId::parse(SYSTEM_USER_ID).unwrap_or_else(|_| unreachable!("a valid id")),
            principal: Principal {
                subject: crate::domain::Subject::parse("govtrail")
                    .unwrap_or_else(|_| unreachable!("a valid subject")),
                roles: std::collections::BTreeSet::new(),
                source: crate::domain::Source::System,
                auth_method: crate::auth::AuthMethod::Internal,
                display_name: None,
                email: None,
                expires_at: None,
            },
        }
    }

    fn is_system(&self) -> bool {
        self.principal.auth_method == crate::auth::AuthMethod::Internal
    }

    /// The internal user id entries name this actor by.
    #[must_use]
    pub fn id(&self) -> &UserId {
        &self.id
    }

    /// The principal.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Ids and roles, as an entry records them (never a subject, name or email).
    pub(super) fn facts(&self) -> ActorFacts {
        ActorFacts {
            user_id: self.id.to_string(),
            roles: self.principal.roles.iter().copied().collect(),
            source: self.principal.source,
            auth_method: self.principal.auth_method.to_string(),
        }
    }

    /// What the write statements need to find and refresh the `User` node.
    pub(super) fn params(&self) -> Value {
        if self.is_system() {
            // Found by id alone: govtrail's user has no subject.
            return json!({"id": self.id.as_str(), "subject": null});
        }
        json!({
            "id": self.id.as_str(),
            "subject": self.principal.subject.as_str(),
            "displayName": self.principal.display_name,
            "email": self.principal.email.as_ref().map(|e| e.expose_secret().to_owned()),
        })
    }
}

/// Maps token subjects to internal user ids.
#[derive(Clone)]
pub struct Identities {
    store: Store,
    cache: Arc<Cache<Subject, UserId>>,
}

impl Identities {
    /// A map over `store`, remembering recent subjects.
    #[must_use]
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Arc::new(Cache::new(CACHED_SUBJECTS)),
        }
    }

    /// The actor `principal` is: its subject's user id, from the cache or (one round
    /// trip) from Neo4j, where a subject seen for the first time gets its `User`.
    pub async fn resolve(&self, principal: Principal) -> Result<Actor, StoreError> {
        if let Some(id) = self.cache.get(&principal.subject) {
            return Ok(Actor { id, principal });
        }
        let statement = query(USER_RESOLVE)
            .param("subject", principal.subject.as_str())
            .param("id", UserId::fresh().as_str());
        let mut rows = self.store.write(statement).await?;
        let row = rows
            .next()
            .await
            .map_err(|e| self.store.error(e))?
            .ok_or_else(|| self.store.decode("user resolution returned no row"))?;
        let id: String = row.get("id").map_err(|e| self.store.decode(e))?;
        let id = UserId::parse(&id).map_err(|e| self.store.decode(e))?;
        self.cache.insert(principal.subject.clone(), id.clone());
        Ok(Actor { id, principal })
    }

    /// Forgets `subject` (its user was erased, or another replica says the mapping
    /// moved): the next request resolves it again.
    pub fn forget(&self, subject: &Subject) {
        self.cache.remove(subject);
    }

    /// Forgets every subject mapped to `id` (after the user's erasure here).
    pub fn forget_user(&self, id: &UserId) {
        self.cache.retain(|_, v| v != id);
    }
}
