//! Message delivery for codes: senders and the outbox dispatcher.
//!
//! The projector writes an outbox row (holding the *sealed* code) atomically with the state
//! change that issued the code; the rows are part of the projection (replay rebuilds them
//! byte for byte). The [`Dispatcher`] walks them in order: it opens the code, renders the text,
//! hands it to a [`MessageSender`] and only then advances its [`Cursor`] (a file of its own).
//! A crash between sending and advancing re-sends, so delivery is at-least-once; every sender
//! de-duplicates by event id (the dev outbox remembers the ids it wrote; SMTP uses the event id
//! as Message-ID; the SMS webhook receives it as an idempotency key). Requests never wait for
//! delivery.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idp_crypto::codes::CodeKeys;
use idp_domain::pb::OutboxItem;
use idp_projector::rows;
use idp_store::{ProjectionStore, Table};
use prost::Message as _;

/// A rendered message, ready to deliver.
#[derive(Clone, serde::Serialize)]
pub struct OutgoingMessage {
    pub event_id: String,
    pub pool_id: String,
    pub username: String,
    /// EMAIL or SMS.
    pub channel: String,
    pub destination: String,
    /// SIGN_UP, FORGOT_PASSWORD, VERIFY_ATTRIBUTE or ADMIN_CREATE_USER (an invitation: `code`
    /// is then the temporary password).
    pub kind: String,
    pub code: String,
    pub subject: String,
    pub text: String,
    /// The CustomMessage trigger source the code was issued for (empty: derive it from
    /// `kind`; the pool had no CustomMessage trigger when the code was issued). For the
    /// trigger only: not part of the dev outbox's line format.
    #[serde(skip)]
    pub trigger_source: String,
    /// The issuing request's ClientMetadata, for the CustomMessage trigger only (as above).
    #[serde(skip)]
    pub client_metadata: Vec<(String, String)>,
}

impl std::fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("event_id", &self.event_id)
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .field("code", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("delivery failed (will retry): {0}")]
    Retry(String),
    #[error("cannot deliver (dropped): {0}")]
    Permanent(String),
}

#[async_trait::async_trait]
pub trait MessageSender: Send + Sync + 'static {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError>;
}

/// Renders the default texts (a custom-message trigger replaces these later).
/// Where a pool's message template puts the code (Cognito's placeholder).
pub const CODE_PLACEHOLDER: &str = "{####}";

pub fn render(kind: &str, code: &str) -> (String, String) {
    render_for(kind, code, "")
}

/// [`render`], with the username an invitation names.
pub fn render_for(kind: &str, code: &str, username: &str) -> (String, String) {
    match kind {
        "ADMIN_CREATE_USER" => ("Your temporary password".into(), format!("Your username is {username} and temporary password is {code}.")),
        "SIGN_UP" => ("Your verification code".into(), format!("Your confirmation code is {code}")),
        "FORGOT_PASSWORD" => ("Your password reset code".into(), format!("Your password reset code is {code}")),
        "MFA" => ("Your authentication code".into(), format!("Your authentication code is {code}")),
        _ => ("Your verification code".into(), format!("Your verification code is {code}")),
    }
}

/// Dev default: one JSON object per line in `<data-dir>/outbox.jsonl` (or `--outbox-file`). The
/// only place a code is ever written in clear text, and only in dev mode.
///
/// Several processes may share one file: every send takes an exclusive lock on the file, reads
/// the lines other processes appended since this one last looked, and appends only an event id
/// no one wrote yet, so each message appears once whatever process sends it.
pub struct DevOutbox {
    path: PathBuf,
    /// Event ids in the file, and how many bytes of it were read.
    seen: Mutex<(HashSet<String>, u64)>,
}

impl DevOutbox {
    pub fn open(path: PathBuf) -> std::io::Result<DevOutbox> {
        let outbox = DevOutbox { path, seen: Mutex::new((HashSet::new(), 0)) };
        if let Ok(mut f) = std::fs::File::open(&outbox.path) {
            if let Ok(mut seen) = outbox.seen.lock() {
                read_new_ids(&mut f, &mut seen)?;
            }
        }
        Ok(outbox)
    }
}

/// Adds the event ids of the lines past `seen.1` (complete lines only) and moves `seen.1` on.
fn read_new_ids(f: &mut std::fs::File, seen: &mut (HashSet<String>, u64)) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _};
    f.seek(std::io::SeekFrom::Start(seen.1))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    let complete = bytes.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    for line in bytes[..complete].split(|b| *b == b'\n') {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) {
            if let Some(id) = v.get("event_id").and_then(|v| v.as_str()) {
                seen.0.insert(id.to_string());
            }
        }
    }
    seen.1 += complete as u64;
    Ok(())
}

