//! Configuration: every setting is a flag, an `IDP_*` environment variable, or a key of the
//! TOML file named by `--config` (flag > env > file > default).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

#[derive(Parser)]
#[command(name = "idp", version, about = "Self-hosted, event-sourced user pools (Cognito-compatible)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Drop every projection and replay the log.
    Rebuild(RebuildArgs),
    /// User pools (admin).
    #[command(subcommand)]
    Pool(PoolCmd),
    /// App clients (admin).
    #[command(subcommand)]
    Client(ClientCmd),
    /// Users (admin).
    #[command(subcommand)]
    Users(UsersCmd),
    /// Triggers (admin): deploy, list, remove WebAssembly trigger components.
    #[command(subcommand)]
    Trigger(crate::triggers::TriggerCmd),
    /// Token signing keys: rotate, list (works on the keys directory; running servers pick a
    /// rotation up at their next reload).
    #[command(subcommand)]
    Keys(KeysCmd),
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Add a new signing key and make it the active one. The previous key stays published (it
    /// verifies the tokens it signed) for `--retire-after-secs`, then servers prune it.
    Rotate {
        #[command(flatten)]
        dir: KeysDirArgs,
        /// How long the retired key stays published, in seconds (default 90300 = 25 h 5 min:
        /// the longest token validity, 1 day, plus the longest reload interval and clock skew).
        /// Never set it below the longest ID/access token validity of any app client plus
        /// the servers' `--keys-reload-secs`.
        #[arg(long)]
        retire_after_secs: Option<u64>,
    },
    /// List the keys (kid, created_at, retired_at, not_after, active) as JSON.
    List {
        #[command(flatten)]
        dir: KeysDirArgs,
    },
}

/// Where the keys are: `--keys-dir`, else `<data-dir>/keys` (as `idp serve` resolves them).
#[derive(Args, Clone)]
pub struct KeysDirArgs {
    /// TOML configuration file (its `keys_dir` / `data_dir` apply).
    #[arg(long, env = "IDP_CONFIG")]
    pub config: Option<PathBuf>,
    #[arg(long, env = "IDP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long, env = "IDP_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
}

impl KeysDirArgs {
    pub fn resolve(&self) -> Result<PathBuf, ConfigError> {
        let file = load_file(&self.config)?;
        if let Some(k) = self.keys_dir.clone().or(file.keys_dir) {
            return Ok(k);
        }
        let data_dir = self.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./data"));
        Ok(data_dir.join("keys"))
    }
}

#[derive(Args, Clone)]
pub struct RebuildArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Rows buffered before they are written in one sorted transaction (MiB). Bounds the
    /// memory of the row buffer, not of the arbiters' state caches. Every load past the
    /// fourth makes fjall merge the loads' files again, so a budget the log's rows fit in a
    /// few times is cheapest (1M sign-ups, ≈ 2 GB of rows: 154k events per CPU-second at
    /// 256 MiB, 228k at 1024; docs/benchmarks.md).
    #[arg(long, default_value_t = 1024)]
    pub memory_mib: usize,
}

/// Options shared by every command that opens the data directory.
#[derive(Args, Clone, Default)]
pub struct CommonArgs {
    /// TOML configuration file.
    #[arg(long, env = "IDP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (log, projections, keys, admin.json, outbox.jsonl).
    #[arg(long, env = "IDP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Partitions of the log (fixed when the log is created; with Kafka the topic must have
    /// exactly this many).
    #[arg(long, env = "IDP_PARTITIONS")]
    pub partitions: Option<u32>,
    /// Embedded projection store: `fjall` (default; LSM tree under `<data-dir>/projections/`,
    /// rebuilds ingest sorted table files) or `redb` (B-tree file `<data-dir>/projections.redb`).
    /// Each is rebuilt from the log on first start.
    #[arg(long, env = "IDP_PROJECTION_STORE", value_enum)]
    pub projection_store: Option<StoreKind>,
    #[command(flatten)]
    pub log: LogArgs,
}

/// Which embedded projection store a process keeps (`--projection-store`; ADR 0008).
#[derive(clap::ValueEnum, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Fjall,
    Redb,
}

