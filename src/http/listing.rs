//! Query parameters shared by the list routes of the API and the console: the
//! filters and paging of the feed, an entity's history and an actor's activity, and
//! the `{type}/{id}` of an entity route, each refused with the parameter it names.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::problem::{ApiError, FieldError};
use crate::domain::{Category, EntityType, Operation, Outcome, Source, UserId};
use crate::history::{Cursor, DEFAULT_LIMIT, Filters, MAX_LIMIT, Order, PageRequest, Scope};

type Result<T> = std::result::Result<T, ApiError>;

pub(super) fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidParameters(vec![FieldError::new(field, message)])
}

fn parse<T: std::str::FromStr>(field: &str, value: Option<&String>) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    value
        .map(|v| v.parse::<T>().map_err(|e| bad(field, e.to_string())))
        .transpose()
}

pub(super) fn instant(field: &str, value: Option<&String>) -> Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    bad(
                        field,
                        "must be an RFC 3339 timestamp, e.g. 2026-11-25T10:00:00Z",
                    )
                })
        })
        .transpose()
}

/// A free-text filter value. An export records its filters in its entry, so a value
/// that looks like personal data or a secret is refused like any text bound for an entry.
fn text(field: &str, value: Option<&String>) -> Result<Option<String>> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > 256 => {
            Err(bad(field, "must be 1 to 256 characters"))
        }
        Some(v) => crate::domain::text::check(v)
            .map(|()| Some(v.clone()))
            .map_err(|e| bad(field, e.to_string())),
        None => Ok(None),
    }
}

/// Filters and paging shared by the list routes; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ListQuery {
    pub(super) entity_type: Option<String>,
    pub(super) entity_id: Option<String>,
    pub(super) operation: Option<String>,
    pub(super) user_id: Option<String>,
    pub(super) source: Option<String>,
    pub(super) outcome: Option<String>,
    pub(super) category: Option<String>,
    pub(super) correlation_id: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) order: Option<String>,
    pub(super) limit: Option<String>,
    pub(super) cursor: Option<String>,
    pub(super) format: Option<String>,
}

impl ListQuery {
    pub(super) fn filters(&self) -> Result<Filters> {
        let filters = Filters {
            entity_type: parse::<EntityType>("entityType", self.entity_type.as_ref())?,
            entity_id: text("entityId", self.entity_id.as_ref())?,
            operation: parse::<Operation>("operation", self.operation.as_ref())?,
            user_id: text("userId", self.user_id.as_ref())?,
            source: parse::<Source>("source", self.source.as_ref())?,
            outcome: parse::<Outcome>("outcome", self.outcome.as_ref())?,
            category: parse::<Category>("category", self.category.as_ref())?,
            correlation_id: text("correlationId", self.correlation_id.as_ref())?,
            from: instant("from", self.from.as_ref())?,
            to: instant("to", self.to.as_ref())?,
        };
        if let (Some(from), Some(to)) = (filters.from, filters.to)
            && from > to
        {
            return Err(bad("from", "must not be after `to`"));
        }
        Ok(filters)
    }

    pub(super) fn page_request(&self, scope: Scope) -> Result<PageRequest> {
        if self.format.is_some() {
            return Err(bad("format", "only exports take a format"));
        }
        let filters = self.filters()?;
        let order = match self.order.as_deref() {
            None | Some("desc") => Order::Desc,
            Some("asc") => Order::Asc,
            Some(_) => return Err(bad("order", "must be `asc` or `desc`")),
        };
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", format!("must be an integer from 1 to {MAX_LIMIT}")))?,
        };
        let cursor = self
            .cursor
            .as_deref()
            .map(|c| {
                Cursor::decode(c, &scope, &filters, order).map_err(|e| bad("cursor", e.to_string()))
            })
            .transpose()?;
        Ok(PageRequest {
            scope,
            filters,
            order,
            limit,
            cursor,
        })
    }
}

pub(super) fn not_found(entity_type: EntityType, id: &str) -> ApiError {
    ApiError::EntityNotFound(vec![FieldError::new(
        "id",
        format!("{entity_type} {id} does not exist"),
    )])
}

/// `{type}/{id}` of an entity route: a known type, and a UUID (or a subject for users).
pub(super) fn entity(type_text: &str, id: &str) -> Result<(EntityType, String)> {
    let entity_type: EntityType = type_text
        .parse()
        .map_err(|e: crate::domain::UnknownValue| bad("type", e.to_string()))?;
    let id = if entity_type == EntityType::User {
        UserId::parse(id)
            .map_err(|e| bad("id", e.to_string()))?
            .to_string()
    } else {
        uuid::Uuid::parse_str(id)
            .map_err(|_| bad("id", "must be a UUID"))?
            .hyphenated()
            .to_string()
    };
    Ok((entity_type, id))
}
