//! Token lifetimes: Cognito's defaults and allowed ranges, and conversion from the app client's
//! `IdTokenValidity` / `AccessTokenValidity` / `RefreshTokenValidity` + `TokenValidityUnits`.

use crate::error::TokenError;

/// Seconds in a minute / hour / day.
const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Default ID and access token lifetime: 1 hour.
pub const DEFAULT_ID_ACCESS_SECS: i64 = HOUR;
/// Shortest allowed ID/access token lifetime: 5 minutes.
pub const MIN_ID_ACCESS_SECS: i64 = 5 * MINUTE;
/// Longest allowed ID/access token lifetime: 1 day. Also the longest any signed token lives,
/// hence a safe `max_token_lifetime_secs` for [`crate::KeyRing::rotate`].
pub const MAX_ID_ACCESS_SECS: i64 = DAY;
/// Default refresh token lifetime: 30 days.
pub const DEFAULT_REFRESH_SECS: i64 = 30 * DAY;
/// Shortest allowed refresh token lifetime: 60 minutes.
pub const MIN_REFRESH_SECS: i64 = 60 * MINUTE;
/// Longest allowed refresh token lifetime: 10 years (3650 days).
pub const MAX_REFRESH_SECS: i64 = 3650 * DAY;

/// Which token a validity applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// ID token.
    Id,
    /// Access token.
    Access,
    /// Refresh token.
    Refresh,
}

impl TokenKind {
    /// Cognito's name for the token ("IdToken", "AccessToken", "RefreshToken").
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Id => "IdToken",
            TokenKind::Access => "AccessToken",
            TokenKind::Refresh => "RefreshToken",
        }
    }

    /// (min, max) allowed lifetime in seconds.
    pub fn bounds(self) -> (i64, i64) {
        match self {
            TokenKind::Id | TokenKind::Access => (MIN_ID_ACCESS_SECS, MAX_ID_ACCESS_SECS),
            TokenKind::Refresh => (MIN_REFRESH_SECS, MAX_REFRESH_SECS),
        }
    }

    /// Cognito's default lifetime in seconds.
    pub fn default_secs(self) -> i64 {
        match self {
            TokenKind::Id | TokenKind::Access => DEFAULT_ID_ACCESS_SECS,
            TokenKind::Refresh => DEFAULT_REFRESH_SECS,
        }
    }

    /// The unit Cognito assumes when `TokenValidityUnits` is not given.
    pub fn default_unit(self) -> ValidityUnit {
        match self {
            TokenKind::Id | TokenKind::Access => ValidityUnit::Hours,
            TokenKind::Refresh => ValidityUnit::Days,
        }
    }
}

/// A `TokenValidityUnits` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidityUnit {
    /// "seconds"
    Seconds,
    /// "minutes"
    Minutes,
    /// "hours"
    Hours,
    /// "days"
    Days,
}

impl ValidityUnit {
    /// Parses Cognito's wire names ("seconds", "minutes", "hours", "days").
    pub fn parse(s: &str) -> Option<ValidityUnit> {
        match s {
            "seconds" => Some(ValidityUnit::Seconds),
            "minutes" => Some(ValidityUnit::Minutes),
            "hours" => Some(ValidityUnit::Hours),
            "days" => Some(ValidityUnit::Days),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidityUnit::Seconds => "seconds",
            ValidityUnit::Minutes => "minutes",
            ValidityUnit::Hours => "hours",
            ValidityUnit::Days => "days",
        }
    }

    /// Seconds per unit.
    pub fn secs(self) -> i64 {
        match self {
            ValidityUnit::Seconds => 1,
            ValidityUnit::Minutes => MINUTE,
            ValidityUnit::Hours => HOUR,
            ValidityUnit::Days => DAY,
        }
    }
}

/// Checks a lifetime in seconds against `kind`'s allowed range and returns it.
pub fn validate(kind: TokenKind, secs: i64) -> Result<i64, TokenError> {
    let (min_secs, max_secs) = kind.bounds();
    if (min_secs..=max_secs).contains(&secs) {
        Ok(secs)
    } else {
        Err(TokenError::InvalidValidity { kind: kind.name(), value_secs: secs, min_secs, max_secs })
    }
}

/// Converts `value` in `unit` (Cognito's default unit for `kind` when `None`) to seconds and
/// validates it; `None` value means Cognito's default lifetime.
pub fn validity_secs(kind: TokenKind, value: Option<i64>, unit: Option<ValidityUnit>) -> Result<i64, TokenError> {
    let Some(value) = value else {
        return Ok(kind.default_secs());
    };
    let unit = unit.unwrap_or_else(|| kind.default_unit());
    let secs = value.checked_mul(unit.secs()).unwrap_or(i64::MAX);
    validate(kind, secs)
}