/// Which event log backs the service (`--log embedded|kafka`).
#[derive(Args, Clone, Default)]
pub struct LogArgs {
    /// Event log: `embedded` (files under the data dir, one process) or `kafka` (several
    /// processes on one topic; each keeps a full replica of the projections).
    #[arg(long = "log", env = "IDP_LOG_BACKEND")]
    pub backend: Option<String>,
    /// Kafka bootstrap servers, `host:port[,host:port…]`.
    #[arg(long, env = "IDP_KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// Kafka topic holding the log (default `idp-events`).
    #[arg(long, env = "IDP_KAFKA_TOPIC")]
    pub topic: Option<String>,
    /// Extra librdkafka property `key=value` (repeatable; env: comma-separated), e.g. TLS/SASL
    /// settings, or `batch.num.messages=1` on tansu.
    #[arg(long = "kafka-property", env = "IDP_KAFKA_PROPERTIES", value_delimiter = ',')]
    pub kafka_properties: Vec<String>,
    /// Topic configuration `key=value` applied when the service creates the topic (repeatable;
    /// env: comma-separated). Defaults: `retention.ms=-1`, `retention.bytes=-1`,
    /// `cleanup.policy=delete`. On tansu 0.6 pass `retention.ms=9223372036854775807`: it reads
    /// -1 as "expire now" and drops the topic's records when it restarts.
    #[arg(long = "kafka-topic-config", env = "IDP_KAFKA_TOPIC_CONFIG", value_delimiter = ',')]
    pub kafka_topic_config: Vec<String>,
    /// Bound in milliseconds on one Kafka operation (connect, append, end offset; default 10000).
    #[arg(long, env = "IDP_KAFKA_TIMEOUT_MS")]
    pub kafka_timeout_ms: Option<u64>,
    /// Replication factor when the service creates the topic (default 1; use 3 in production).
    #[arg(long, env = "IDP_KAFKA_REPLICATION_FACTOR")]
    pub kafka_replication_factor: Option<i32>,
    /// One record per producer batch: required on tansu (its end offsets lag multi-record
    /// batches, which breaks catch-up across processes); leave off on Kafka.
    #[arg(long, env = "IDP_KAFKA_ONE_RECORD_PER_BATCH")]
    pub kafka_one_record_per_batch: bool,
    /// librdkafka `fetch.wait.max.ms` of the replica's readers (default 100). Kafka answers a
    /// fetch as soon as a record arrives; tansu holds it for this long, which then bounds how
    /// fast a replica sees a record (use ~5 ms there).
    #[arg(long, env = "IDP_KAFKA_FETCH_WAIT_MS")]
    pub kafka_fetch_wait_ms: Option<u64>,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[arg(long, env = "IDP_GRPC_ADDR")]
    pub grpc_addr: Option<SocketAddr>,
    #[arg(long, env = "IDP_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Base URL of token issuers (`iss` = `<base>/<poolId>`); default `http://<http-addr>`.
    #[arg(long, env = "IDP_ISSUER_BASE")]
    pub issuer_base: Option<String>,
    /// Region prefix of new pool ids.
    #[arg(long, env = "IDP_REGION")]
    pub region: Option<String>,
    /// Sign-in and code attempts allowed per second per client address (burst: twice as
    /// many; 0 = no limit). Loopback addresses are exempt unless --throttle-loopback.
    #[arg(long, env = "IDP_ATTEMPTS_PER_SOURCE")]
    pub attempts_per_source: Option<u32>,
    /// Apply --attempts-per-source to loopback addresses too.
    #[arg(long, env = "IDP_THROTTLE_LOOPBACK")]
    pub throttle_loopback: bool,
    /// Send email through SMTP (e.g. smtp://user:pass@host:587) instead of the dev outbox.
    #[arg(long, env = "IDP_SMTP_URL")]
    pub smtp_url: Option<String>,
    #[arg(long, env = "IDP_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Send SMS by POSTing to this webhook instead of the dev outbox.
    #[arg(long, env = "IDP_SMS_WEBHOOK")]
    pub sms_webhook: Option<String>,
    /// Benchmarks only: acknowledge log appends without fsync (loses acknowledged writes on
    /// power loss). Lets a benchmark separate the service's own cost from the disk's.
    #[arg(long, env = "IDP_UNSAFE_NO_FSYNC", hide = true)]
    pub unsafe_no_fsync: bool,
    /// Argon2id memory cost in KiB (OWASP: 19456).
    #[arg(long, env = "IDP_ARGON2_M_KIB")]
    pub argon2_m_kib: Option<u32>,
    #[arg(long, env = "IDP_ARGON2_T")]
    pub argon2_t: Option<u32>,
    #[arg(long, env = "IDP_ARGON2_P")]
    pub argon2_p: Option<u32>,
    /// Seconds between reloads of the signing keys from the keys directory (default 60, at most
    /// 3600): a rotation (`idp keys rotate`, or another process's `--rotate-every`) reaches every
    /// process within this interval; expired retired keys are pruned at the same time.
    #[arg(long, env = "IDP_KEYS_RELOAD_SECS")]
    pub keys_reload_secs: Option<u64>,
    /// Rotate the signing key when the active one is this old, e.g. `30d`, `12h`, `90m`, `600s`
    /// (default: never; rotate with `idp keys rotate`). Processes sharing the keys directory
    /// rotate once between them.
    #[arg(long, env = "IDP_ROTATE_EVERY")]
    pub rotate_every: Option<String>,
    #[command(flatten)]
    pub shared: SharedArgs,
    #[command(flatten)]
    pub triggers: TriggerArgs,
}

