//! Token throughput: issue an ID+access pair, verify an access token, seal/open a refresh token.
//! Run: `cargo bench -p idp-tokens --bench tokens`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idp_tokens::{AccessClaims, IdClaims, KeyRing, RefreshClaims, RefreshKey, TokenIssuer};

const NOW: i64 = 1_700_000_000;
const POOL: &str = "us-east-1_AbCdEfGhI";

fn claims(issuer: &TokenIssuer) -> (IdClaims, AccessClaims) {
    let id = IdClaims {
        sub: "7d8ca528-4931-4254-9273-ea5ee853f271".into(),
        aud: "abcdefghijklmnopqrstuvwxyz".into(),
        iss: issuer.issuer_for(POOL),
        username: "ada".into(),
        groups: vec!["admins".into()],
        auth_time: NOW,
        iat: NOW,
        exp: NOW + 3600,
        jti: idp_tokens::new_jti(),
        origin_jti: idp_tokens::new_jti(),
        event_id: Some(idp_tokens::new_jti()),
        email: Some("ada@example.com".into()),
        email_verified: Some(true),
        ..Default::default()
    };
    let access = AccessClaims {
        sub: id.sub.clone(),
        iss: id.iss.clone(),
        client_id: id.aud.clone(),
        username: "ada".into(),
        groups: id.groups.clone(),
        auth_time: NOW,
        iat: NOW,
        exp: NOW + 3600,
        jti: idp_tokens::new_jti(),
        origin_jti: id.origin_jti.clone(),
        event_id: id.event_id.clone(),
        ..Default::default()
    };
    (id, access)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ring = KeyRing::load_or_create(dir.path(), NOW).expect("key ring");
    let issuer = TokenIssuer::new(ring, "http://localhost:9229");
    let (id, access) = claims(&issuer);

    let mut g = c.benchmark_group("tokens");
    g.throughput(Throughput::Elements(1));
    g.bench_function("issue_id_access_pair", |b| {
        b.iter(|| {
            let i = issuer.issue_id(black_box(&id)).expect("issue id");
            let a = issuer.issue_access(black_box(&access)).expect("issue access");
            (i, a)
        })
    });
    let token = issuer.issue_access(&access).expect("issue access");
    g.bench_function("verify_access", |b| b.iter(|| issuer.verify_access(black_box(&token), POOL, NOW).expect("verify")));
    let id_token = issuer.issue_id(&id).expect("issue id");
    g.bench_function("verify_id", |b| b.iter(|| issuer.verify_id(black_box(&id_token), POOL, NOW).expect("verify")));

    let key = RefreshKey::from_bytes(&[7u8; 32]);
    let rc = RefreshClaims {
        pool_id: POOL.into(),
        client_id: access.client_id.clone(),
        username: "ada".into(),
        sub: access.sub.clone(),
        origin_jti: access.origin_jti.clone(),
        epoch: 0,
        auth_time: NOW,
        iat: NOW,
        exp: NOW + 30 * 86400,
    };
    let mut rng = rand::rngs::OsRng;
    g.bench_function("refresh_seal", |b| b.iter(|| key.seal(black_box(&rc), &mut rng).expect("seal")));
    let sealed = key.seal(&rc, &mut rng).expect("seal");
    g.bench_function("refresh_open", |b| b.iter(|| key.open(black_box(&sealed), NOW).expect("open")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
