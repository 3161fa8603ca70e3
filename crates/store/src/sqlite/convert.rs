//! Conversions between model values and SQLite columns.
//!
//! Times are stored as unix milliseconds (INTEGER), counts as INTEGER, enums as their
//! wire names (TEXT) so the file stays readable with the `sqlite3` shell.

use std::str::FromStr;

use chrono::DateTime;
use rusqlite::Row;
use rusqlite::types::Type;

use crate::model::{Timestamp, UnknownValue};

pub(crate) use crate::values::{int, ms, opt_int};

fn conversion(idx: usize, ty: Type, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, msg.into())
}

/// Reads a stored timestamp.
pub(crate) fn ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    let millis: i64 = row.get(idx)?;
    DateTime::from_timestamp_millis(millis).ok_or_else(|| {
        conversion(
            idx,
            Type::Integer,
            format!("timestamp {millis} out of range"),
        )
    })
}

/// Reads an optional stored timestamp.
pub(crate) fn opt_ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    let millis: Option<i64> = row.get(idx)?;
    millis
        .map(|m| {
            DateTime::from_timestamp_millis(m).ok_or_else(|| {
                conversion(idx, Type::Integer, format!("timestamp {m} out of range"))
            })
        })
        .transpose()
}

/// Reads a stored count (never negative).
pub(crate) fn count(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(idx)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, value))
}

/// Reads an optional stored count.
pub(crate) fn opt_count(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<u64>> {
    let value: Option<i64> = row.get(idx)?;
    value
        .map(|v| u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, v)))
        .transpose()
}

/// Reads an enum stored as its wire name.
pub(crate) fn name<T: FromStr<Err = UnknownValue>>(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    text.parse()
        .map_err(|e: UnknownValue| conversion(idx, Type::Text, e.to_string()))
}
