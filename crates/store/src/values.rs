//! Conversions from model values to the integers both backends store: times as unix
//! milliseconds, counts as signed 64-bit integers (refused, not wrapped, past i64::MAX).

use crate::error::StoreError;
use crate::model::Timestamp;

/// A timestamp as stored: unix milliseconds.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

/// A count or token number as stored; both databases keep signed 64-bit integers.
pub(crate) fn int(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::invalid(what, format!("{value} is too large")))
}

/// An optional count as stored.
pub(crate) fn opt_int(value: Option<u64>, what: &'static str) -> Result<Option<i64>, StoreError> {
    value.map(|v| int(v, what)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn huge_counts_are_refused_not_wrapped() {
        assert_eq!(int(5, "tokens"), Ok(5));
        assert!(matches!(
            int(u64::MAX, "tokens"),
            Err(StoreError::Invalid { what: "tokens", .. })
        ));
    }
}