/// The trigger host's settings (engine-wide; per-trigger deadline and memory cap are set at
/// deploy time).
#[derive(Args, Clone, Default)]
pub struct TriggerArgs {
    /// Epoch tick in microseconds: how often running triggers check their deadline (default
    /// 1000; a deadline fires within about one tick).
    #[arg(long, env = "IDP_TRIGGER_EPOCH_TICK_US")]
    pub trigger_epoch_tick_us: Option<u64>,
    /// Instruction budget (wasmtime fuel) per trigger call; 0 or unset: no fuel metering,
    /// deadlines only. Metering costs some speed on every call.
    #[arg(long, env = "IDP_TRIGGER_FUEL")]
    pub trigger_fuel: Option<u64>,
    /// Trigger calls in flight at once in this process (pooling-allocator slots; default 64).
    /// A call past it fails with UnexpectedLambdaException.
    #[arg(long, env = "IDP_TRIGGER_MAX_CONCURRENT_CALLS")]
    pub trigger_max_concurrent_calls: Option<u32>,
    /// Largest component a deploy accepts, in bytes (default 4194304 = 4 MiB).
    #[arg(long, env = "IDP_TRIGGER_MAX_COMPONENT_BYTES")]
    pub trigger_max_component_bytes: Option<u64>,
    /// Calls of a post-* trigger (PostConfirmation, PostAuthentication) before giving up on
    /// one event (default 8; exponential backoff from 200 ms, at most 30 s apart).
    #[arg(long, env = "IDP_TRIGGER_RETRY_ATTEMPTS")]
    pub trigger_retry_attempts: Option<u32>,
    /// Kafka consumer group that splits post-* trigger calls between processes (default
    /// `<topic>-triggers`).
    #[arg(long, env = "IDP_TRIGGER_GROUP")]
    pub trigger_group: Option<String>,
    /// Also append every line triggers log to this file, one JSON object per line (`pool`,
    /// `kind`, `version`, `level`, `message`): for developing and testing triggers.
    #[arg(long, env = "IDP_TRIGGER_LOG_FILE")]
    pub trigger_log_file: Option<PathBuf>,
}

/// Deployment-wide secrets and side-effect settings that several processes share.
#[derive(Args, Clone, Default)]
pub struct SharedArgs {
    /// Directory of the token signing keys, refresh key and code keys (default
    /// `<data-dir>/keys`). Every process of a deployment must use the same keys.
    #[arg(long, env = "IDP_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,
    /// JSON file `{"access_key_id","secret_access_key"}` holding the admin credential (default
    /// `<data-dir>/admin.json`, created on first start). Or set both env variables below.
    #[arg(long, env = "IDP_ADMIN_CREDENTIALS")]
    pub admin_credentials: Option<PathBuf>,
    /// The dev mailbox file (default `<data-dir>/outbox.jsonl`); processes may share one file,
    /// messages are de-duplicated by event id across them.
    #[arg(long, env = "IDP_OUTBOX_FILE")]
    pub outbox_file: Option<PathBuf>,
    /// Kafka consumer group that splits message dispatching between processes (default
    /// `<topic>-dispatch`).
    #[arg(long, env = "IDP_DISPATCH_GROUP")]
    pub dispatch_group: Option<String>,
}

