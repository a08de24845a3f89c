//! Benchmark (ignored by default): SRP sign-in throughput per core, and the Cognito JSON
//! adapter's cost against gRPC for the same calls, measured as the *server process's* CPU time
//! (utime + stime from /proc) so that the load generator sharing the machine does not skew it.
//!
//!   cargo test --release -p idp --test cognito_bench -- --ignored --nocapture
//!
//! Knobs: IDP_BENCH_SECS (per phase, default 10), IDP_BENCH_CONCURRENCY (default 8).
//! Every loop is bounded in time and count and talks to 127.0.0.1 only.

mod cognito_support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cognito_support::call;
use idp_api::pb::users_client::UsersClient;
use idp_api::pb::{AccessTokenRequest, InitiateAuthRequest, RespondToAuthChallengeRequest};
use idp_crypto::srp::client::{PasswordVerifierChallenge, SrpClient};
use rand::rngs::OsRng;
use serde_json::{json, Value};

const PASSWORD: &str = "Corr3ct-Horse-Battery";
const USERS: usize = 16;
const MAX_CALLS_PER_PHASE: u64 = 1_000_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let hz: f64 = Command::new("getconf").arg("CLK_TCK").output().ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0);
    ticks / hz
}

struct Phase {
    name: &'static str,
    calls: u64,
    wall: f64,
    server_cpu: f64,
}

impl Phase {
    fn report(&self) {
        let per_call_ms = self.server_cpu * 1000.0 / self.calls.max(1) as f64;
        println!(
            "{:<34} {:>7} calls in {:>5.1} s = {:>7.1}/s wall | server CPU {:>6.2} s = {:>6.3} ms/call = {:>7.1} calls/s per core",
            self.name,
            self.calls,
            self.wall,
            self.calls as f64 / self.wall,
            self.server_cpu,
            per_call_ms,
            1000.0 / per_call_ms.max(1e-9)
        );
    }
}

