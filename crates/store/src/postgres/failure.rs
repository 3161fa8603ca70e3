//! PostgreSQL errors and column values turned into [`StoreError`]s.

use std::str::FromStr;

use chrono::DateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::error::StoreError;
use crate::model::{Timestamp, UnknownValue};

/// The server's own message for a database error, else the client's description.
pub(crate) fn reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_owned(),
        },
        None => e.to_string(),
    }
}

/// Which integrity rule a failed statement broke, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    /// A primary key or UNIQUE column already holds the value.
    Unique,
    /// A referenced row does not exist.
    ForeignKey,
}

/// The broken constraint of a failed statement.
pub(crate) fn constraint(e: &tokio_postgres::Error) -> Option<Constraint> {
    match e.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => Some(Constraint::Unique),
        Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => Some(Constraint::ForeignKey),
        _ => None,
    }
}

/// Turns driver and pool errors into [`StoreError::Database`] for one database.
#[derive(Debug, Clone)]
pub(crate) struct Location(pub(crate) String);

impl Location {
    /// A failed statement.
    pub(crate) fn db(&self, e: &tokio_postgres::Error) -> StoreError {
        if e.is_closed() {
            return StoreError::Unreachable {
                location: self.0.clone(),
                reason: reason(e),
            };
        }
        StoreError::Database {
            location: self.0.clone(),
            reason: reason(e),
        }
    }

    /// No connection could be taken from the pool.
    pub(crate) fn pool(&self, e: &deadpool_postgres::PoolError) -> StoreError {
        StoreError::Unreachable {
            location: self.0.clone(),
            reason: e.to_string(),
        }
    }

    /// A stored value this build cannot read.
    pub(crate) fn column(&self, column: &str, why: impl std::fmt::Display) -> StoreError {
        StoreError::Database {
            location: self.0.clone(),
            reason: format!("column {column}: {why}"),
        }
    }

    /// Reads a column, naming it when its type does not match.
    pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        &self,
        row: &'a Row,
        column: &str,
    ) -> Result<T, StoreError> {
        row.try_get(column).map_err(|e| self.column(column, e))
    }

    /// Reads a stored timestamp (unix milliseconds).
    pub(crate) fn ts(&self, row: &Row, column: &str) -> Result<Timestamp, StoreError> {
        let millis: i64 = self.get(row, column)?;
        DateTime::from_timestamp_millis(millis)
            .ok_or_else(|| self.column(column, format!("timestamp {millis} out of range")))
    }

    /// Reads an optional stored timestamp.
    pub(crate) fn opt_ts(&self, row: &Row, column: &str) -> Result<Option<Timestamp>, StoreError> {
        let millis: Option<i64> = self.get(row, column)?;
        millis
            .map(|m| {
                DateTime::from_timestamp_millis(m)
                    .ok_or_else(|| self.column(column, format!("timestamp {m} out of range")))
            })
            .transpose()
    }

    /// Reads a stored count (never negative).
    pub(crate) fn count(&self, row: &Row, column: &str) -> Result<u64, StoreError> {
        let value: i64 = self.get(row, column)?;
        u64::try_from(value).map_err(|_| self.column(column, format!("negative count {value}")))
    }

    /// Reads an optional stored count.
    pub(crate) fn opt_count(&self, row: &Row, column: &str) -> Result<Option<u64>, StoreError> {
        let value: Option<i64> = self.get(row, column)?;
        value
            .map(|v| {
                u64::try_from(v).map_err(|_| self.column(column, format!("negative count {v}")))
            })
            .transpose()
    }

    /// Reads an enum stored as its wire name.
    pub(crate) fn name<T: FromStr<Err = UnknownValue>>(
        &self,
        row: &Row,
        column: &str,
    ) -> Result<T, StoreError> {
        let text: String = self.get(row, column)?;
        text.parse()
            .map_err(|e: UnknownValue| self.column(column, e))
    }
}
