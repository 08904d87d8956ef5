//! An invalid input, named so a client can point at it: the one shape every layer
//! reports validation failures in (the HTTP layer turns a list of them into a
//! problem document's `errors`).

use serde::Serialize;

/// One invalid input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of a body field (`reason`, `members[2].id`), or a path/query parameter name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