#[derive(Subcommand)]
pub enum PoolCmd {
    /// Create a user pool.
    Create {
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long)]
        name: String,
        /// Attributes to verify by code (email, phone_number).
        #[arg(long = "auto-verify")]
        auto_verify: Vec<String>,
    },
    /// List user pools.
    List {
        #[command(flatten)]
        conn: ConnArgs,
    },
}

#[derive(Subcommand)]
pub enum ClientCmd {
    /// Create an app client.
    Create {
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long)]
        pool: String,
        #[arg(long)]
        name: String,
        /// Generate a client secret.
        #[arg(long)]
        secret: bool,
        /// Allowed auth flows (default: password, SRP and refresh).
        #[arg(long = "flow")]
        flows: Vec<String>,
    },
    /// List a pool's app clients.
    List {
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long)]
        pool: String,
    },
}

#[derive(Subcommand)]
pub enum UsersCmd {
    /// List a pool's users (username, status, enabled, sub, email).
    List {
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long)]
        pool: String,
        /// Only users matching a Cognito ListUsers filter, e.g. `email ^= "alice@"` or
        /// `cognito:user_status = "CONFIRMED"`.
        #[arg(long, default_value = "")]
        filter: String,
    },
}

#[derive(Args, Clone)]
pub struct ConnArgs {
    #[arg(long, env = "IDP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[arg(long, env = "IDP_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,
}

/// The TOML file: the same keys as the flags, snake_case.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub partitions: Option<u32>,
    pub projection_store: Option<StoreKind>,
    pub grpc_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub issuer_base: Option<String>,
    pub region: Option<String>,
    pub attempts_per_source: Option<u32>,
    pub throttle_loopback: Option<bool>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub sms_webhook: Option<String>,
    pub argon2_m_kib: Option<u32>,
    pub argon2_t: Option<u32>,
    pub argon2_p: Option<u32>,
    pub keys_reload_secs: Option<u64>,
    pub rotate_every: Option<String>,
    pub log: Option<String>,
    pub kafka_brokers: Option<String>,
    pub kafka_topic: Option<String>,
    pub kafka_properties: Option<Vec<String>>,
    pub kafka_topic_config: Option<Vec<String>>,
    pub kafka_timeout_ms: Option<u64>,
    pub kafka_replication_factor: Option<i32>,
    pub kafka_one_record_per_batch: Option<bool>,
    pub kafka_fetch_wait_ms: Option<u64>,
    pub keys_dir: Option<PathBuf>,
    pub admin_credentials: Option<PathBuf>,
    pub outbox_file: Option<PathBuf>,
    pub dispatch_group: Option<String>,
    pub trigger_epoch_tick_us: Option<u64>,
    pub trigger_fuel: Option<u64>,
    pub trigger_max_concurrent_calls: Option<u32>,
    pub trigger_max_component_bytes: Option<u64>,
    pub trigger_retry_attempts: Option<u32>,
    pub trigger_group: Option<String>,
    pub trigger_log_file: Option<PathBuf>,
}

/// The resolved settings (no `Debug`: the SMTP URL may hold a password).
#[derive(Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub partitions: u32,
    pub store: StoreKind,
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub issuer_base: String,
    pub region: String,
    pub source_limit: idp_app::throttle::SourceLimit,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub sms_webhook: Option<String>,
    pub argon2: idp_crypto::password::Argon2Params,
    /// How often the signing keys are reloaded (and expired ones pruned).
    pub keys_reload: std::time::Duration,
    /// Automatic rotation age in seconds (`None`: only `idp keys rotate` rotates).
    pub rotate_every: Option<u64>,
    pub log: LogBackend,
    pub keys_dir: PathBuf,
    pub admin_credentials: Option<PathBuf>,
    pub outbox_file: PathBuf,
    pub triggers: TriggerSettings,
}

/// The trigger host's resolved settings.
#[derive(Clone, Debug)]
pub struct TriggerSettings {
    pub epoch_tick: std::time::Duration,
    pub fuel: Option<u64>,
    pub max_concurrent_calls: u32,
    pub max_component_bytes: u64,
    pub retry_attempts: u32,
    pub log_file: Option<PathBuf>,
}

