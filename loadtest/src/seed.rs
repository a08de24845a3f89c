//! `idp-load seed-log`: N users' histories appended straight into an embedded log (no server,
//! no hashing), so that `idp rebuild` can be timed on a large log.
//!
//! Each user is one aggregate; its envelopes go to its partition in order, each with the
//! expected version the arbiter will find (0 for the sign-up, then 1, 2, …), so every one is
//! accepted on replay.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use idp_domain::pb::{
    event::Kind, Attribute, CodeIssued, Envelope, Event, PasswordRecord, RefreshTokenRevoked, SignInFailed, SignInSucceeded, UserConfirmed, UserSignedUp,
};
use idp_eventlog::EventLog;
use prost::Message;

use crate::{bar, BoxError};

/// What each seeded user's history holds.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum History {
    /// One envelope: UserSignedUp (with an SRP verifier) + CodeIssued. The worst case for
    /// replay: every record creates a ≈0.8 KB state row, five search-index rows and an
    /// outbox row.
    Signup,
    /// Five envelopes, six events: that sign-up, then UserConfirmed, SignInFailed,
    /// SignInSucceeded and RefreshTokenRevoked: later events rewrite an existing user.
    Lifecycle,
}

const POOL_ID: &str = "us-east-1_SeedPool1";
const T0: i64 = 1_790_000_000_000;

fn event(kind: Kind) -> Event {
    Event { kind: Some(kind) }
}

/// User `i`'s envelopes, in log order.
fn history(i: u64, history: History) -> Vec<Envelope> {
    let username = format!("seed{i:09}");
    let aggregate = format!("user/{POOL_ID}/{username}");
    let at = T0 + i as i64;
    let envelope = |n: u64, events: Vec<Event>| Envelope {
        event_id: format!("00000000-0000-4000-8{n:03}-{i:012}"),
        request_id: String::new(),
        recorded_at_ms: at + n as i64,
        aggregate: aggregate.clone(),
        expected_version: n,
        events,
    };
    let sign_up = envelope(
        0,
        vec![
            event(Kind::UserSignedUp(UserSignedUp {
                sub: format!("5eed0000-0000-4000-8000-{i:012}"),
                username: username.clone(),
                attributes: vec![Attribute { name: "email".into(), value: format!("{username}@example.com") }],
                password: Some(PasswordRecord {
                    argon2_phc: format!("$argon2id$v=19$m=19456,t=2,p=1${}${}", "s".repeat(22), "h".repeat(43)),
                    srp_salt: vec![0xab; 16].into(),
                    srp_verifier: vec![0xcd; 384].into(),
                    set_at_ms: T0,
                    ..Default::default()
                }),
                client_id: "seedclient".into(),
                created_at_ms: T0,
                pool_id: POOL_ID.into(),
                ..Default::default()
            })),
            event(Kind::CodeIssued(CodeIssued {
                purpose: "SIGN_UP".into(),
                attribute: "email".into(),
                channel: "EMAIL".into(),
                destination: format!("{username}@example.com"),
                salt: vec![1; 16].into(),
                hash: vec![2; 32].into(),
                sealed: vec![3; 46].into(),
                expires_at_ms: T0 + 86_400_000,
                client_id: "seedclient".into(),
                ..Default::default()
            })),
        ],
    );
    match history {
        History::Signup => vec![sign_up],
        History::Lifecycle => vec![
            sign_up,
            envelope(
                1,
                vec![event(Kind::UserConfirmed(UserConfirmed {
                    verified_attributes: vec!["email".into()],
                    client_id: "seedclient".into(),
                    ..Default::default()
                }))],
            ),
            envelope(2, vec![event(Kind::SignInFailed(SignInFailed { failures: 1, at_ms: at + 2, locked_until_ms: 0, factor: "PASSWORD".into() }))]),
            envelope(3, vec![event(Kind::SignInSucceeded(SignInSucceeded {}))]),
            envelope(
                4,
                vec![event(Kind::RefreshTokenRevoked(RefreshTokenRevoked { origin_jti: format!("jti-{i:012}"), expires_at_ms: T0 + 30 * 86_400_000 }))],
            ),
        ],
    }
}

pub async fn seed_log(dir: &Path, partitions: u32, n: u64, kind: History) -> Result<(), BoxError> {
    let log = idp_eventlog::EmbeddedLog::open(&dir.join("log"), partitions, idp_eventlog::EmbeddedOptions::default())?;
    let pb = bar(n, "seed users");
    let next = Arc::new(AtomicU64::new(0));
    let (records, events) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for _ in 0..256 {
        let (log, next, pb, records, events) = (log.clone(), next.clone(), pb.clone(), records.clone(), events.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(());
                }
                // One user's envelopes in order, each appended before the next.
                for env in history(i, kind) {
                    let p = idp_eventlog::partition_for_key(env.aggregate.as_bytes(), log.partition_count());
                    events.fetch_add(env.events.len() as u64, Ordering::Relaxed);
                    let record = idp_eventlog::Record::new(env.aggregate.clone().into_bytes(), env.encode_to_vec());
                    log.append(p, record).await.map_err(|e| e.to_string())?;
                    records.fetch_add(1, Ordering::Relaxed);
                }
                pb.inc(1);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    pb.finish_and_clear();
    println!("seeded {n} users ({} records, {} events) into {}", records.load(Ordering::Relaxed), events.load(Ordering::Relaxed), dir.join("log").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifecycle_counts_its_versions_up_from_zero() {
        let envs = history(7, History::Lifecycle);
        assert_eq!(envs.iter().map(|e| e.expected_version).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(envs.iter().map(|e| e.events.len()).sum::<usize>(), 6);
        assert!(envs.iter().all(|e| e.aggregate == envs[0].aggregate));
        assert_eq!(history(7, History::Signup).len(), 1);
    }
}
