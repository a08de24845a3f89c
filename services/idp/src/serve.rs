//! `idp serve`: open the embedded log and store, load or create the deployment secrets, start
//! the projector, the message dispatcher, and the gRPC and HTTP listeners.

use std::path::Path;
use std::sync::Arc;

use idp_app::credentials::AdminCredentials;
use idp_app::messages::{Cursor, DevOutbox, Dispatcher, MessageSender, Router, SmtpSender, WebhookSms};
use idp_app::{App, AppConfig, Secrets};
use idp_crypto::codes::CodeKeys;
use idp_crypto::password::PasswordHasher;
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog};
use idp_projector::{Projector, Verdicts};
use idp_store::{ProjectionStore, RedbStore};
use idp_tokens::{KeyRing, RefreshKey, TokenIssuer};
use rand::rngs::OsRng;

use crate::config::{self, ServeArgs, Settings};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens the embedded log and store under the data dir.
pub fn open_embedded(data_dir: &Path, partitions: u32) -> Result<(Arc<dyn EventLog>, Arc<dyn ProjectionStore>), BoxError> {
    std::fs::create_dir_all(data_dir)?;
    let log = EmbeddedLog::open(&data_dir.join("log"), partitions, EmbeddedOptions::default())?;
    let store = RedbStore::open(&data_dir.join("projections.redb"))?;
    Ok((log, store))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Loads the deployment secrets from `<data-dir>/keys`, creating them on first start.
pub fn secrets(data_dir: &Path, issuer_base: &str) -> Result<Secrets, BoxError> {
    let keys = data_dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700))?;
    }
    let ring = KeyRing::load_or_create(&keys, now_secs())?;
    Ok(Secrets {
        issuer: TokenIssuer::new(ring, issuer_base.to_string()),
        refresh: RefreshKey::load_or_create(&keys)?,
        codes: CodeKeys::load_or_generate(&keys, &mut OsRng)?,
    })
}

fn sender(s: &Settings) -> Result<Arc<dyn MessageSender>, BoxError> {
    let dev: Arc<dyn MessageSender> = Arc::new(DevOutbox::open(s.data_dir.join("outbox.jsonl"))?);
    let email: Arc<dyn MessageSender> = match &s.smtp_url {
        Some(url) => Arc::new(SmtpSender::new(url, &s.smtp_from)?),
        None => dev.clone(),
    };
    let sms: Arc<dyn MessageSender> = match &s.sms_webhook {
        Some(url) => Arc::new(WebhookSms::new(url)),
        None => dev,
    };
    Ok(Arc::new(Router { email, sms }))
}

pub async fn run(args: ServeArgs) -> Result<(), BoxError> {
    let s = config::resolve(&args)?;
    let (log, store) = open_embedded(&s.data_dir, s.partitions)?;
    let secrets = secrets(&s.data_dir, &s.issuer_base)?;
    let (credentials, created) = AdminCredentials::load_or_create(&s.data_dir)?;
    let admin_path = s.data_dir.join("admin.json");
    if created {
        tracing::info!(path = %admin_path.display(), "created the admin credential");
    } else {
        tracing::info!(path = %admin_path.display(), "admin credential");
    }
    let verdicts = Arc::new(Verdicts::new(log.partition_count()));
    Projector::new(log.clone(), store.clone(), verdicts.clone()).spawn();
    let config = AppConfig { region: s.region.clone(), ..AppConfig::default() };
    let app = App::new(log.clone(), store.clone(), verdicts, secrets, PasswordHasher::new(s.argon2), config)?;
    crate::triggers::enable(&app, &s.data_dir).await?;
    Dispatcher {
        store: store.clone(),
        keys: app.secrets(),
        sender: sender(&s)?,
        cursor: Arc::new(Cursor::open(s.data_dir.join("dispatch-cursor.json"))?),
        partitions: (0..log.partition_count()).collect(),
    }
    .spawn();

    let grpc = idp_api::server::bind(s.grpc_addr).await?;
    let http = idp_api::server::bind(s.http_addr).await?;
    tracing::info!(grpc = %grpc.local_addr()?, http = %http.local_addr()?, data_dir = %s.data_dir.display(), issuer_base = %s.issuer_base, "idp serving");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let http_router = idp_api::http::router(app.clone(), credentials.clone());
    let grpc_task = tokio::spawn(idp_api::server::serve_grpc(grpc, app.clone(), credentials, stop(rx.clone())));
    let http_task = tokio::spawn(idp_api::server::serve_http(http, http_router, stop(rx)));
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("shutting down"),
        r = sigterm() => { r?; tracing::info!("SIGTERM: shutting down") }
    }
    let _ = tx.send(true);
    let _ = grpc_task.await;
    let _ = http_task.await;
    Ok(())
}

async fn sigterm() -> Result<(), BoxError> {
    let mut s = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    s.recv().await;
    Ok(())
}
