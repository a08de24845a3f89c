//! `idp`: the identity service binary.
//!
//! - `idp serve`: run the service (gRPC + HTTP) on the embedded log and store (zero config).
//! - `idp rebuild`: drop every projection and replay the log, with progress and events/s.
//! - `idp pool …`, `idp client …`: admin commands against a running server, using
//!   `<data-dir>/admin.json`.
//! - `idp keys rotate|list`: the token signing keys in the (shared) keys directory.
//!
//! Modules: [`config`] (flags, env vars, TOML file), [`serve`], [`rebuild`], [`layout`] (a store
//! in another row layout is rebuilt before `serve` uses it), [`admin`],
//! [`keys`] (key commands and the reload / rotation task of `serve`), [`alloc`] (allocator
//! settings per command).

mod admin;
mod alloc;
mod cluster;
mod config;
mod keys;
mod layout;
mod rebuild;
mod serve;
mod triggers;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    if matches!(cli.command, config::Command::Rebuild(_)) {
        // Before any other thread exists (see `alloc`).
        alloc::for_batch_job();
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: config::Cli) -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDP_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let result = match cli.command {
        config::Command::Serve(args) => serve::run(args).await,
        config::Command::Rebuild(args) => rebuild::run(args).await,
        config::Command::Pool(cmd) => admin::pool(cmd).await,
        config::Command::Client(cmd) => admin::client(cmd).await,
        config::Command::Users(cmd) => admin::users(cmd).await,
        config::Command::Trigger(cmd) => triggers::command(cmd).await,
        config::Command::Keys(cmd) => keys::command(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