pub const DEFAULT_MAX_COMPONENT_BYTES: u64 = 4 << 20;

fn resolve_triggers(a: &TriggerArgs, file: &FileConfig) -> Result<TriggerSettings, ConfigError> {
    let tick_us = a.trigger_epoch_tick_us.or(file.trigger_epoch_tick_us).unwrap_or(1000);
    if !(100..=1_000_000).contains(&tick_us) {
        return Err(ConfigError::Invalid("--trigger-epoch-tick-us must be between 100 and 1000000".into()));
    }
    let calls = a.trigger_max_concurrent_calls.or(file.trigger_max_concurrent_calls).unwrap_or(64);
    if !(1..=10_000).contains(&calls) {
        return Err(ConfigError::Invalid("--trigger-max-concurrent-calls must be between 1 and 10000".into()));
    }
    let size = a.trigger_max_component_bytes.or(file.trigger_max_component_bytes).unwrap_or(DEFAULT_MAX_COMPONENT_BYTES);
    if !(1024..=(256 << 20)).contains(&size) {
        return Err(ConfigError::Invalid("--trigger-max-component-bytes must be between 1024 and 268435456".into()));
    }
    Ok(TriggerSettings {
        epoch_tick: std::time::Duration::from_micros(tick_us),
        fuel: a.trigger_fuel.or(file.trigger_fuel).filter(|f| *f > 0),
        max_concurrent_calls: calls,
        max_component_bytes: size,
        retry_attempts: a.trigger_retry_attempts.or(file.trigger_retry_attempts).unwrap_or(8).max(1),
        log_file: a.trigger_log_file.clone().or(file.trigger_log_file.clone()),
    })
}

/// The event log the service runs on.
#[derive(Clone, Debug)]
pub enum LogBackend {
    Embedded,
    Kafka(KafkaSettings),
}

#[derive(Clone, Debug)]
pub struct KafkaSettings {
    pub brokers: String,
    pub topic: String,
    pub properties: Vec<(String, String)>,
    /// Topic configuration for topic creation (`--kafka-topic-config`).
    pub topic_config: Vec<(String, String)>,
    pub timeout: std::time::Duration,
    pub replication_factor: i32,
    pub one_record_per_batch: bool,
    pub fetch_wait: std::time::Duration,
    pub dispatch_group: String,
    /// Consumer group of the post-* trigger runner (`<topic>-triggers` by default).
    pub trigger_group: String,
}

