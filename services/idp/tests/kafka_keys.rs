//! Signing-key rotation across processes: two `idp serve --log kafka` processes share
//! `--keys-dir`; `idp keys rotate` adds a key; both pick it up at their next reload, sign new
//! tokens with it, still verify tokens signed before the rotation, and publish both keys.

mod common;
mod kafka_common;

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use idp_api::pb::*;
use kafka_common::*;

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("JWT header base64");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JWT header JSON");
    v["kid"].as_str().unwrap_or_default().to_string()
}

async fn jwks_kids(server: &Server, pool: &str) -> Vec<String> {
    let v: serde_json::Value = reqwest::get(server.http(&format!("/{pool}/.well-known/jwks.json"))).await.expect("jwks").json().await.expect("jwks json");
    v["keys"].as_array().map(|a| a.iter().filter_map(|k| k["kid"].as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// (access token, id token) from a password sign-in on `server`.
async fn sign_in(server: &Server, cid: &str, username: &str) -> (String, String) {
    let r = server
        .users()
        .await
        .initiate_auth(InitiateAuthRequest {
            client_id: cid.into(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", username), ("PASSWORD", PASSWORD)]),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("sign-in on {}: {s:?}", server.grpc))
        .into_inner()
        .authentication_result
        .expect("tokens");
    (r.access_token, r.id_token)
}

async fn get_user(server: &Server, access: &str) -> Result<String, String> {
    server
        .users()
        .await
        .get_user(AccessTokenRequest { access_token: access.into() })
        .await
        .map(|r| r.into_inner().username)
        .map_err(|s| format!("{}: {}", error_name(&s), s.message()))
}

fn idp_keys(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_idp")).arg("keys").args(args).env("IDP_LOG", "warn").output().expect("run idp keys");
    assert!(out.status.success(), "idp keys {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("idp keys {args:?} output: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_reaches_every_process_and_old_tokens_keep_verifying() {
    let Some(brokers) = broker() else { return };
    let mut flags: Vec<&str> = Server::FAST_HASH.to_vec();
    flags.extend_from_slice(&["--keys-reload-secs", "1"]);
    let cluster = Cluster::start_with(&brokers, "idp-keys", 2, &flags).await;
    let keys_dir = cluster.root.path().join("shared").join("keys");
    let keys_dir = keys_dir.display().to_string();
    let (a, b) = (&cluster.servers[0], &cluster.servers[1]);
    let (pool, cid) = pool_and_client(a, false).await;

    a.users()
        .await
        .sign_up(SignUpRequest {
            client_id: cid.clone(),
            username: "alice".into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", "alice@example.com")]),
            ..Default::default()
        })
        .await
        .expect("sign-up");
    let code = cluster.code_for("alice", "SIGN_UP", Duration::from_secs(90)).await;
    b.users()
        .await
        .confirm_sign_up(ConfirmSignUpRequest { client_id: cid.clone(), username: "alice".into(), confirmation_code: code, ..Default::default() })
        .await
        .expect("confirm");

    // Before: one key, shared.
    let (old_access, old_id) = sign_in(a, &cid, "alice").await;
    let old_kid = kid_of(&old_access);
    assert_eq!(kid_of(&old_id), old_kid);
    assert_eq!(jwks_kids(a, &pool).await, vec![old_kid.clone()]);
    assert_eq!(jwks_kids(b, &pool).await, vec![old_kid.clone()]);
    let listed = idp_keys(&["list", "--keys-dir", &keys_dir]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // Rotate with the CLI, while both processes run.
    let rotated = idp_keys(&["rotate", "--keys-dir", &keys_dir]);
    let new_kid = rotated["active_kid"].as_str().unwrap_or_default().to_string();
    assert_eq!(rotated["retired_kid"], old_kid.as_str());
    assert_ne!(new_kid, old_kid);
    let t0 = Instant::now();
    for (name, s) in [("a", a), ("b", b)] {
        loop {
            if jwks_kids(s, &pool).await == vec![new_kid.clone(), old_kid.clone()] {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(15), "process {name} did not pick up the new key");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eprintln!("both processes publish the new key {:?} after the rotation", t0.elapsed());

    // New tokens from either process carry the new kid; old and new tokens verify on both.
    let (new_access_a, new_id_a) = sign_in(a, &cid, "alice").await;
    let (new_access_b, _) = sign_in(b, &cid, "alice").await;
    assert_eq!(kid_of(&new_access_a), new_kid);
    assert_eq!(kid_of(&new_id_a), new_kid);
    assert_eq!(kid_of(&new_access_b), new_kid);
    for s in [a, b] {
        for token in [&old_access, &new_access_a, &new_access_b] {
            assert_eq!(get_user(s, token).await.as_deref(), Ok("alice"), "on {} with kid {}", s.grpc, kid_of(token));
        }
    }

    // The manifest: the new key active, the old one retired and published for 25 h 5 min.
    let listed = idp_keys(&["list", "--keys-dir", &keys_dir]);
    let keys = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 2, "{listed}");
    let old = keys.iter().find(|k| k["kid"] == old_kid.as_str()).expect("old key listed");
    let new = keys.iter().find(|k| k["kid"] == new_kid.as_str()).expect("new key listed");
    assert_eq!(new["active"], true);
    assert_eq!(old["active"], false);
    let grace = old["not_after"].as_i64().unwrap_or(0) - old["retired_at"].as_i64().unwrap_or(0);
    assert_eq!(grace, 90_300, "retired key kept for max token validity + max reload interval + skew");
    for entry in std::fs::read_dir(&keys_dir).expect("keys dir").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".pem") || name == "keys.json" {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }
}
