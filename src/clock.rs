//! The one place the crate reads the wall clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current Unix time in whole seconds (floored); a clock before 1970 reads as 0.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