/// Runs `work` on `concurrency` tasks until `secs` pass; counts successes; measures server CPU.
async fn phase<F, Fut>(name: &'static str, pid: u32, secs: u64, concurrency: u64, work: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let work = Arc::new(work);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let cpu0 = cpu_secs(pid);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency as usize {
        let (work, done, failed) = (work.clone(), done.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while Instant::now() < deadline && done.load(Ordering::Relaxed) < MAX_CALLS_PER_PHASE {
                if work(i).await {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                i += concurrency as usize;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = start.elapsed().as_secs_f64();
    let server_cpu = cpu_secs(pid) - cpu0;
    assert_eq!(failed.load(Ordering::Relaxed), 0, "{name}: some calls failed");
    Phase { name, calls: done.load(Ordering::Relaxed), wall, server_cpu }
}

fn challenge(p: &HashMap<String, String>) -> PasswordVerifierChallenge {
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    PasswordVerifierChallenge { salt_hex: get("SALT"), srp_b_hex: get("SRP_B"), secret_block_b64: get("SECRET_BLOCK"), user_id_for_srp: get("USER_ID_FOR_SRP") }
}

fn as_map(v: &Value) -> HashMap<String, String> {
    v.as_object().map(|o| o.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect()).unwrap_or_default()
}

/// One full SRP sign-in over the Cognito JSON front.
async fn srp_http(http: &reqwest::Client, endpoint: &str, cid: &str, pool_name: &str, user: &str) -> bool {
    let Ok(client) = SrpClient::new(pool_name, &mut OsRng) else { return false };
    let init = json!({"ClientId": cid, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": user, "SRP_A": client.srp_a_hex()}});
    let (status, _, body) = call(http, endpoint, "InitiateAuth", &init).await;
    if status != 200 {
        return false;
    }
    let ch = challenge(&as_map(&body["ChallengeParameters"]));
    let ts = idp_crypto::srp::format_timestamp(now_secs());
    let Ok(c) = client.respond(PASSWORD, &ch, &ts) else { return false };
    let resp = json!({"ClientId": cid, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
        "USERNAME": c.username, "PASSWORD_CLAIM_SECRET_BLOCK": c.secret_block_b64, "TIMESTAMP": c.timestamp, "PASSWORD_CLAIM_SIGNATURE": c.signature_b64}});
    let (status, _, body) = call(http, endpoint, "RespondToAuthChallenge", &resp).await;
    status == 200 && body["AuthenticationResult"]["AccessToken"].is_string()
}

/// The same sign-in over gRPC.
async fn srp_grpc(mut users: UsersClient<tonic::transport::Channel>, cid: &str, pool_name: &str, user: &str) -> bool {
    let Ok(client) = SrpClient::new(pool_name, &mut OsRng) else { return false };
    let params = HashMap::from([("USERNAME".to_string(), user.to_string()), ("SRP_A".to_string(), client.srp_a_hex().to_string())]);
    let Ok(r) = users
        .initiate_auth(InitiateAuthRequest { client_id: cid.into(), auth_flow: "USER_SRP_AUTH".into(), auth_parameters: params, ..Default::default() })
        .await
    else {
        return false;
    };
    let ch = challenge(&r.into_inner().challenge_parameters);
    let ts = idp_crypto::srp::format_timestamp(now_secs());
    let Ok(c) = client.respond(PASSWORD, &ch, &ts) else { return false };
    let answer = HashMap::from([
        ("USERNAME".to_string(), c.username),
        ("PASSWORD_CLAIM_SECRET_BLOCK".to_string(), c.secret_block_b64),
        ("TIMESTAMP".to_string(), c.timestamp),
        ("PASSWORD_CLAIM_SIGNATURE".to_string(), c.signature_b64),
    ]);
    let req = RespondToAuthChallengeRequest {
        client_id: cid.into(),
        challenge_name: "PASSWORD_VERIFIER".into(),
        challenge_responses: answer,
        session: String::new(),
        ..Default::default()
    };
    matches!(users.respond_to_auth_challenge(req).await, Ok(r) if r.get_ref().authentication_result.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --release -p idp --test cognito_bench -- --ignored --nocapture"]
async fn srp_sign_in_throughput_and_adapter_overhead() {
    let secs = env_u64("IDP_BENCH_SECS", 10).min(120);
    let concurrency = env_u64("IDP_BENCH_CONCURRENCY", 8).clamp(1, 64);
    let dir = tempfile::tempdir().expect("tempdir");
    let (grpc, http_port) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_idp"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}"), "--http-addr", &format!("127.0.0.1:{http_port}")])
        .args(["--argon2-m-kib", "1024", "--argon2-t", "1"])
        .env("IDP_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn idp");
    let server = Proc(child);
    let pid = server.0.id();
    let endpoint = format!("http://127.0.0.1:{http_port}/");
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("http client");
    let ready_by = Instant::now() + Duration::from_secs(30);
    while !matches!(http.get(format!("http://127.0.0.1:{http_port}/readyz")).send().await, Ok(r) if r.status().is_success()) {
        assert!(Instant::now() < ready_by, "server not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Pool (email auto-verified, so sign-ups are confirmed from the outbox), client, users.
    let (key_id, secret) = cognito_support::admin_keys(dir.path());
    let (pool_id, cid) = bench_pool(grpc, &key_id, &secret).await.expect("pool and client");
    let pool_name = idp_crypto::srp::pool_name(&pool_id).to_string();
    let names: Vec<String> = (0..USERS).map(|i| format!("bench{i}")).collect();
    for n in &names {
        let (s, _, b) = call(
            &http,
            &endpoint,
            "SignUp",
            &json!({"ClientId": cid, "Username": n, "Password": PASSWORD, "UserAttributes": [{"Name": "email", "Value": format!("{n}@example.com")}]}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    for n in &names {
        let code = outbox_code(dir.path(), n).await;
        let (s, _, b) = call(&http, &endpoint, "ConfirmSignUp", &json!({"ClientId": cid, "Username": n, "ConfirmationCode": code})).await;
        assert_eq!(s, 200, "{b}");
    }
    let names = Arc::new(names);
    println!("\nbench: {secs} s per phase, {concurrency} concurrent clients, {USERS} users, server pid {pid} (CPU from /proc)");

    // SRP sign-in over HTTP (Cognito JSON) and over gRPC.
    let (h, e, c, p, n) = (http.clone(), endpoint.clone(), cid.clone(), pool_name.clone(), names.clone());
    let srp_json = phase("SRP sign-in, Cognito JSON (HTTP)", pid, secs, concurrency, move |i| {
        let (h, e, c, p, n) = (h.clone(), e.clone(), c.clone(), p.clone(), n.clone());
        async move { srp_http(&h, &e, &c, &p, &n[i % n.len()]).await }
    })
    .await;
    let users = UsersClient::connect(format!("http://127.0.0.1:{grpc}")).await.expect("users");
    let (u, c, p, n) = (users.clone(), cid.clone(), pool_name.clone(), names.clone());
    let srp_grpc_phase = phase("SRP sign-in, gRPC", pid, secs, concurrency, move |i| {
        let (u, c, p, n) = (u.clone(), c.clone(), p.clone(), n.clone());
        async move { srp_grpc(u, &c, &p, &n[i % n.len()]).await }
    })
    .await;

    // A cheap call (GetUser: one RS256 verify + one read) to expose the adapter's own cost.
    let (s, _, b) = call(
        &http,
        &endpoint,
        "InitiateAuth",
        &json!({"ClientId": cid, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "bench0", "PASSWORD": PASSWORD}}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let token = b["AuthenticationResult"]["AccessToken"].as_str().expect("token").to_string();
    let (h, e, t) = (http.clone(), endpoint.clone(), token.clone());
    let get_json = phase("GetUser, Cognito JSON (HTTP)", pid, secs, concurrency, move |_| {
        let (h, e, t) = (h.clone(), e.clone(), t.clone());
        async move { call(&h, &e, "GetUser", &json!({"AccessToken": t})).await.0 == 200 }
    })
    .await;
    let (u, t) = (users.clone(), token.clone());
    let get_grpc = phase("GetUser, gRPC", pid, secs, concurrency, move |_| {
        let (mut u, t) = (u.clone(), t.clone());
        async move { u.get_user(AccessTokenRequest { access_token: t }).await.is_ok() }
    })
    .await;

    println!();
    for p in [&srp_json, &srp_grpc_phase, &get_json, &get_grpc] {
        p.report();
    }
    let per = |p: &Phase| p.server_cpu * 1e6 / p.calls.max(1) as f64;
    println!(
        "adapter overhead (server CPU per call, JSON − gRPC): SRP sign-in {:+.0} µs ({:+.1}%), GetUser {:+.0} µs ({:+.1}%)",
        per(&srp_json) - per(&srp_grpc_phase),
        (per(&srp_json) / per(&srp_grpc_phase) - 1.0) * 100.0,
        per(&get_json) - per(&get_grpc),
        (per(&get_json) / per(&get_grpc) - 1.0) * 100.0
    );
    assert!(srp_json.calls > 0 && srp_grpc_phase.calls > 0 && get_json.calls > 0 && get_grpc.calls > 0);
}

/// A pool auto-verifying email (so sign-ups can be confirmed from the outbox) and its client.
async fn bench_pool(grpc: u16, key_id: &str, secret: &str) -> Option<(String, String)> {
    let mut admin = idp_api::pb::admin_client::AdminClient::connect(format!("http://127.0.0.1:{grpc}")).await.ok()?;
    let auth = |r: &mut tonic::metadata::MetadataMap| {
        r.insert("x-idp-access-key-id", key_id.parse().ok()?);
        r.insert("x-idp-secret-access-key", secret.parse().ok()?);
        Some(())
    };
    let mut r = tonic::Request::new(idp_api::pb::CreateUserPoolRequest {
        pool_name: "bench".into(),
        auto_verified_attributes: vec!["email".into()],
        ..Default::default()
    });
    auth(r.metadata_mut())?;
    let pool = admin.create_user_pool(r).await.ok()?.into_inner();
    let mut r = tonic::Request::new(idp_api::pb::CreateUserPoolClientRequest {
        user_pool_id: pool.id.clone(),
        client_name: "bench".into(),
        explicit_auth_flows: vec!["ALLOW_USER_SRP_AUTH".into(), "ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
        ..Default::default()
    });
    auth(r.metadata_mut())?;
    let client = admin.create_user_pool_client(r).await.ok()?.into_inner();
    Some((pool.id, client.client_id))
}

async fn outbox_code(dir: &std::path::Path, username: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(dir.join("outbox.jsonl")).unwrap_or_default();
        let found = text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).rfind(|m| m["username"] == username && m["kind"] == "SIGN_UP");
        if let Some(m) = found {
            return m["code"].as_str().unwrap_or_default().to_string();
        }
        assert!(Instant::now() < deadline, "no code for {username}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