#[async_trait::async_trait]
impl MessageSender for DevOutbox {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        let mut seen = self.seen.lock().map_err(|_| SendError::Retry("outbox lock poisoned".into()))?;
        if seen.0.contains(&m.event_id) {
            return Ok(());
        }
        let line = serde_json::to_string(m).map_err(|e| SendError::Permanent(e.to_string()))?;
        let io = |e: std::io::Error| SendError::Retry(format!("{}: {e}", self.path.display()));
        let mut f = std::fs::OpenOptions::new().create(true).read(true).append(true).open(&self.path).map_err(io)?;
        // Exclusive across processes sharing the file; released when `f` is closed.
        f.lock().map_err(io)?;
        read_new_ids(&mut f, &mut seen).map_err(io)?;
        if seen.0.contains(&m.event_id) {
            return Ok(());
        }
        writeln!(f, "{line}").and_then(|_| f.sync_data()).map_err(io)?;
        seen.0.insert(m.event_id.clone());
        seen.1 += line.len() as u64 + 1;
        Ok(())
    }
}

/// Email over SMTP (lettre). The event id is the Message-ID, so receivers drop re-sends.
pub struct SmtpSender {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpSender {
    /// `url` like `smtp://user:pass@host:587` or `smtps://...` (lettre's URL syntax).
    pub fn new(url: &str, from: &str) -> Result<SmtpSender, SendError> {
        let transport =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).map_err(|e| SendError::Permanent(format!("SMTP URL: {e}")))?.build();
        let from = from.parse().map_err(|e| SendError::Permanent(format!("SMTP from address: {e}")))?;
        Ok(SmtpSender { transport, from })
    }
}

#[async_trait::async_trait]
impl MessageSender for SmtpSender {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        use lettre::AsyncTransport;
        let to = m.destination.parse().map_err(|e| SendError::Permanent(format!("recipient: {e}")))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .message_id(Some(format!("<{}@idp>", m.event_id)))
            .subject(m.subject.clone())
            .body(m.text.clone())
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.transport.send(email).await.map(|_| ()).map_err(smtp_error)
    }
}

/// A 5xx reply (mailbox unknown, message refused) will not change on retry: drop the message
/// instead of stalling the partition behind it. Everything else (4xx, connection, TLS, timeout)
/// is retried.
fn smtp_error(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::Permanent(format!("SMTP server refused the message: {e}"))
    } else {
        SendError::Retry(format!("SMTP: {e}"))
    }
}

/// SMS through an HTTP webhook: POST {"to","text","event_id"}; 2xx = delivered.
pub struct WebhookSms {
    url: String,
    client: reqwest::Client,
}

impl WebhookSms {
    pub fn new(url: &str) -> WebhookSms {
        WebhookSms { url: url.to_string(), client: reqwest::Client::new() }
    }
}

#[async_trait::async_trait]
impl MessageSender for WebhookSms {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        let body = serde_json::json!({"to": m.destination, "text": m.text, "event_id": m.event_id});
        let resp = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", &m.event_id)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| SendError::Retry(e.to_string()))?;
        webhook_outcome(resp.status())
    }
}

/// 2xx = delivered. 408 (timeout), 425 (too early) and 429 (rate limited) are the client errors
/// that ask for a retry; other 4xx refuse this message for good; 5xx and the rest are retried.
fn webhook_outcome(status: reqwest::StatusCode) -> Result<(), SendError> {
    match status.as_u16() {
        200..=299 => Ok(()),
        408 | 425 | 429 => Err(SendError::Retry(format!("webhook answered {status}"))),
        400..=499 => Err(SendError::Permanent(format!("webhook answered {status}"))),
        _ => Err(SendError::Retry(format!("webhook answered {status}"))),
    }
}

/// Routes by channel.
pub struct Router {
    pub email: Arc<dyn MessageSender>,
    pub sms: Arc<dyn MessageSender>,
}

#[async_trait::async_trait]
impl MessageSender for Router {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        if m.channel == "SMS" {
            self.sms.send(m).await
        } else {
            self.email.send(m).await
        }
    }
}

/// Which partitions this process dispatches, and where it resumes: the dispatcher's progress.
/// Embedded deployments use a [`Cursor`] file; Kafka deployments a consumer group whose committed
/// offsets are the progress (owner per partition, resumed by the next owner after a crash).
#[async_trait::async_trait]
pub trait DispatchProgress: Send + Sync + 'static {
    /// The partitions this process should dispatch now.
    fn owned(&self) -> Vec<u32>;
    /// The outbox clustering key after which `partition` resumes (`None`: from the start).
    async fn resume(&self, partition: u32) -> Result<Option<Vec<u8>>, String>;
    /// Records that every row of `partition` up to and including `ck` was handled.
    async fn save(&self, partition: u32, ck: &[u8]) -> Result<(), String>;
}

