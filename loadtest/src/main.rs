//! `idp-load`: the load tool behind docs/benchmarks.md.
//!
//! - `signup`: sign-up write-path latency over gRPC against a running server, HDR histogram
//!   p50/p90/p99/max: as the caller sees it, and with password hashing excluded per call (the
//!   latency minus the `hash` duration of the response's `server-timing` header: Argon2id and
//!   the SRP verifier, whatever their parameters).
//! - `signin`: password sign-in throughput over gRPC for a fixed time, compared with the bare
//!   Argon2id verification rate of the same parameters on the same cores.
//! - `seed-log` (`src/seed.rs`): writes N users' histories (a sign-up, or a sign-up and four
//!   later envelopes) straight into an embedded log, so that `idp rebuild` can be timed on a
//!   large log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use idp_api::pb::{self, admin_client::AdminClient, users_client::UsersClient};
use indicatif::{ProgressBar, ProgressStyle};
use tonic::transport::Channel;
use tonic::Request;

mod seed;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "idp-load")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Sign-up latency (p50/p99) over gRPC.
    Signup {
        #[arg(long, default_value = "127.0.0.1:50051")]
        grpc: String,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 2000)]
        n: u64,
        #[arg(long, default_value_t = 1)]
        concurrency: u64,
    },
    /// Password sign-ins per second vs bare Argon2id verifications per second.
    Signin {
        #[arg(long, default_value = "127.0.0.1:50051")]
        grpc: String,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 8)]
        concurrency: u64,
        /// Argon2 parameters the server uses (for the bare-hash comparison).
        #[arg(long, default_value_t = 19456)]
        m_kib: u32,
        #[arg(long, default_value_t = 2)]
        t: u32,
        #[arg(long, default_value_t = 1)]
        p: u32,
    },
    /// Append N users' envelopes to an embedded log (for `idp rebuild` timing).
    SeedLog {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 8)]
        partitions: u32,
        #[arg(long, default_value_t = 1_000_000)]
        n: u64,
        /// What each user's history is: `signup` (one envelope: UserSignedUp + CodeIssued) or
        /// `lifecycle` (five: that sign-up, UserConfirmed, SignInFailed, SignInSucceeded,
        /// RefreshTokenRevoked).
        #[arg(long, value_enum, default_value = "signup")]
        history: seed::History,
    },
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match Cli::parse().cmd {
        Cmd::Signup { grpc, data_dir, n, concurrency } => signup(&grpc, &data_dir, n, concurrency).await,
        Cmd::Signin { grpc, data_dir, seconds, concurrency, m_kib, t, p } => signin(&grpc, &data_dir, seconds, concurrency, (m_kib, t, p)).await,
        Cmd::SeedLog { data_dir, partitions, n, history } => seed::seed_log(&data_dir, partitions, n, history).await,
    }
}

fn bar(n: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(n);
    if let Ok(style) = ProgressStyle::with_template(&format!("{what} [{{bar:40}}] {{pos}}/{{len}} {{per_sec}} eta {{eta}}")) {
        pb.set_style(style);
    }
    pb
}

struct Setup {
    client_id: String,
    channel: Channel,
}

async fn setup(grpc: &str, data_dir: &std::path::Path, flows: &[&str]) -> Result<Setup, BoxError> {
    let creds: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(data_dir.join("admin.json"))?)?;
    let channel = Channel::from_shared(format!("http://{grpc}"))?.connect().await?;
    let mut admin = AdminClient::new(channel.clone());
    fn signed<T>(m: T, creds: &serde_json::Value) -> Request<T> {
        let mut r = Request::new(m);
        if let (Some(id), Some(secret)) = (creds["access_key_id"].as_str(), creds["secret_access_key"].as_str()) {
            if let (Ok(id), Ok(secret)) = (id.parse(), secret.parse()) {
                r.metadata_mut().insert("x-idp-access-key-id", id);
                r.metadata_mut().insert("x-idp-secret-access-key", secret);
            }
        }
        r
    }
    let pool = admin.create_user_pool(signed(pb::CreateUserPoolRequest { pool_name: "load".into(), ..Default::default() }, &creds)).await?.into_inner();
    let r = signed(
        pb::CreateUserPoolClientRequest {
            user_pool_id: pool.id,
            client_name: "load".into(),
            explicit_auth_flows: flows.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        &creds,
    );
    let client = admin.create_user_pool_client(r).await?.into_inner();
    Ok(Setup { client_id: client.client_id, channel })
}

const PASSWORD: &str = "Corr3ct-Horse-Battery";

fn report(name: &str, h: &Histogram<u64>, elapsed: Duration) {
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{name}: n={} p50={:.3}ms p90={:.3}ms p99={:.3}ms max={:.3}ms throughput={:.0}/s",
        h.len(),
        us(0.5),
        us(0.9),
        us(0.99),
        h.max() as f64 / 1000.0,
        h.len() as f64 / elapsed.as_secs_f64()
    );
}