/// `key=value` items of a repeatable flag (blank items ignored).
fn key_values(flag: &str, raw: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for p in raw.iter().filter(|p| !p.trim().is_empty()) {
        let (k, v) = p.split_once('=').ok_or_else(|| ConfigError::Invalid(format!("{flag} {p:?}: expected key=value")))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}

/// Resolves `--log` and the Kafka settings (flag > env > file > default).
pub fn resolve_log(args: &CommonArgs, file: &FileConfig, dispatch_group: Option<String>) -> Result<LogBackend, ConfigError> {
    let a = &args.log;
    let backend = a.backend.clone().or(file.log.clone()).unwrap_or_else(|| "embedded".into());
    match backend.as_str() {
        "embedded" => Ok(LogBackend::Embedded),
        "kafka" => {
            let brokers = a.brokers.clone().or(file.kafka_brokers.clone()).filter(|b| !b.trim().is_empty());
            let brokers = brokers.ok_or_else(|| ConfigError::Invalid("--log kafka needs --brokers (IDP_KAFKA_BROKERS)".into()))?;
            let topic = a.topic.clone().or(file.kafka_topic.clone()).unwrap_or_else(|| "idp-events".into());
            let raw = if a.kafka_properties.is_empty() { file.kafka_properties.clone().unwrap_or_default() } else { a.kafka_properties.clone() };
            let properties = key_values("--kafka-property", &raw)?;
            let raw = if a.kafka_topic_config.is_empty() { file.kafka_topic_config.clone().unwrap_or_default() } else { a.kafka_topic_config.clone() };
            let topic_config = key_values("--kafka-topic-config", &raw)?;
            let ms = a.kafka_timeout_ms.or(file.kafka_timeout_ms).unwrap_or(10_000).max(1);
            let dispatch_group = dispatch_group.unwrap_or_else(|| format!("{topic}-dispatch"));
            let trigger_group = format!("{topic}-triggers");
            Ok(LogBackend::Kafka(KafkaSettings {
                brokers,
                topic,
                properties,
                topic_config,
                timeout: std::time::Duration::from_millis(ms),
                replication_factor: a.kafka_replication_factor.or(file.kafka_replication_factor).unwrap_or(1),
                one_record_per_batch: a.kafka_one_record_per_batch || file.kafka_one_record_per_batch.unwrap_or(false),
                fetch_wait: std::time::Duration::from_millis(a.kafka_fetch_wait_ms.or(file.kafka_fetch_wait_ms).unwrap_or(100)),
                trigger_group,
                dispatch_group,
            }))
        }
        other => Err(ConfigError::Invalid(format!("--log must be embedded or kafka, not {other:?}"))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

pub fn load_file(path: &Option<PathBuf>) -> Result<FileConfig, ConfigError> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })
}

pub const DEFAULT_PARTITIONS: u32 = 8;

/// `90`, `90s`, `15m`, `12h`, `30d` → seconds (at least 1).
pub fn parse_duration_secs(text: &str) -> Result<u64, ConfigError> {
    let t = text.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(ConfigError::Invalid(format!("duration {text:?}: expected a number with s, m, h or d"))),
    };
    let n: u64 = digits.parse().map_err(|_| ConfigError::Invalid(format!("duration {text:?}: expected a number with s, m, h or d")))?;
    match n.checked_mul(scale) {
        Some(secs) if secs > 0 => Ok(secs),
        _ => Err(ConfigError::Invalid(format!("duration {text:?} is out of range"))),
    }
}

/// Data dir, partitions and projection store: the settings of every command that opens the
/// data directory.
pub fn resolve_common(args: &CommonArgs, file: &FileConfig) -> (PathBuf, u32, StoreKind) {
    let data_dir = args.data_dir.clone().or(file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("./data"));
    let partitions = args.partitions.or(file.partitions).unwrap_or(DEFAULT_PARTITIONS);
    (data_dir, partitions, args.projection_store.or(file.projection_store).unwrap_or_default())
}

