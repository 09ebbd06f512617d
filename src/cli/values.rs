//! Value parsers for clap: sizes, durations, counts and the fail-on threshold become typed values
//! at the boundary, so a bad flag is a usage error (exit 2) naming the flag, and nothing below
//! `cli` ever parses a flag's text.

use std::time::Duration;

use super::output::FailOn;
use crate::model::Severity;

/// `10M` → `(10, "M")`: leading digits and the unit after them; `None` without digits.
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    Some((digits.parse().ok()?, unit))
}

/// Sizes like `50M`, `512K`, `1G`, `1000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not a size (try 10M, 512K or 1G)"))?;
    let multiplier: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("unknown unit in '{text}' (use K, M or G)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// `10s`, `500ms`, `2m`, or plain seconds; never zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = number_and_unit(text)
        .ok_or_else(|| format!("'{text}' is not a duration (try 10s, 500ms or 2m)"))?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => return Err(format!("unknown unit in '{text}' (use ms, s or m)")),
    };
    if duration.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(duration)
}

/// A count of workers: at least one.
pub fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

/// The fail-on threshold: a severity name, or `live`.
pub fn parse_fail_on(value: &str) -> Result<FailOn, String> {
    if value.eq_ignore_ascii_case("live") {
        return Ok(FailOn::Live);
    }
    value
        .parse::<Severity>()
        .map(FailOn::Severity)
        .map_err(|msg| format!("{msg}, or live (only keys verified live)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10M").unwrap(), 10 << 20);
        assert_eq!(parse_size("512k").unwrap(), 512 << 10);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn counts_and_thresholds() {
        assert_eq!(parse_count("4").unwrap(), 4);
        assert!(parse_count("0").is_err());
        assert!(parse_count("many").is_err());
        assert_eq!(parse_fail_on("LIVE").unwrap(), FailOn::Live);
        assert_eq!(
            parse_fail_on("high").unwrap(),
            FailOn::Severity(Severity::High)
        );
        assert!(parse_fail_on("sometimes").is_err());
    }
}