async fn signup(grpc: &str, data_dir: &std::path::Path, n: u64, concurrency: u64) -> Result<(), BoxError> {
    let s = setup(grpc, data_dir, &["ALLOW_USER_PASSWORD_AUTH"]).await?;
    let next = Arc::new(AtomicU64::new(0));
    let pb = bar(n, "sign-up");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, cid, ch, pb) = (next.clone(), s.client_id.clone(), s.channel.clone(), pb.clone());
        tasks.push(tokio::spawn(async move {
            let mut users = UsersClient::new(ch);
            let new = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string());
            let (mut h, mut unhashed) = (new()?, new()?);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>((h, unhashed));
                }
                let t = Instant::now();
                let response = users
                    .sign_up(pb::SignUpRequest { client_id: cid.clone(), username: format!("load{i}"), password: PASSWORD.into(), ..Default::default() })
                    .await
                    .map_err(|e| e.to_string())?;
                let latency = t.elapsed().as_micros() as u64;
                let hashing = response.metadata().get("server-timing").and_then(|v| v.to_str().ok()).and_then(hash_micros);
                let hashing = hashing.ok_or("the response has no server-timing hash duration")?;
                h.record(latency).map_err(|e| e.to_string())?;
                unhashed.record(latency.saturating_sub(hashing).max(1)).map_err(|e| e.to_string())?;
                pb.inc(1);
            }
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut all_unhashed = all.clone();
    for t in tasks {
        let (h, unhashed) = t.await??;
        all.add(h)?;
        all_unhashed.add(unhashed)?;
    }
    pb.finish_and_clear();
    let elapsed = started.elapsed();
    report(&format!("sign-up (concurrency {concurrency})"), &all, elapsed);
    report(&format!("sign-up, password hashing excluded (concurrency {concurrency})"), &all_unhashed, elapsed);
    Ok(())
}

/// The `hash` duration of a `server-timing` header value (`hash;dur=0.412, app;dur=1.3`), in µs.
fn hash_micros(header: &str) -> Option<u64> {
    let metric = header.split(',').map(str::trim).find(|m| m.starts_with("hash;"))?;
    let ms: f64 = metric.split(';').find_map(|p| p.trim().strip_prefix("dur="))?.parse().ok()?;
    Some((ms * 1000.0).round() as u64)
}

async fn signin(grpc: &str, data_dir: &std::path::Path, seconds: u64, concurrency: u64, (m, t, p): (u32, u32, u32)) -> Result<(), BoxError> {
    let s = setup(grpc, data_dir, &["ALLOW_USER_PASSWORD_AUTH"]).await?;
    let mut users = UsersClient::new(s.channel.clone());
    // Confirmed users need a code: sign-ups in a pool without auto-verification stay
    // unconfirmed, so sign-in would stop at UserNotConfirmed *after* the hash check: the work
    // measured is the same (the password is verified first).
    for i in 0..concurrency {
        users
            .sign_up(pb::SignUpRequest { client_id: s.client_id.clone(), username: format!("signin{i}"), password: PASSWORD.into(), ..Default::default() })
            .await?;
    }
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let (done, cid, ch) = (done.clone(), s.client_id.clone(), s.channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut users = UsersClient::new(ch);
            let params: HashMap<String, String> = [("USERNAME".to_string(), format!("signin{i}")), ("PASSWORD".to_string(), PASSWORD.to_string())].into();
            while Instant::now() < deadline {
                let r = users
                    .initiate_auth(pb::InitiateAuthRequest {
                        client_id: cid.clone(),
                        auth_flow: "USER_PASSWORD_AUTH".into(),
                        auth_parameters: params.clone(),
                        ..Default::default()
                    })
                    .await;
                match r {
                    Ok(_) => {}
                    Err(s) if s.metadata().get("x-idp-error").map(|v| v.as_bytes()) == Some(b"UserNotConfirmedException") => {}
                    Err(s) => return Err(s.to_string()),
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let service_rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    // Bare Argon2id verification on all cores, same parameters.
    let hasher = Arc::new(idp_crypto::password::PasswordHasher::new(idp_crypto::password::Argon2Params { m_cost_kib: m, t_cost: t, p_cost: p }));
    let phc = hasher.hash(PASSWORD, &mut rand::rngs::OsRng)?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let bare_done = Arc::new(AtomicU64::new(0));
    let bare_deadline = Instant::now() + Duration::from_secs(seconds.min(10));
    let bare_start = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (h, phc, d) = (hasher.clone(), phc.clone(), bare_done.clone());
            std::thread::spawn(move || {
                while Instant::now() < bare_deadline {
                    let _ = h.verify(&phc, PASSWORD);
                    d.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let bare_rate = bare_done.load(Ordering::Relaxed) as f64 / bare_start.elapsed().as_secs_f64();
    println!(
        "sign-in: {service_rate:.1}/s over gRPC (concurrency {concurrency}); bare Argon2id (m={m} KiB, t={t}, p={p}) on {cores} threads: {bare_rate:.1}/s; ratio {:.2}",
        service_rate / bare_rate
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::hash_micros;

    #[test]
    fn hash_duration_is_read_from_server_timing() {
        assert_eq!(hash_micros("hash;dur=0.412, app;dur=1.300"), Some(412));
        assert_eq!(hash_micros("app;dur=1.3, hash;dur=20"), Some(20_000));
        assert_eq!(hash_micros("app;dur=1.3"), None);
        assert_eq!(hash_micros("hash;dur=x"), None);
    }
}