/// A [`Cursor`] over a fixed set of partitions (one process owns them all).
pub struct FileProgress {
    pub cursor: Cursor,
    pub partitions: Vec<u32>,
}

#[async_trait::async_trait]
impl DispatchProgress for FileProgress {
    fn owned(&self) -> Vec<u32> {
        self.partitions.clone()
    }

    async fn resume(&self, partition: u32) -> Result<Option<Vec<u8>>, String> {
        Ok(self.cursor.get(partition))
    }

    async fn save(&self, partition: u32, ck: &[u8]) -> Result<(), String> {
        self.cursor.set(partition, ck.to_vec()).map_err(|e| format!("saving the dispatch cursor: {e}"))
    }
}

/// Outbox clustering keys are `offset (u64 BE) ‖ event index (u32 BE)`: the log offset of a row.
pub fn outbox_offset(ck: &[u8]) -> Option<u64> {
    ck.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes)
}

/// The clustering key to scan after so that a scan starts at the rows of log offset `offset`.
pub fn outbox_resume_key(offset: u64) -> Option<Vec<u8>> {
    offset.checked_sub(1).map(|o| [o.to_be_bytes().as_slice(), u32::MAX.to_be_bytes().as_slice()].concat())
}

/// Where the dispatcher is, per partition: the clustering key of the last outbox row handled.
/// Kept in its own file, outside the projection store, so `idp rebuild` (which replays the
/// outbox rows byte for byte) never re-sends what was already delivered.
pub struct Cursor {
    path: PathBuf,
    positions: Mutex<BTreeMap<u32, Vec<u8>>>,
}

impl Cursor {
    pub fn open(path: PathBuf) -> std::io::Result<Cursor> {
        let positions = match std::fs::read(&path) {
            Ok(bytes) => {
                let map: BTreeMap<u32, String> = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
                map.into_iter().filter_map(|(p, hex)| decode_hex(&hex).map(|v| (p, v))).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Cursor { path, positions: Mutex::new(positions) })
    }

    fn get(&self, partition: u32) -> Option<Vec<u8>> {
        self.positions.lock().ok().and_then(|m| m.get(&partition).cloned())
    }

    fn set(&self, partition: u32, ck: Vec<u8>) -> std::io::Result<()> {
        let mut m = self.positions.lock().map_err(|_| std::io::Error::other("cursor lock poisoned"))?;
        m.insert(partition, ck);
        let text: BTreeMap<u32, String> = m.iter().map(|(p, v)| (*p, v.iter().map(|b| format!("{b:02x}")).collect())).collect();
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(&text).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// First and longest wait before retrying a partition whose sender failed transiently.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What one [`Dispatcher::drain`] did.
#[derive(Debug, Default)]
pub struct Drained {
    /// Clustering key of the last row handled (delivered or dropped), if any.
    pub last: Option<Vec<u8>>,
    /// The sender failed transiently: the partition should be retried later.
    pub retry: bool,
}

/// Delivers the outbox rows of the partitions [`DispatchProgress::owned`] names, in order, at
/// least once.
pub struct Dispatcher {
    pub store: Arc<dyn ProjectionStore>,
    pub keys: Arc<crate::Secrets>,
    pub sender: Arc<dyn MessageSender>,
    pub progress: Arc<dyn DispatchProgress>,
}

impl Dispatcher {
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run().await })
    }

