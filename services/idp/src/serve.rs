//! `idp serve`: open the log (embedded, or a Kafka topic shared with other processes) and the
//! local projection store, load or create the deployment secrets, start the projector, the
//! message dispatcher, the post-* trigger runner, and the gRPC and HTTP listeners.

use std::path::Path;
use std::sync::Arc;

use idp_app::messages::{DevOutbox, Dispatcher, MessageSender, Router, SmtpSender, WebhookSms};
use idp_app::triggers::post::{PostTriggerRunner, RetryPolicy};
use idp_app::{App, AppConfig, Secrets};
use idp_crypto::codes::CodeKeys;
use idp_crypto::password::PasswordHasher;
use idp_eventlog::{EmbeddedLog, EmbeddedOptions, EventLog};
use idp_projector::{Projector, Verdicts};
use idp_store::{FjallStore, ProjectionStore, RedbStore};
use idp_tokens::{KeyRing, RefreshKey, TokenIssuer};
use rand::rngs::OsRng;

use crate::cluster;
use crate::config::{self, LogBackend, ServeArgs, Settings, StoreKind};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The log and the local projection store a process runs on.
pub type Backend = (Arc<dyn EventLog>, Arc<dyn ProjectionStore>);

/// Opens the embedded log and store under the data dir.
pub fn open_embedded(data_dir: &Path, store: StoreKind, partitions: u32, fsync: bool) -> Result<Backend, BoxError> {
    let store = open_store(data_dir, store)?;
    let log = EmbeddedLog::open(&data_dir.join("log"), partitions, EmbeddedOptions { fsync, ..EmbeddedOptions::default() })?;
    Ok((log, store))
}

/// Opens the projection store under the data dir (each process of a Kafka deployment has its
/// own: a full replica).
pub fn open_store(data_dir: &Path, kind: StoreKind) -> Result<Arc<dyn ProjectionStore>, BoxError> {
    std::fs::create_dir_all(data_dir)?;
    // Lazily durable: the log is the source of truth and offsets commit with their rows, so a
    // crash only costs a short replay, and the write path waits for one fsync (the log's).
    let every = std::time::Duration::from_millis(250);
    let (path, other) = match kind {
        StoreKind::Fjall => (data_dir.join("projections"), data_dir.join("projections.redb")),
        StoreKind::Redb => (data_dir.join("projections.redb"), data_dir.join("projections")),
    };
    if other.exists() {
        tracing::warn!(
            unused = %other.display(),
            "a projection store of the other kind is in the data dir and is not used: delete it to reclaim its space (a new store fills from the log; `idp rebuild` fills it fastest)"
        );
    }
    Ok(match kind {
        StoreKind::Fjall => FjallStore::open_lazy(&path, every)?,
        StoreKind::Redb => RedbStore::open_lazy(&path, every)?,
    })
}

/// Opens the configured log (embedded or Kafka) and the local projection store.
pub async fn open_backend(log: &LogBackend, data_dir: &Path, store: StoreKind, partitions: u32, fsync: bool) -> Result<Backend, BoxError> {
    match log {
        LogBackend::Embedded => open_embedded(data_dir, store, partitions, fsync),
        LogBackend::Kafka(k) => {
            let store = open_store(data_dir, store)?;
            Ok((cluster::open_kafka(k, partitions).await?, store))
        }
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Loads the deployment secrets from the keys directory (`--keys-dir`, default
/// `<data-dir>/keys`), creating them on first start (race-free: processes may share it).
pub fn secrets(keys: &Path, issuer_base: &str) -> Result<Secrets, BoxError> {
    std::fs::create_dir_all(keys)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(keys, std::fs::Permissions::from_mode(0o700))?;
    }
    let ring = KeyRing::load_or_create(keys, now_secs())?;
    Ok(Secrets {
        issuer: TokenIssuer::new(ring, issuer_base.to_string()),
        refresh: RefreshKey::load_or_create(keys)?,
        codes: CodeKeys::load_or_generate(keys, &mut OsRng)?,
    })
}

fn sender(s: &Settings) -> Result<Arc<dyn MessageSender>, BoxError> {
    let dev: Arc<dyn MessageSender> = Arc::new(DevOutbox::open(s.outbox_file.clone())?);
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
    if args.unsafe_no_fsync {
        tracing::warn!("--unsafe-no-fsync: acknowledged writes are not durable (benchmarks only)");
    }
    let (log, store) = open_backend(&s.log, &s.data_dir, s.store, s.partitions, !args.unsafe_no_fsync).await?;
    let secrets = secrets(&s.keys_dir, &s.issuer_base)?;
    let credentials = cluster::admin_credentials(s.admin_credentials.as_deref(), &s.data_dir)?;
    crate::layout::ensure(&log, &store).await?;
    let verdicts = Arc::new(Verdicts::new(log.partition_count()));
    Projector::new(log.clone(), store.clone(), verdicts.clone()).spawn();
    let config = AppConfig {
        region: s.region.clone(),
        source_limit: s.source_limit,
        trigger_max_component_bytes: s.triggers.max_component_bytes,
        ..AppConfig::default()
    };
    let app = App::new(log.clone(), store.clone(), verdicts, secrets, PasswordHasher::new(s.argon2), config)?;
    crate::triggers::enable(&app, &s.data_dir, &s.triggers).await?;
    crate::keys::spawn_maintenance(&app, &s);
    PostTriggerRunner {
        app: app.clone(),
        progress: cluster::trigger_progress(&s.log, &s.data_dir, log.partition_count())?,
        retry: RetryPolicy { max_attempts: s.triggers.retry_attempts, ..RetryPolicy::default() },
    }
    .spawn();
    Dispatcher {
        store: store.clone(),
        keys: app.secrets(),
        sender: crate::triggers::custom_messages(&app, sender(&s)?),
        progress: cluster::dispatch_progress(&s.log, &s.data_dir, log.partition_count())?,
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