/// The three lifetimes of an app client, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// ID token lifetime.
    pub id_token_secs: i64,
    /// Access token lifetime.
    pub access_token_secs: i64,
    /// Refresh token lifetime.
    pub refresh_token_secs: i64,
}

impl Default for Validity {
    fn default() -> Self {
        Validity { id_token_secs: DEFAULT_ID_ACCESS_SECS, access_token_secs: DEFAULT_ID_ACCESS_SECS, refresh_token_secs: DEFAULT_REFRESH_SECS }
    }
}

impl Validity {
    /// Checks every lifetime against its range; the first out-of-range one is reported.
    pub fn validate(&self) -> Result<(), TokenError> {
        validate(TokenKind::Id, self.id_token_secs)?;
        validate(TokenKind::Access, self.access_token_secs)?;
        validate(TokenKind::Refresh, self.refresh_token_secs)?;
        Ok(())
    }

    /// Builds and validates from an app client's settings (values plus optional units; `None`
    /// means Cognito's default).
    pub fn from_client_settings(
        id: (Option<i64>, Option<ValidityUnit>),
        access: (Option<i64>, Option<ValidityUnit>),
        refresh: (Option<i64>, Option<ValidityUnit>),
    ) -> Result<Validity, TokenError> {
        Ok(Validity {
            id_token_secs: validity_secs(TokenKind::Id, id.0, id.1)?,
            access_token_secs: validity_secs(TokenKind::Access, access.0, access.1)?,
            refresh_token_secs: validity_secs(TokenKind::Refresh, refresh.0, refresh.1)?,
        })
    }

    /// Lifetime for `kind`.
    pub fn secs(&self, kind: TokenKind) -> i64 {
        match kind {
            TokenKind::Id => self.id_token_secs,
            TokenKind::Access => self.access_token_secs,
            TokenKind::Refresh => self.refresh_token_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_cognitos_and_valid() {
        let v = Validity::default();
        assert_eq!(v.id_token_secs, 3600);
        assert_eq!(v.access_token_secs, 3600);
        assert_eq!(v.refresh_token_secs, 30 * 86400);
        v.validate().unwrap();
    }

    #[test]
    fn bounds_are_inclusive() {
        for kind in [TokenKind::Id, TokenKind::Access, TokenKind::Refresh] {
            let (min, max) = kind.bounds();
            assert_eq!(validate(kind, min).unwrap(), min);
            assert_eq!(validate(kind, max).unwrap(), max);
            assert!(validate(kind, min - 1).is_err());
            assert!(validate(kind, max + 1).is_err());
        }
        assert_eq!(TokenKind::Refresh.bounds(), (3600, 3650 * 86400));
        assert_eq!(TokenKind::Id.bounds(), (300, 86400));
    }

    #[test]
    fn out_of_range_error_is_clear() {
        let err = validate(TokenKind::Access, 60).unwrap_err();
        assert!(matches!(err, TokenError::InvalidValidity { kind: "AccessToken", value_secs: 60, min_secs: 300, max_secs: 86400 }));
        assert_eq!(err.to_string(), "AccessToken validity of 60s is out of range: allowed 300s to 86400s");
    }

    #[test]
    fn units_and_defaults() {
        assert_eq!(validity_secs(TokenKind::Id, None, None).unwrap(), 3600);
        assert_eq!(validity_secs(TokenKind::Id, Some(2), None).unwrap(), 7200);
        assert_eq!(validity_secs(TokenKind::Access, Some(5), Some(ValidityUnit::Minutes)).unwrap(), 300);
        assert_eq!(validity_secs(TokenKind::Refresh, Some(1), None).unwrap(), 86400);
        assert!(validity_secs(TokenKind::Refresh, Some(59), Some(ValidityUnit::Minutes)).is_err());
        assert!(validity_secs(TokenKind::Refresh, Some(i64::MAX), None).is_err());
        assert!(validity_secs(TokenKind::Id, Some(-1), None).is_err());
        assert_eq!(ValidityUnit::parse("days"), Some(ValidityUnit::Days));
        assert_eq!(ValidityUnit::parse("weeks"), None);
        let v = Validity::from_client_settings((Some(10), Some(ValidityUnit::Minutes)), (None, None), (Some(3650), None)).unwrap();
        assert_eq!(v.secs(TokenKind::Id), 600);
        assert_eq!(v.secs(TokenKind::Access), 3600);
        assert_eq!(v.secs(TokenKind::Refresh), 3650 * 86400);
    }
}