    async fn run(self) {
        // Position per owned partition (outer None: not resumed yet). A partition that leaves the
        // owned set forgets its position and resumes from the saved progress when it comes back.
        let mut positions: BTreeMap<u32, Option<Vec<u8>>> = BTreeMap::new();
        // Partitions whose sender asked for a retry: when to try again, and the current delay.
        let mut backoff: BTreeMap<u32, (tokio::time::Instant, Duration)> = BTreeMap::new();
        loop {
            let owned = self.progress.owned();
            positions.retain(|p, _| owned.contains(p));
            backoff.retain(|p, _| owned.contains(p));
            let mut any = false;
            for &p in &owned {
                if backoff.get(&p).is_some_and(|(at, _)| tokio::time::Instant::now() < *at) {
                    continue;
                }
                let after = match positions.get(&p) {
                    Some(after) => after.clone(),
                    None => match self.progress.resume(p).await {
                        Ok(after) => {
                            tracing::info!(partition = p, "dispatching messages of this partition");
                            positions.insert(p, after.clone());
                            after
                        }
                        Err(e) => {
                            tracing::warn!(partition = p, error = %e, "cannot read the dispatch progress");
                            continue;
                        }
                    },
                };
                match self.drain(p, after).await {
                    Ok(d) => {
                        if let Some(last) = d.last {
                            any = true;
                            positions.insert(p, Some(last));
                        }
                        if d.retry {
                            // Back off on this partition only (100 ms doubling to 30 s), so a down
                            // server is not hammered and other partitions keep flowing.
                            let delay = backoff.get(&p).map_or(RETRY_FIRST, |(_, d)| (*d * 2).min(RETRY_MAX));
                            backoff.insert(p, (tokio::time::Instant::now() + delay, delay));
                        } else {
                            backoff.remove(&p);
                        }
                    }
                    Err(e) => tracing::warn!(partition = p, error = %e, "message dispatch stalled"),
                }
            }
            if !any {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Delivers up to one page of rows after `after`, saving the progress after each; stops at
    /// the first message the sender asks to retry.
    pub async fn drain(&self, partition: u32, after: Option<Vec<u8>>) -> Result<Drained, String> {
        let pk = rows::outbox_pk(partition);
        let page = self.store.scan(Table::Outbox, &pk, after.as_deref(), 64).await.map_err(|e| e.to_string())?;
        let mut out = Drained::default();
        for row in &page {
            match self.deliver(&row.value, &self.keys.codes).await {
                Ok(()) => {}
                Err(SendError::Permanent(e)) => tracing::error!(partition, error = %e, "dropping undeliverable message"),
                Err(SendError::Retry(e)) => {
                    tracing::warn!(partition, error = %e, "message delivery failed; will retry");
                    out.retry = true;
                    break;
                }
            }
            self.progress.save(partition, &row.ck).await?;
            out.last = Some(row.ck.clone());
        }
        Ok(out)
    }

    /// The pool's settings as the projection holds them now (`None` if it is gone or unreadable:
    /// the default text is sent then).
    async fn pool_settings(&self, pool_id: &str) -> Option<idp_domain::pb::PoolSettings> {
        match rows::load_state(&*self.store, &idp_domain::keys::AggregateKey::pool(pool_id)).await.ok()?? {
            idp_domain::AggregateState::Pool(p) => p.settings,
            _ => None,
        }
    }

    async fn deliver(&self, bytes: &[u8], keys: &CodeKeys) -> Result<(), SendError> {
        let item = OutboxItem::decode(bytes).map_err(|e| SendError::Permanent(format!("outbox row: {e}")))?;
        let Some(code) = item.code else { return Err(SendError::Permanent("outbox row without code".into())) };
        let plain = keys.open(&code.sealed).map_err(|e| SendError::Permanent(format!("opening code: {e}")))?;
        let (mut subject, mut text) = render_for(&code.purpose, &plain, &item.username);
        if code.purpose == idp_domain::decide::purpose::MFA {
            // The pool's own MFA message (SetUserPoolMfaConfig), read when the message goes out.
            if let Some(settings) = self.pool_settings(&item.pool_id).await {
                let (template, subject_template) = match code.channel.as_str() {
                    "SMS" => (settings.sms_mfa_message, String::new()),
                    _ => (settings.email_mfa_message, settings.email_mfa_subject),
                };
                if template.contains(CODE_PLACEHOLDER) {
                    text = template.replace(CODE_PLACEHOLDER, &plain);
                }
                if !subject_template.is_empty() {
                    subject = subject_template;
                }
            }
        }
        let message = OutgoingMessage {
            event_id: item.event_id,
            pool_id: item.pool_id,
            username: item.username,
            channel: code.channel,
            destination: code.destination,
            kind: code.purpose,
            code: plain.to_string(),
            subject,
            text,
            trigger_source: code.trigger_source,
            client_metadata: code.client_metadata.into_iter().map(|a| (a.name, a.value)).collect(),
        };
        self.sender.send(&message).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_statuses_map_to_delivered_retry_or_drop() {
        let outcome = |code: u16| webhook_outcome(reqwest::StatusCode::from_u16(code).expect("status"));
        assert!(outcome(200).is_ok() && outcome(204).is_ok());
        for code in [408, 425, 429, 500, 502, 503] {
            assert!(matches!(outcome(code), Err(SendError::Retry(_))), "{code}");
        }
        for code in [400, 401, 404, 422] {
            assert!(matches!(outcome(code), Err(SendError::Permanent(_))), "{code}");
        }
    }
}
