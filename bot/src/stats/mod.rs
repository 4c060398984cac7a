//! `gitkeeper-bot stats`: what the attempt trail says about the bot's work.
//! Tasks by type and outcome, success by model and tier, attempts and
//! escalations, the share finished on local tiers, tokens and cost by tier
//! and repository, the cost saved against a reference cloud model, time from
//! label to pull request, fallback success, how the pull requests ended, the
//! best worker/checker pairs ([`figures`]); and where the code went, per
//! task and provider ([`ledger`], `stats --privacy`).
//!
//! Must never: write to the store, or show a figure it cannot back with
//! records (a rate over no tasks is "–", not 0 %).

pub mod figures;
pub mod ledger;
pub mod render;

use std::time::Duration;

pub use figures::Stats;
pub use ledger::Ledger;

/// A `--since` value that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--since {0:?} is not a duration: use a number with m, h, d or w (30m, 12h, 7d, 2w), or `all`"
)]
pub struct SinceError(pub String);

/// How far back `--since` reaches: `30m`, `12h`, `7d`, `2w`; `all` (or
/// nothing) is everything.
pub fn parse_since(text: Option<&str>) -> Result<Option<Duration>, SinceError> {
    let Some(text) = text.map(str::trim) else {
        return Ok(None);
    };
    if text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let err = || SinceError(text.to_string());
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| err())?;
    let secs = match unit {
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        "w" => 7 * 24 * 60 * 60,
        _ => return Err(err()),
    };
    Ok(Some(Duration::from_secs(n.saturating_mul(secs))))
}

/// The first millisecond `since` reaches back to from `now` (0 for everything).
pub fn since_ms(since: Option<Duration>, now: i64) -> i64 {
    since.map_or(0, |d| {
        now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .max(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_minutes_hours_days_weeks_and_all() {
        assert_eq!(
            parse_since(Some("7d")).unwrap(),
            Some(Duration::from_secs(7 * 86400))
        );
        assert_eq!(
            parse_since(Some("30m")).unwrap(),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            parse_since(Some("2w")).unwrap(),
            Some(Duration::from_secs(14 * 86400))
        );
        assert_eq!(parse_since(Some("all")).unwrap(), None);
        assert_eq!(parse_since(None).unwrap(), None);
        for bad in ["7", "d", "7 days", "-1d", "1y"] {
            let err = parse_since(Some(bad)).unwrap_err().to_string();
            assert!(err.contains("7d"), "{bad}: {err}");
        }
        assert_eq!(since_ms(Some(Duration::from_secs(1)), 5000), 4000);
        assert_eq!(since_ms(None, 5000), 0);
    }
}
