//! Per-source throttling of sign-in and code-verification attempts: a keyed GCRA limiter
//! (governor) per client address, answering TooManyRequestsException. It complements the
//! per-user lockout (recorded in the log, see `idp_domain::signin`): lockout stops guessing one
//! user's password from many places; this stops one place from guessing many users'.
//!
//! The limiter is process-local on purpose: it is abuse control, not state, so it stays out of
//! the log (a deployment of N fronts allows at most N times the rate per source).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::AppError;

/// Attempts per second and burst per source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimit {
    /// Sustained attempts per second per address (0: no limit).
    pub per_second: u32,
    /// Attempts allowed at once.
    pub burst: u32,
    /// Also limit loopback addresses (off by default: local tools and load tests).
    pub loopback: bool,
}

impl Default for SourceLimit {
    fn default() -> Self {
        SourceLimit { per_second: 20, burst: 40, loopback: false }
    }
}

pub struct SourceLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    loopback: bool,
}

impl SourceLimiter {
    /// `None` when the limit is off.
    pub fn new(limit: SourceLimit) -> Option<SourceLimiter> {
        let rate = NonZeroU32::new(limit.per_second)?;
        let burst = NonZeroU32::new(limit.burst.max(limit.per_second)).unwrap_or(rate);
        Some(SourceLimiter { limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)), loopback: limit.loopback })
    }

    /// Admits one attempt from `source` (unknown sources are not limited).
    pub fn admit(&self, source: Option<IpAddr>) -> Result<(), AppError> {
        let Some(ip) = source else { return Ok(()) };
        if ip.is_loopback() && !self.loopback {
            return Ok(());
        }
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|_| AppError::TooManyRequests("Too many requests from this source; slow down.".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_over_its_burst_is_refused_others_are_not() {
        let l = SourceLimiter::new(SourceLimit { per_second: 1, burst: 3, loopback: true }).expect("on");
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..3 {
            l.admit(Some(a)).expect("within the burst");
        }
        assert_eq!(l.admit(Some(a)).unwrap_err().name(), "TooManyRequestsException");
        l.admit(Some(b)).expect("another source");
        l.admit(None).expect("unknown source");
    }

    #[test]
    fn loopback_is_exempt_unless_asked_and_zero_is_off() {
        let l = SourceLimiter::new(SourceLimit { per_second: 1, burst: 1, loopback: false }).expect("on");
        for _ in 0..10 {
            l.admit(Some("127.0.0.1".parse().expect("ip"))).expect("loopback exempt");
        }
        assert!(SourceLimiter::new(SourceLimit { per_second: 0, burst: 5, loopback: true }).is_none());
    }
}
