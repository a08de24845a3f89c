//! Codes delivered by real senders: `idp serve --smtp-url … --sms-webhook …` against a real SMTP
//! server (aiosmtpd, `tests/clients/smtp_sink.py`, installed by `.ci/clients.sh`) and a real
//! HTTP server (axum, in this test). Each server fails its first delivery attempts (SMTP `451`,
//! HTTP `429` then `503`): the message is retried, not lost, and arrives exactly once; a
//! recipient refused for good (SMTP `550`) is dropped after one attempt.

mod common;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use idp_api::pb::*;

/// The venv's python with aiosmtpd (`IDP_TEST_PYTHON`); under CI a missing one fails loudly.
fn python() -> Option<String> {
    match std::env::var("IDP_TEST_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(p),
        _ if std::env::var_os("CI").is_some() => panic!("IDP_TEST_PYTHON not set: .ci/run must run .ci/clients.sh (aiosmtpd)"),
        _ => {
            eprintln!("SKIPPED: IDP_TEST_PYTHON is not set (run `eval \"$(bash .ci/clients.sh)\"` first)");
            None
        }
    }
}

/// aiosmtpd on a free port; every accepted message is a JSON file in `out`.
struct SmtpSink {
    child: Child,
    port: u16,
    out: tempfile::TempDir,
}

