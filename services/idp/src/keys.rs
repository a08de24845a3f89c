//! Token signing keys in the binary: `idp keys rotate|list`, and the task every `idp serve` runs
//! to follow the shared keys directory (reload, optional automatic rotation, pruning; the policy
//! itself is `idp_tokens::maintenance`).

use std::sync::Arc;
use std::time::Duration;

use idp_app::App;
use idp_tokens::maintenance::{KeyPolicy, DEFAULT_RETIRE_AFTER_SECS};
use idp_tokens::KeyRing;

use crate::config::{KeysCmd, Settings};
use crate::serve::BoxError;

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

pub fn command(cmd: KeysCmd) -> Result<(), BoxError> {
    match cmd {
        KeysCmd::Rotate { dir, retire_after_secs } => {
            let dir = dir.resolve()?;
            let now = now_secs();
            // A first key is created if there is none (as `idp serve` would on first start).
            let mut ring = KeyRing::load_or_create(&dir, now)?;
            let previous = ring.active_kid().to_owned();
            let retire_after = retire_after_secs.unwrap_or(DEFAULT_RETIRE_AFTER_SECS);
            let kid = ring.rotate(now, retire_after)?;
            let pruned = if ring.has_expired(now) { ring.prune(now)? } else { Vec::new() };
            let out = serde_json::json!({
                "active_kid": kid,
                "retired_kid": previous,
                "retired_not_after": now.saturating_add(i64::try_from(retire_after).unwrap_or(i64::MAX)),
                "pruned": pruned,
                "keys_dir": dir.display().to_string(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        KeysCmd::List { dir } => {
            let ring = KeyRing::load(&dir.resolve()?)?;
            println!("{}", serde_json::to_string_pretty(&ring.keys())?);
        }
    }
    Ok(())
}

/// Every `keys_reload`: reload the keys directory, rotate when `--rotate-every` says so, prune
/// keys every token of which has expired. A failed tick is logged and retried at the next one;
/// the process keeps signing with the ring it has.
pub fn spawn_maintenance(app: &Arc<App>, s: &Settings) -> tokio::task::JoinHandle<()> {
    let policy =
        KeyPolicy { rotate_every_secs: s.rotate_every, retire_after_secs: KeyPolicy::retire_after_for(s.keys_reload.as_secs()).max(DEFAULT_RETIRE_AFTER_SECS) };
    let app = app.clone();
    let every = s.keys_reload.max(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(every);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            timer.tick().await;
            let (app2, policy2) = (app.clone(), policy.clone());
            // Blocking: file reads, and an RSA key generation when rotating.
            match tokio::task::spawn_blocking(move || policy2.tick(app2.issuer(), now_secs())).await {
                Ok(Ok(t)) => {
                    if let Some(kid) = &t.rotated {
                        tracing::info!(kid = %kid, "rotated the signing key (--rotate-every)");
                    } else if t.active_changed {
                        tracing::info!(kid = %t.active_kid, "signing with the newest key from the keys directory");
                    }
                    if !t.pruned.is_empty() {
                        tracing::info!(kids = ?t.pruned, "pruned retired signing keys (every token they signed has expired)");
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "signing keys: reload failed; keeping the current keys"),
                Err(e) => tracing::warn!(error = %e, "signing keys: reload task failed"),
            }
        }
    })
}
