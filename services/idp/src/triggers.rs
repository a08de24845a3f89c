//! Triggers in the binary: the runtime `idp serve` runs them with (components stored under
//! `<data-dir>/triggers/<sha256>.wasm`), the CustomMessage wrapper of the message sender, and
//! `idp trigger deploy|list|remove` for humans.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Subcommand;
use idp_api::pb::{DeployTriggerRequest, ListTriggersRequest, RemoveTriggerRequest};
use idp_app::messages::MessageSender;
use idp_app::triggers::messages::CustomMessages;
use idp_app::App;
use idp_triggers::{LogLine, LogSink, Runtime, RuntimeConfig};

use crate::admin::{connect, signed};
use crate::config::{ConnArgs, TriggerSettings};
use crate::serve::BoxError;

#[derive(Subcommand)]
pub enum TriggerCmd {
    /// Deploy (or replace) a pool's trigger: `idp trigger deploy <pool> <kind> <file.wasm>`.
    Deploy {
        #[command(flatten)]
        conn: ConnArgs,
        pool: String,
        /// PreSignUp, PostConfirmation, PreAuthentication, PostAuthentication,
        /// PreTokenGeneration, CustomMessage, UserMigration, ... (or pre-sign-up, ...).
        kind: String,
        /// The component (.wasm) implementing the kind's world of idp:triggers@1.0.0.
        file: PathBuf,
        /// Configuration handed to the trigger (`config()`), inline.
        #[arg(long, conflicts_with = "config_file")]
        config: Option<String>,
        /// Configuration handed to the trigger, read from a file.
        #[arg(long)]
        config_file: Option<PathBuf>,
        /// Call deadline in milliseconds (default 5000, at most 30000).
        #[arg(long)]
        timeout_ms: Option<u64>,
        /// Memory cap in MiB (default 64, at most 256).
        #[arg(long)]
        memory_mib: Option<u64>,
    },
    /// List a pool's triggers.
    List {
        #[command(flatten)]
        conn: ConnArgs,
        pool: String,
    },
    /// Remove a pool's trigger of one kind.
    Remove {
        #[command(flatten)]
        conn: ConnArgs,
        pool: String,
        kind: String,
    },
}

/// Creates the trigger runtime for `idp serve` and hands it to the app, then compiles the
/// deployed triggers in the background.
pub async fn enable(app: &Arc<App>, data_dir: &Path, settings: &TriggerSettings) -> Result<(), BoxError> {
    let runtime = Runtime::new(RuntimeConfig {
        blob_dir: Some(data_dir.join("triggers")),
        max_memory_bytes: idp_domain::pool::MAX_TRIGGER_MEMORY_BYTES,
        max_concurrent_calls: settings.max_concurrent_calls,
        tick: settings.epoch_tick,
        fuel: settings.fuel,
        log_sink: match &settings.log_file {
            Some(path) => Some(Arc::new(FileLogSink::open(path)?) as Arc<dyn LogSink>),
            None => None,
        },
    })?;
    app.set_triggers(runtime)?;
    let app = app.clone();
    tokio::spawn(async move {
        match app.warm_triggers().await {
            Ok(n) if n > 0 => tracing::info!(triggers = n, "deployed triggers compiled"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "compiling deployed triggers"),
        }
    });
    Ok(())
}

/// `--trigger-log-file`: every trigger log line appended as one JSON object.
struct FileLogSink {
    file: std::sync::Mutex<std::fs::File>,
}

impl FileLogSink {
    fn open(path: &Path) -> std::io::Result<FileLogSink> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FileLogSink { file: std::sync::Mutex::new(file) })
    }
}

impl LogSink for FileLogSink {
    fn line(&self, line: &LogLine) {
        use std::io::Write as _;
        let level = format!("{:?}", line.level).to_ascii_uppercase();
        let value = serde_json::json!({
            "pool": line.pool_id, "kind": line.kind.name(), "version": line.version, "level": level, "message": line.message,
        });
        if let Ok(mut f) = self.file.lock() {
            // One write per line, so concurrent processes appending to one file do not interleave.
            let _ = f.write_all(format!("{value}\n").as_bytes());
        }
    }
}

/// The message sender with the pools' CustomMessage triggers in front.
pub fn custom_messages(app: &Arc<App>, inner: Arc<dyn MessageSender>) -> Arc<dyn MessageSender> {
    Arc::new(CustomMessages { app: app.clone(), inner })
}

fn print_trigger(t: &idp_api::pb::Trigger) {
    let value = serde_json::json!({
        "Kind": t.kind, "Sha256": t.sha256, "SizeBytes": t.size_bytes, "Version": t.version,
        "TimeoutMs": t.timeout_ms, "MemoryLimitBytes": t.memory_limit_bytes, "DeployedAtMs": t.deployed_at_ms,
    });
    println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
}

pub async fn command(cmd: TriggerCmd) -> Result<(), BoxError> {
    match cmd {
        TriggerCmd::Deploy { conn, pool, kind, file, config, config_file, timeout_ms, memory_mib } => {
            let component = std::fs::read(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
            let config = match config_file {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?,
                None => config.unwrap_or_default(),
            };
            let (mut c, creds) = connect(&conn).await?;
            let req = DeployTriggerRequest {
                user_pool_id: pool,
                kind,
                component,
                config,
                timeout_ms: timeout_ms.unwrap_or(0),
                memory_limit_bytes: memory_mib.unwrap_or(0) << 20,
            };
            let t = c.deploy_trigger(signed(req, &creds)?).await?.into_inner();
            print_trigger(&t);
        }
        TriggerCmd::List { conn, pool } => {
            let (mut c, creds) = connect(&conn).await?;
            for t in c.list_triggers(signed(ListTriggersRequest { user_pool_id: pool }, &creds)?).await?.into_inner().triggers {
                println!("{}\tv{}\t{}\t{} bytes", t.kind, t.version, t.sha256, t.size_bytes);
            }
        }
        TriggerCmd::Remove { conn, pool, kind } => {
            let (mut c, creds) = connect(&conn).await?;
            c.remove_trigger(signed(RemoveTriggerRequest { user_pool_id: pool, kind }, &creds)?).await?;
        }
    }
    Ok(())
}