pub fn resolve(args: &ServeArgs) -> Result<Settings, ConfigError> {
    let file = load_file(&args.common.config)?;
    let (data_dir, partitions, store) = resolve_common(&args.common, &file);
    if partitions == 0 || partitions > 1024 {
        return Err(ConfigError::Invalid("partitions must be between 1 and 1024".into()));
    }
    let default_grpc: SocketAddr = ([127, 0, 0, 1], 50051).into();
    let default_http: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let http_addr = args.http_addr.or(file.http_addr).unwrap_or(default_http);
    let defaults = idp_crypto::password::Argon2Params::default();
    let reload = args.keys_reload_secs.or(file.keys_reload_secs).unwrap_or(60);
    if reload == 0 || reload > idp_tokens::maintenance::MAX_RELOAD_SECS {
        return Err(ConfigError::Invalid(format!(
            "keys_reload_secs must be between 1 and {} (retired keys are kept for that long beyond the token lifetime)",
            idp_tokens::maintenance::MAX_RELOAD_SECS
        )));
    }
    let rotate_every = match args.rotate_every.clone().or(file.rotate_every.clone()) {
        Some(text) => Some(parse_duration_secs(&text)?),
        None => None,
    };
    if rotate_every.is_some_and(|r| r < reload) {
        return Err(ConfigError::Invalid("rotate_every must not be shorter than keys_reload_secs".into()));
    }
    Ok(Settings {
        keys_reload: std::time::Duration::from_secs(reload),
        rotate_every,
        partitions,
        grpc_addr: args.grpc_addr.or(file.grpc_addr).unwrap_or(default_grpc),
        http_addr,
        issuer_base: args.issuer_base.clone().or(file.issuer_base.clone()).unwrap_or_else(|| format!("http://{http_addr}")).trim_end_matches('/').to_string(),
        region: args.region.clone().or(file.region.clone()).unwrap_or_else(|| "us-east-1".into()),
        source_limit: {
            let default = idp_app::throttle::SourceLimit::default();
            let per_second = args.attempts_per_source.or(file.attempts_per_source).unwrap_or(default.per_second);
            idp_app::throttle::SourceLimit {
                per_second,
                burst: per_second.saturating_mul(2),
                loopback: args.throttle_loopback || file.throttle_loopback.unwrap_or(false),
            }
        },
        smtp_url: args.smtp_url.clone().or(file.smtp_url.clone()),
        smtp_from: args.smtp_from.clone().or(file.smtp_from.clone()).unwrap_or_else(|| "no-reply@localhost".into()),
        sms_webhook: args.sms_webhook.clone().or(file.sms_webhook.clone()),
        argon2: idp_crypto::password::Argon2Params {
            m_cost_kib: args.argon2_m_kib.or(file.argon2_m_kib).unwrap_or(defaults.m_cost_kib),
            t_cost: args.argon2_t.or(file.argon2_t).unwrap_or(defaults.t_cost),
            p_cost: args.argon2_p.or(file.argon2_p).unwrap_or(defaults.p_cost),
        },
        log: match resolve_log(&args.common, &file, args.shared.dispatch_group.clone().or(file.dispatch_group.clone()))? {
            LogBackend::Kafka(mut k) => {
                if let Some(group) = args.triggers.trigger_group.clone().or(file.trigger_group.clone()) {
                    k.trigger_group = group;
                }
                LogBackend::Kafka(k)
            }
            embedded => embedded,
        },
        triggers: resolve_triggers(&args.triggers, &file)?,
        keys_dir: args.shared.keys_dir.clone().or(file.keys_dir.clone()).unwrap_or_else(|| data_dir.join("keys")),
        admin_credentials: args.shared.admin_credentials.clone().or(file.admin_credentials.clone()),
        outbox_file: args.shared.outbox_file.clone().or(file.outbox_file.clone()).unwrap_or_else(|| data_dir.join("outbox.jsonl")),
        data_dir,
        store,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration_secs("90").ok(), Some(90));
        assert_eq!(parse_duration_secs("90s").ok(), Some(90));
        assert_eq!(parse_duration_secs("15m").ok(), Some(900));
        assert_eq!(parse_duration_secs("12h").ok(), Some(43_200));
        assert_eq!(parse_duration_secs("30d").ok(), Some(2_592_000));
        for bad in ["", "0", "0d", "d", "12w", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration_secs(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_reload_and_rotation_settings_are_checked() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["idp", "serve"], args].concat()).map_err(|e| e.to_string())?;
            match cli.command {
                Command::Serve(a) => resolve(&a).map(|s| (s.keys_reload.as_secs(), s.rotate_every)).map_err(|e| e.to_string()),
                _ => Err("not serve".to_string()),
            }
        };
        assert_eq!(parse(&[]), Ok((60, None)));
        assert_eq!(parse(&["--keys-reload-secs", "5", "--rotate-every", "1d"]), Ok((5, Some(86_400))));
        assert!(parse(&["--keys-reload-secs", "0"]).is_err());
        assert!(parse(&["--keys-reload-secs", "3601"]).is_err());
        assert!(parse(&["--keys-reload-secs", "600", "--rotate-every", "5m"]).is_err(), "rotation faster than reload");
    }

    #[test]
    fn the_projection_store_is_fjall_unless_a_flag_or_the_file_says_redb() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("idp.toml");
        std::fs::write(&file, "projection_store = \"redb\"\n").expect("write");
        let store = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["idp", "serve"], args].concat()).map_err(|e| e.to_string())?;
            match cli.command {
                Command::Serve(a) => resolve(&a).map(|s| s.store).map_err(|e| e.to_string()),
                _ => Err("not serve".to_string()),
            }
        };
        let config = file.to_str().expect("utf-8 path");
        assert_eq!(store(&[]), Ok(StoreKind::Fjall));
        assert_eq!(store(&["--projection-store", "redb"]), Ok(StoreKind::Redb));
        assert_eq!(store(&["--config", config]), Ok(StoreKind::Redb));
        assert_eq!(store(&["--config", config, "--projection-store", "fjall"]), Ok(StoreKind::Fjall), "the flag beats the file");
        assert!(store(&["--projection-store", "rocksdb"]).is_err());
    }
}
