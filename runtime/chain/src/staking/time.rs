//! Block times in RFC 3339, as the Cosmos SDK writes an unbonding's `completion_time` in its
//! events (Go's `time.RFC3339`: UTC, whole seconds, `Z`).

use cosmwasm_std::Timestamp;

/// `2026-12-23T23:27:30Z`.
pub(crate) fn rfc3339(time: Timestamp) -> String {
    let seconds = time.seconds();
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX);
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_go_rfc3339() {
        assert_eq!(rfc3339(Timestamp::from_seconds(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(Timestamp::from_seconds(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
        // A leap day, and nanoseconds dropped.
        assert_eq!(
            rfc3339(Timestamp::from_nanos(1_709_210_096_999_999_999)),
            "2024-02-29T12:34:56Z"
        );
    }
}
