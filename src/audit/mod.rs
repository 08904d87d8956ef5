//! Audit entries: their construction from a governed change and the scrubbing of
//! free text. Entries are written only by the governance executor, inside the
//! transaction of the change they describe; this module has no way to write one.

pub mod checkpoint;
pub mod checkpointer;
pub mod entry;
pub mod hash;
pub mod scrub;
mod seal;
pub mod verify;
pub mod witness;

pub use entry::{ActorFacts, AuditEntry, EntryFacts, OperationFacts, RequestLink, Stamp};
pub use seal::WITNESS_WAIT;
