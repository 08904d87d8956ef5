//! Causal consistency across replicas: the Neo4j bookmarks one unit of work (an HTTP
//! request) waits for, and the bookmark its last commit left.
//!
//! A client that wrote through one govtrail replica and reads through another sends
//! back the bookmark it was given. Every transaction [`Store`](super::Store) starts
//! inside [`Causal::scope`] is begun with those bookmarks, so the Neo4j server it lands
//! on first applies that write; after a commit in the scope, later transactions wait
//! for the new bookmark instead, as a driver session would.
//!
//! The scope is a task-local: it covers everything the request's own task runs.
//! Work spawned onto other tasks, or run after the response has started (the later
//! pages of a streamed export), runs without it.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

tokio::task_local! {
    static CURRENT: Causal;
}

/// How many bookmarks one request may send.
pub const MAX_BOOKMARKS: usize = 16;
/// The longest bookmark accepted, in bytes (Neo4j's are a few dozen).
pub const MAX_BOOKMARK_LEN: usize = 1024;

/// The bookmarks of one unit of work. Cheap to clone; clones share state.
#[derive(Clone, Debug, Default)]
pub struct Causal {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    wait_for: Vec<String>,
    committed: Option<String>,
}

impl Causal {
    /// A unit of work whose transactions wait for `bookmarks` (none: no wait).
    #[must_use]
    pub fn new(bookmarks: Vec<String>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                wait_for: bookmarks,
                committed: None,
            })),
        }
    }

    /// Runs `work` with this unit's bookmarks applied to every transaction it starts.
    pub async fn scope<F: Future>(&self, work: F) -> F::Output {
        CURRENT.scope(self.clone(), work).await
    }

    /// The bookmark of the last commit made in the scope, if any.
    #[must_use]
    pub fn committed(&self) -> Option<String> {
        self.lock().committed.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bookmarks the current task's next transaction must wait for.
    pub(super) fn wait_for() -> Vec<String> {
        CURRENT
            .try_with(|causal| causal.lock().wait_for.clone())
            .unwrap_or_default()
    }

    /// Records the bookmark a commit in the current task returned.
    pub(super) fn record_commit(bookmark: Option<String>) {
        let Some(bookmark) = bookmark else { return };
        let _ = CURRENT.try_with(|causal| {
            let mut state = causal.lock();
            state.wait_for = vec![bookmark.clone()];
            state.committed = Some(bookmark);
        });
    }
}

/// Why a sent bookmark was refused before reaching Neo4j.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookmarkError {
    /// More than [`MAX_BOOKMARKS`].
    #[error("at most {MAX_BOOKMARKS} bookmarks may be sent")]
    TooMany,
    /// Empty, too long, or with characters a Neo4j bookmark never has.
    #[error(
        "a bookmark is the printable text govtrail returned in Govtrail-Bookmark \
         (at most {MAX_BOOKMARK_LEN} bytes, no spaces or commas)"
    )]
    Malformed,
}

/// Reads bookmarks from header values: each value holds one or more, separated by
/// commas (a Neo4j bookmark never contains one). Empty values are ignored.
///
/// # Errors
/// [`BookmarkError`] when a bookmark is malformed or there are too many.
pub fn parse_bookmarks<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, BookmarkError> {
    let mut bookmarks: Vec<String> = Vec::new();
    for value in values {
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let printable = part.bytes().all(|b| b.is_ascii_graphic());
            if part.len() > MAX_BOOKMARK_LEN || !printable {
                return Err(BookmarkError::Malformed);
            }
            if !bookmarks.iter().any(|b| b == part) {
                bookmarks.push(part.to_owned());
            }
            if bookmarks.len() > MAX_BOOKMARKS {
                return Err(BookmarkError::TooMany);
            }
        }
    }
    Ok(bookmarks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_are_read_from_repeated_and_comma_separated_values() {
        let parsed = parse_bookmarks(["FB:kcwQ9vYF5wN+TCap==, FB:abc", "", "FB:def,FB:abc"]);
        assert_eq!(
            parsed,
            Ok(vec![
                "FB:kcwQ9vYF5wN+TCap==".to_owned(),
                "FB:abc".to_owned(),
                "FB:def".to_owned()
            ])
        );
        assert_eq!(parse_bookmarks(["  "]), Ok(vec![]));
    }

    #[test]
    fn malformed_or_too_many_bookmarks_are_refused() {
        assert_eq!(parse_bookmarks(["FB:a b"]), Err(BookmarkError::Malformed));
        assert_eq!(parse_bookmarks(["FB:é"]), Err(BookmarkError::Malformed));
        let long = "x".repeat(MAX_BOOKMARK_LEN + 1);
        assert_eq!(
            parse_bookmarks([long.as_str()]),
            Err(BookmarkError::Malformed)
        );
        let many: Vec<String> = (0..=MAX_BOOKMARKS).map(|i| format!("FB:{i}")).collect();
        assert_eq!(
            parse_bookmarks(many.iter().map(String::as_str)),
            Err(BookmarkError::TooMany)
        );
    }

    #[tokio::test]
    async fn a_commit_in_the_scope_replaces_what_later_transactions_wait_for() {
        assert!(Causal::wait_for().is_empty(), "no scope, no wait");
        let causal = Causal::new(vec!["FB:sent".into()]);
        causal
            .scope(async {
                assert_eq!(Causal::wait_for(), vec!["FB:sent".to_owned()]);
                Causal::record_commit(None);
                assert_eq!(Causal::wait_for(), vec!["FB:sent".to_owned()]);
                Causal::record_commit(Some("FB:new".into()));
                assert_eq!(Causal::wait_for(), vec!["FB:new".to_owned()]);
            })
            .await;
        assert_eq!(causal.committed().as_deref(), Some("FB:new"));
        Causal::record_commit(Some("FB:outside".into()));
        assert_eq!(causal.committed().as_deref(), Some("FB:new"));
    }
}
