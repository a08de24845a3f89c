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

#[derive(Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Drop every projection and replay the log.
    Rebuild(CommonArgs),
    /// User pools (admin).
    #[command(subcommand)]
    Pool(PoolCmd),
    /// App clients (admin).
    #[command(subcommand)]
    Client(ClientCmd),
    /// Triggers (admin): deploy, list, remove WebAssembly trigger components.
    #[command(subcommand)]
    Trigger(crate::triggers::TriggerCmd),
}

#[derive(Args, Clone)]
pub struct CommonArgs {
    /// TOML configuration file.
    #[arg(long, env = "IDP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (log, projections, keys, admin.json, outbox.jsonl).
    #[arg(long, env = "IDP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Partitions of the embedded log (fixed when the log is created).
    #[arg(long, env = "IDP_PARTITIONS")]
    pub partitions: Option<u32>,
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
    /// Send email through SMTP (e.g. smtp://user:pass@host:587) instead of the dev outbox.
    #[arg(long, env = "IDP_SMTP_URL")]
    pub smtp_url: Option<String>,
    #[arg(long, env = "IDP_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Send SMS by POSTing to this webhook instead of the dev outbox.
    #[arg(long, env = "IDP_SMS_WEBHOOK")]
    pub sms_webhook: Option<String>,
    /// Argon2id memory cost in KiB (OWASP: 19456).
    #[arg(long, env = "IDP_ARGON2_M_KIB")]
    pub argon2_m_kib: Option<u32>,
    #[arg(long, env = "IDP_ARGON2_T")]
    pub argon2_t: Option<u32>,
    #[arg(long, env = "IDP_ARGON2_P")]
    pub argon2_p: Option<u32>,
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
    pub grpc_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    pub issuer_base: Option<String>,
    pub region: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub sms_webhook: Option<String>,
    pub argon2_m_kib: Option<u32>,
    pub argon2_t: Option<u32>,
    pub argon2_p: Option<u32>,
}

/// The resolved settings (no `Debug`: the SMTP URL may hold a password).
#[derive(Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub partitions: u32,
    pub grpc_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub issuer_base: String,
    pub region: String,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub sms_webhook: Option<String>,
    pub argon2: idp_crypto::password::Argon2Params,
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

pub fn resolve_common(args: &CommonArgs, file: &FileConfig) -> (PathBuf, u32) {
    let data_dir = args.data_dir.clone().or(file.data_dir.clone()).unwrap_or_else(|| PathBuf::from("./data"));
    let partitions = args.partitions.or(file.partitions).unwrap_or(DEFAULT_PARTITIONS);
    (data_dir, partitions)
}

pub fn resolve(args: &ServeArgs) -> Result<Settings, ConfigError> {
    let file = load_file(&args.common.config)?;
    let (data_dir, partitions) = resolve_common(&args.common, &file);
    if partitions == 0 || partitions > 1024 {
        return Err(ConfigError::Invalid("partitions must be between 1 and 1024".into()));
    }
    let default_grpc: SocketAddr = ([127, 0, 0, 1], 50051).into();
    let default_http: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let http_addr = args.http_addr.or(file.http_addr).unwrap_or(default_http);
    let defaults = idp_crypto::password::Argon2Params::default();
    Ok(Settings {
        data_dir,
        partitions,
        grpc_addr: args.grpc_addr.or(file.grpc_addr).unwrap_or(default_grpc),
        http_addr,
        issuer_base: args
            .issuer_base
            .clone()
            .or(file.issuer_base.clone())
            .unwrap_or_else(|| format!("http://{http_addr}"))
            .trim_end_matches('/')
            .to_string(),
        region: args.region.clone().or(file.region.clone()).unwrap_or_else(|| "us-east-1".into()),
        smtp_url: args.smtp_url.clone().or(file.smtp_url.clone()),
        smtp_from: args.smtp_from.clone().or(file.smtp_from.clone()).unwrap_or_else(|| "no-reply@localhost".into()),
        sms_webhook: args.sms_webhook.clone().or(file.sms_webhook.clone()),
        argon2: idp_crypto::password::Argon2Params {
            m_cost_kib: args.argon2_m_kib.or(file.argon2_m_kib).unwrap_or(defaults.m_cost_kib),
            t_cost: args.argon2_t.or(file.argon2_t).unwrap_or(defaults.t_cost),
            p_cost: args.argon2_p.or(file.argon2_p).unwrap_or(defaults.p_cost),
        },
    })
}
