//! A bound on tool calls running at once per bearer token (or, without tokens, for the
//! whole server), so one caller cannot hold every request slot with long calls. A call
//! past the bound is refused at once with a message naming the setting, instead of
//! queueing silently behind the others.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// The setting that sets the bound, named in refusals.
pub const SETTING: &str = "MCPD_MAX_CALLS_PER_TOKEN";

/// Running calls by caller.
pub(crate) struct CallLimiter {
    max: usize,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

/// A running call's place; dropping it frees the place.
pub(crate) struct CallPermit {
    key: String,
    running: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for CallPermit {
    fn drop(&mut self) {
        let mut running = self.running.lock();
        if let Some(n) = running.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.key);
            }
        }
    }
}

/// A call refused because its caller already runs the most calls allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "too many tool calls running at once for {who}: the limit is {max} ({SETTING}={max}); \
wait for one to finish (or cancel one) and retry, or raise {SETTING}"
)]
pub(crate) struct TooManyCalls {
    who: String,
    max: usize,
}

impl CallLimiter {
    /// At most `max` calls at once per caller (`0`: no bound).
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            running: Arc::default(),
        }
    }

    /// Takes a place for a call of `token` (`None`: a caller without a token).
    pub(crate) fn acquire(&self, token: Option<&str>) -> Result<CallPermit, TooManyCalls> {
        let key = token.unwrap_or_default().to_string();
        let mut running = self.running.lock();
        let n = running.entry(key.clone()).or_default();
        if self.max > 0 && *n >= self.max {
            let who = match token {
                Some(name) => format!("bearer token {name:?}"),
                None => "this server (no bearer tokens)".to_string(),
            };
            return Err(TooManyCalls { who, max: self.max });
        }
        *n += 1;
        Ok(CallPermit {
            key,
            running: Arc::clone(&self.running),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_has_its_own_bound_and_permits_free_places() {
        let limiter = CallLimiter::new(1);
        let a = limiter.acquire(Some("a")).unwrap();
        let refused = limiter.acquire(Some("a")).err().unwrap().to_string();
        assert!(
            refused.contains("\"a\"") && refused.contains(SETTING),
            "{refused}"
        );
        let _b = limiter.acquire(Some("b")).unwrap();
        let _anonymous = limiter.acquire(None).unwrap();
        drop(a);
        assert!(limiter.acquire(Some("a")).is_ok());
        assert!(limiter.running.lock().get("a").is_none());
    }

    #[test]
    fn zero_means_no_bound() {
        let limiter = CallLimiter::new(0);
        let held: Vec<_> = (0..100).map(|_| limiter.acquire(None).unwrap()).collect();
        assert_eq!(held.len(), 100);
    }
}
