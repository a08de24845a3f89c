//! Support for the Cognito wire tests: finding the real client tools (installed by
//! `.ci/clients.sh`), running their scripts with a bounded time, raw JSON 1.1 calls.
//!
//! Tools: `IDP_TEST_PYTHON` (default: `${IDP_VENV:-/var/cache/idp-venv}/bin/python`) with
//! boto3 + PyJWT, and `node` with `IDP_TEST_NODE_MODULES` (default:
//! `tests/clients/node_modules`) holding amazon-cognito-identity-js and jose. When a tool is
//! missing the test fails if `CI` is set, and otherwise prints a skip notice and passes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// The directory of the client scripts.
pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("clients")
}

fn runs(cmd: &Path, args: &[&str]) -> bool {
    std::process::Command::new(cmd).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
}

/// The Python with boto3 and PyJWT, if there is one.
pub fn python() -> Result<PathBuf, String> {
    let venv = std::env::var("IDP_VENV").unwrap_or_else(|_| "/var/cache/idp-venv".into());
    let python = std::env::var_os("IDP_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| Path::new(&venv).join("bin").join("python"));
    if runs(&python, &["-c", "import boto3, jwt, cryptography"]) {
        Ok(python)
    } else {
        Err(format!("{} cannot import boto3 + PyJWT[crypto] (run: eval \"$(bash .ci/clients.sh)\")", python.display()))
    }
}

/// `node` and the node_modules holding amazon-cognito-identity-js and jose, if there are.
pub fn node() -> Result<(PathBuf, PathBuf), String> {
    let node = PathBuf::from("node");
    if !runs(&node, &["--version"]) {
        return Err("node is not on PATH (run: eval \"$(bash .ci/clients.sh)\")".into());
    }
    let modules = std::env::var_os("IDP_TEST_NODE_MODULES").map(PathBuf::from).unwrap_or_else(|| clients_dir().join("node_modules"));
    for package in ["amazon-cognito-identity-js", "jose"] {
        if !modules.join(package).join("package.json").is_file() {
            return Err(format!("{} has no {package} (run: eval \"$(bash .ci/clients.sh)\")", modules.display()));
        }
    }
    Ok((node, modules))
}

/// A found tool, or `None` after a skip notice; with `CI` set a missing tool fails the test.
pub fn require<T>(tool: Result<T, String>, test: &str) -> Option<T> {
    match tool {
        Ok(t) => Some(t),
        Err(why) if std::env::var_os("CI").is_some() => panic!("{test}: required client tool missing in CI: {why}"),
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// Runs a client script (at most 4 minutes) and returns the JSON object on its last stdout line.
/// Panics with the script's output when it fails.
pub async fn run_script(program: &Path, script: &str, envs: &[(&str, String)]) -> serde_json::Value {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(clients_dir().join(script))
        .current_dir(clients_dir())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .kill_on_drop(true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within 240 s"))
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", out.status);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{script}: last line is not JSON ({e}):\n{stdout}\n{stderr}"))
}

/// The admin key pair of a data dir.
pub fn admin_keys(dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(dir.join("admin.json")).expect("admin.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("admin.json is JSON");
    (v["access_key_id"].as_str().unwrap_or_default().to_string(), v["secret_access_key"].as_str().unwrap_or_default().to_string())
}

/// The names of the checks a script reported.
pub fn checks(v: &serde_json::Value) -> Vec<String> {
    v["checks"].as_array().map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Asserts that a script reported every `expected` check (by prefix).
pub fn assert_checks(v: &serde_json::Value, expected: &[&str]) {
    let got = checks(v);
    for e in expected {
        assert!(got.iter().any(|c| c.starts_with(e)), "check {e:?} missing from {got:#?}");
    }
}

/// A raw Cognito JSON 1.1 call; returns (status, headers, body).
pub async fn call(http: &reqwest::Client, endpoint: &str, op: &str, body: &serde_json::Value) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let r = http
        .post(endpoint)
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{op}"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

/// The `__type` of an error answer (empty for a success).
pub fn error_type(body: &serde_json::Value) -> String {
    body["__type"].as_str().unwrap_or("").to_string()
}
