//! Test support shared by the given/when/then tests: a deterministic [`Ctx`] and a pool.

use crate::ctx::{Ctx, NewCode};
use crate::evolve::{evolve, AggregateState};
use crate::pb::{Envelope, Event, PasswordRecord, PoolState};
use crate::pool::{default_settings, PoolCommand};

/// Codes are "123456"; hashes are "hash(<password>)"; temporary passwords "Tmp-xxxx<n>";
/// seals are "sealed:<secret>"; ids count up.
pub struct FakeCtx {
    pub now: i64,
    pub ids: u32,
}

impl Ctx for FakeCtx {
    fn now_ms(&self) -> i64 {
        self.now
    }
    fn new_uuid(&mut self) -> String {
        self.ids += 1;
        format!("00000000-0000-4000-8000-{:012}", self.ids)
    }
    fn issue_code(&mut self) -> NewCode {
        NewCode { salt: vec![1], hash: b"123456".to_vec(), sealed: b"sealed:123456".to_vec() }
    }
    fn code_matches(&self, _salt: &[u8], hash: &[u8], presented: &str) -> bool {
        hash == presented.as_bytes()
    }
    fn hash_password(&mut self, pool: &str, user: &str, password: &str) -> PasswordRecord {
        PasswordRecord {
            argon2_phc: format!("hash({password})"),
            srp_salt: vec![0].into(),
            srp_verifier: format!("v({pool},{user})").into_bytes().into(),
            set_at_ms: self.now,
            ..Default::default()
        }
    }
    fn password_matches(&self, record: Option<&PasswordRecord>, password: &str) -> bool {
        record.map(|r| r.argon2_phc == format!("hash({password})")).unwrap_or(false)
    }
    fn temporary_password(&mut self, min_length: u32) -> String {
        self.ids += 1;
        format!("Tmp-{}{}", "x".repeat(min_length.max(8) as usize - 5), self.ids % 10)
    }
    fn seal(&mut self, secret: &str) -> Vec<u8> {
        format!("sealed:{secret}").into_bytes()
    }
    fn new_totp_secret(&mut self) -> Vec<u8> {
        b"sealed-totp".to_vec()
    }
    fn totp_step(&self, sealed: &[u8], code: &str) -> Option<u64> {
        let now = (self.now / 1000 / 30) as u64;
        let step: u64 = code.parse().ok()?;
        (sealed == b"sealed-totp" && step + 1 >= now && step <= now + 1).then_some(step)
    }
}

pub fn ctx() -> FakeCtx {
    FakeCtx { now: 1_000_000, ids: 0 }
}

pub fn envelope(events: Vec<Event>, at: i64) -> Envelope {
    Envelope { event_id: "e".into(), recorded_at_ms: at, events, ..Default::default() }
}

/// A pool created through its own decide/evolve, with `auto_verify` attributes.
pub fn pool(ctx: &mut FakeCtx, auto_verify: &[&str]) -> PoolState {
    let mut settings = default_settings("test");
    settings.auto_verified_attributes = auto_verify.iter().map(|s| s.to_string()).collect();
    let events = crate::pool::decide(None, PoolCommand::Create { pool_id: "us-east-1_Test1".into(), settings }, ctx).expect("create pool");
    match evolve(None, &envelope(events, ctx.now)) {
        Some(AggregateState::Pool(p)) => p,
        other => panic!("no pool: {other:?}"),
    }
}

/// Applies `events` to `state` (None when they delete it).
pub fn apply(state: Option<AggregateState>, events: &[Event], at: i64) -> Option<AggregateState> {
    evolve(state, &envelope(events.to_vec(), at))
}

/// The (trigger source, "name=value" ClientMetadata) of the first code among `events`.
pub fn code_message(events: &[Event]) -> (String, Vec<String>) {
    events
        .iter()
        .find_map(|e| match &e.kind {
            Some(crate::pb::event::Kind::CodeIssued(c)) => {
                Some((c.trigger_source.clone(), c.client_metadata.iter().map(|a| format!("{}={}", a.name, a.value)).collect()))
            }
            _ => None,
        })
        .unwrap_or_default()
}
