//! Benchmarks: Argon2id hash rate (default OWASP params, one core), SRP server work per
//! sign-in, and one-time code issue/verify/open.
//!
//! Run: `cargo bench -p idp-crypto --bench crypto`. By default the measurement is the
//! benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), i.e. the work per operation on one
//! core, which stays meaningful on a machine busy with other jobs; set `BENCH_WALL_CLOCK=1` for
//! criterion's usual wall-clock time. Each benchmark also reports a rate (operations/s on one
//! core) as its throughput.

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput};
use idp_crypto::codes::CodeKeys;
use idp_crypto::password::PasswordHasher;
use idp_crypto::secret_hash::{secret_hash, verify_secret_hash};
use idp_crypto::srp::{self, client::SrpClient};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn bench_password<M: Measurement>(c: &mut Criterion<M>) {
    let mut rng = StdRng::seed_from_u64(1);
    let hasher = PasswordHasher::default();
    let phc = hasher.hash("Correct-Horse-1", &mut rng).unwrap_or_default();
    let mut g = c.benchmark_group("argon2id_default");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("hash", |b| b.iter(|| hasher.hash(black_box("Correct-Horse-1"), &mut rng)));
    g.bench_function("verify", |b| b.iter(|| hasher.verify(black_box(&phc), black_box("Correct-Horse-1"))));
    g.finish();
}

fn bench_srp<M: Measurement>(c: &mut Criterion<M>) {
    let mut rng = StdRng::seed_from_u64(2);
    let pool = "AbCdEfGh9";
    let user = "6b4a1f2e-9c3d-4e5f-8a7b-1c2d3e4f5a6b";
    let password = "Correct-Horse-1";
    let stored = srp::make_verifier_random(pool, user, password, &mut rng);
    let client = match SrpClient::new(pool, &mut rng) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("client setup failed: {e}");
            return;
        }
    };
    let block = [7u8; 32];
    let now = 1_795_690_599;
    let timestamp = srp::format_timestamp(now);

    let mut g = c.benchmark_group("srp");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    g.bench_function("server_challenge", |b| b.iter(|| srp::server_challenge_random(black_box(&stored.verifier_hex), &mut rng)));
    let Ok(chal) = srp::server_challenge_random(&stored.verifier_hex, &mut rng) else {
        return;
    };
    g.bench_function("server_session_key", |b| {
        b.iter(|| srp::server_session_key(black_box(client.srp_a_hex()), &chal.srp_b_hex, &chal.b_secret, &stored.verifier_hex))
    });
    // Everything the server does for one USER_SRP_AUTH sign-in: InitiateAuth (fresh b, B) and
    // RespondToAuthChallenge (key, expected signature, timestamp check, constant-time compare).
    let challenge = srp::client::PasswordVerifierChallenge {
        salt_hex: stored.salt_hex.clone(),
        srp_b_hex: chal.srp_b_hex.clone(),
        secret_block_b64: base64_std(&block),
        user_id_for_srp: user.to_owned(),
    };
    let signature = client.respond(password, &challenge, &timestamp).map(|r| r.signature_b64).unwrap_or_default();
    g.bench_function("server_per_sign_in", |b| {
        b.iter(|| {
            let ch = srp::server_challenge_random(&stored.verifier_hex, &mut rng)?;
            let key = srp::server_session_key(client.srp_a_hex(), &ch.srp_b_hex, &ch.b_secret, &stored.verifier_hex)?;
            let expected = srp::claim_signature(&key, pool, user, &block, &timestamp);
            let ok = srp::timestamp_within(&timestamp, now, 300) && srp::verify_claim(&expected, black_box(&signature));
            Ok::<bool, idp_crypto::CryptoError>(ok)
        })
    });
    g.bench_function("client_per_sign_in", |b| {
        b.iter(|| {
            let cl = SrpClient::new(pool, &mut rng)?;
            cl.respond(password, &challenge, &timestamp)
        })
    });
    g.bench_function("make_verifier", |b| b.iter(|| srp::make_verifier_random(pool, user, black_box(password), &mut rng)));
    g.finish();
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bench_codes<M: Measurement>(c: &mut Criterion<M>) {
    let mut rng = StdRng::seed_from_u64(3);
    let keys = CodeKeys::generate(&mut rng);
    let Ok(issued) = keys.issue(&mut rng) else {
        return;
    };
    let mut g = c.benchmark_group("codes");
    g.throughput(Throughput::Elements(1));
    g.bench_function("issue", |b| b.iter(|| keys.issue(&mut rng)));
    g.bench_function("verify", |b| b.iter(|| keys.verify(&issued.salt, &issued.hash, black_box(&issued.code))));
    g.bench_function("open", |b| b.iter(|| keys.open(black_box(&issued.sealed))));
    g.finish();
    let mut g = c.benchmark_group("secret_hash");
    let h = secret_hash("secret", "alice", "client");
    g.bench_function("verify", |b| b.iter(|| verify_secret_hash("secret", black_box("alice"), "client", &h)));
    g.finish();
}

/// CPU time consumed by the calling thread.
struct ThreadCpuTime;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the valid timespec we pass; the clock id is a constant
    // supported by Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e3, "µs cpu")
        } else if typical < 1e9 {
            (1e6, "ms cpu")
        } else {
            (1e9, "s cpu")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(&self, _typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        let per_iter = match throughput {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => *n as f64,
        };
        values.iter_mut().for_each(|v| *v = per_iter * 1e9 / v.max(1.0));
        "ops/s/core"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn run_all<M: Measurement>(c: &mut Criterion<M>) {
    bench_password(c);
    bench_srp(c);
    bench_codes(c);
}

fn main() {
    if std::env::var_os("BENCH_WALL_CLOCK").is_some() {
        let mut c = Criterion::default().configure_from_args();
        run_all(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().with_measurement(ThreadCpuTime).configure_from_args();
        run_all(&mut c);
        c.final_summary();
    }
}