impl SmtpSink {
    fn start(python: &str, fail_first: u32) -> SmtpSink {
        let out = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(&script)
            .args(["--port", &port.to_string(), "--fail-first", &fail_first.to_string()])
            .arg("--out")
            .arg(out.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {python} {}: {e}", script.display()));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        }
        assert_eq!(line.trim(), "READY", "the SMTP sink did not start (is aiosmtpd installed in the venv?)");
        SmtpSink { child, port, out }
    }

    fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.out.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().filter_map(|p| std::fs::read(p).ok()).filter_map(|b| serde_json::from_slice(&b).ok()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the SMS webhook received.
#[derive(Clone, Debug)]
struct Hit {
    idempotency_key: String,
    body: serde_json::Value,
    status: u16,
}

/// An HTTP server that answers the statuses of `failures` to its first requests, then 200.
struct Webhook {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Webhook {
    async fn start(failures: &'static [u16]) -> Webhook {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::new(Mutex::new(Vec::new()));
        let state = hits.clone();
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let hits = state.clone();
                async move {
                    let mut hits = hits.lock().expect("hits");
                    let status = failures.get(hits.len()).copied().unwrap_or(200);
                    hits.push(Hit {
                        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string(),
                        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                        status,
                    });
                    axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind webhook");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook { port, hits, task }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pool_with_client(server: &Server, name: &str, auto_verify: &[&str]) -> (String, String) {
    let mut admin = server.admin().await;
    let pool = admin
        .client
        .create_user_pool(admin.req(CreateUserPoolRequest {
            pool_name: name.into(),
            auto_verified_attributes: auto_verify.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }))
        .await
        .expect("create pool")
        .into_inner();
    let client = admin
        .client
        .create_user_pool_client(admin.req(CreateUserPoolClientRequest {
            user_pool_id: pool.id.clone(),
            client_name: "app".into(),
            explicit_auth_flows: vec!["ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            ..Default::default()
        }))
        .await
        .expect("create client")
        .into_inner();
    (pool.id, client.client_id)
}

async fn sign_up(server: &Server, cid: &str, username: &str, email: &str, phone: &str) {
    server
        .users()
        .await
        .sign_up(SignUpRequest {
            client_id: cid.into(),
            username: username.into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", email), ("phone_number", phone)]),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("sign-up {username}: {s:?}"));
}

async fn confirm(server: &Server, cid: &str, username: &str, code: &str) {
    server
        .users()
        .await
        .confirm_sign_up(ConfirmSignUpRequest { client_id: cid.into(), username: username.into(), confirmation_code: code.into(), ..Default::default() })
        .await
        .unwrap_or_else(|s| panic!("confirm {username} with the delivered code: {s:?}"));
}

/// The 6-digit code in a message text.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap_or_default().to_string()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_arrive_over_smtp_and_the_sms_webhook_once_despite_a_failed_first_attempt() {
    let Some(python) = python() else { return };
    let sink = SmtpSink::start(&python, 1);
    // 429 (rate limited) then 503: both ask for a retry.
    let hook = Webhook::start(&[429, 503]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp_url = format!("smtp://127.0.0.1:{}", sink.port);
    let webhook_url = format!("http://127.0.0.1:{}/sms", hook.port);
    let mut flags = vec!["--smtp-url", &smtp_url, "--smtp-from", "idp@example.com", "--sms-webhook", &webhook_url];
    flags.extend_from_slice(Server::FAST_HASH);
    let server = Server::start(dir.path(), &flags).await;
    let (_mail_pool, mail_cid) = pool_with_client(&server, "mail", &["email"]).await;
    let (_sms_pool, sms_cid) = pool_with_client(&server, "sms", &["email", "phone_number"]).await;

    // A recipient the SMTP server refuses for good (550): dropped after one attempt, not retried
    // forever (which would stall its partition).
    sign_up(&server, &mail_cid, "nobody", "nobody@example.com", "+15550109999").await;
    // Three users per pool: email-verified pool → email; phone-verified pool → SMS (Cognito sends
    // the sign-up code by SMS when the phone number is auto-verified).
    for k in 0..3 {
        sign_up(&server, &mail_cid, &format!("mail{k}"), &format!("mail{k}@example.com"), &format!("+1555010000{k}")).await;
        sign_up(&server, &sms_cid, &format!("sms{k}"), &format!("sms{k}@example.com"), &format!("+1555020000{k}")).await;
    }
    wait_for("3 emails", || sink.messages().len() >= 3).await;
    wait_for("3 delivered SMS", || hook.hits().iter().filter(|h| h.status == 200).count() >= 3).await;
    // Nothing more arrives: the first attempts failed, their retries are the only copies.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mails = sink.messages();
    assert_eq!(mails.len(), 3, "exactly one email per sign-up: {mails:#?}");
    let mut ids: Vec<&str> = mails.iter().filter_map(|m| m["message_id"].as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "distinct Message-IDs (the event ids): {mails:#?}");
    for (k, m) in mails.iter().enumerate() {
        let to = m["rcpt_tos"][0].as_str().unwrap_or_default().to_string();
        assert!(to.starts_with("mail") && to.ends_with("@example.com"), "email {k} to {to}");
        assert_eq!(m["mail_from"], "idp@example.com");
        assert_eq!(m["subject"], "Your verification code");
        assert_eq!(code_in(m["body"].as_str().unwrap_or_default()).len(), 6, "a code in {m}");
    }
    let rejected = std::fs::read_to_string(sink.out.path().join("rejected-000001.txt")).expect("the first SMTP attempt was refused");
    assert!(ids.contains(&rejected.as_str()), "the refused email {rejected} was retried and delivered: {ids:?}");
    let mail0 = mails.iter().find(|m| m["rcpt_tos"][0] == "mail0@example.com").expect("mail0's email");
    confirm(&server, &mail_cid, "mail0", &code_in(mail0["body"].as_str().unwrap_or_default())).await;

    let refused =
        std::fs::read_dir(sink.out.path()).map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("refused-rcpt-")).count()).unwrap_or(0);
    assert_eq!(refused, 1, "a 550 recipient is tried once, then dropped");

    let hits = hook.hits();
    assert_eq!(hits.len(), 5, "two failed attempts (429, 503) + three deliveries: {hits:#?}");
    assert_eq!((hits[0].status, hits[1].status), (429, 503));
    let delivered: Vec<&Hit> = hits.iter().filter(|h| h.status == 200).collect();
    let mut keys: Vec<&str> = delivered.iter().map(|h| h.idempotency_key.as_str()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "no SMS delivered twice: {hits:#?}");
    assert!(keys.contains(&hits[0].idempotency_key.as_str()), "the failed SMS was retried (same idempotency key)");
    for h in &delivered {
        assert_eq!(h.body["event_id"], h.idempotency_key.as_str());
        let to = h.body["to"].as_str().unwrap_or_default();
        assert!(to.starts_with("+15550200"), "SMS to {to}");
        assert_eq!(code_in(h.body["text"].as_str().unwrap_or_default()).len(), 6, "a code in {:?}", h.body);
    }
    let sms0 = delivered.iter().find(|h| h.body["to"] == "+15550200000").expect("sms0's SMS");
    confirm(&server, &sms_cid, "sms0", &code_in(sms0.body["text"].as_str().unwrap_or_default())).await;

    // With real senders configured, no code is written to the dev outbox.
    assert!(server.messages().is_empty(), "codes leaked to the dev outbox: {:?}", server.messages().len());
}
