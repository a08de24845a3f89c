//! Benchmarks: Argon2id hash rate (default OWASP params, one core), SRP server work per
//! sign-in, and one-time code issue/verify/open.
//!
//! Run: `cargo bench -p idp-crypto --bench crypto`. Criterion reports time per iteration;
//! rates are 1 / time (e.g. 4 ms per SRP sign-in = 250 sign-ins/s/core).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use idp_crypto::codes::CodeKeys;
use idp_crypto::password::PasswordHasher;
use idp_crypto::secret_hash::{secret_hash, verify_secret_hash};
use idp_crypto::srp::{self, client::SrpClient};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn bench_password(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let hasher = PasswordHasher::default();
    let phc = hasher.hash("Correct-Horse-1", &mut rng).unwrap_or_default();
    let mut g = c.benchmark_group("argon2id_default");
    g.sample_size(20);
    g.bench_function("hash", |b| b.iter(|| hasher.hash(black_box("Correct-Horse-1"), &mut rng)));
    g.bench_function("verify", |b| b.iter(|| hasher.verify(black_box(&phc), black_box("Correct-Horse-1"))));
    g.finish();
}

fn bench_srp(c: &mut Criterion) {
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
    g.sample_size(30);
    g.bench_function("server_challenge", |b| {
        b.iter(|| srp::server_challenge_random(black_box(&stored.verifier_hex), &mut rng))
    });
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

fn bench_codes(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(3);
    let keys = CodeKeys::generate(&mut rng);
    let Ok(issued) = keys.issue(&mut rng) else {
        return;
    };
    let mut g = c.benchmark_group("codes");
    g.bench_function("issue", |b| b.iter(|| keys.issue(&mut rng)));
    g.bench_function("verify", |b| b.iter(|| keys.verify(&issued.salt, &issued.hash, black_box(&issued.code))));
    g.bench_function("open", |b| b.iter(|| keys.open(black_box(&issued.sealed))));
    g.finish();
    let mut g = c.benchmark_group("secret_hash");
    let h = secret_hash("secret", "alice", "client");
    g.bench_function("verify", |b| b.iter(|| verify_secret_hash("secret", black_box("alice"), "client", &h)));
    g.finish();
}

criterion_group!(benches, bench_password, bench_srp, bench_codes);
criterion_main!(benches);
