//! Calling a trigger: a fresh `Store` per call with its deadline, memory cap, optional fuel and
//! a WASI context that grants nothing ([`crate::wasi`]); one typed method per kind; failures classified into
//! [`TriggerError`]s.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::host::Level;
use crate::bindings::types as t;
use crate::error::TriggerError;
use crate::kind::Kind;
use crate::runtime::{Prepared, Runtime, TriggerSpec};
use crate::validate;

/// Log lines a trigger may write per call, and their maximum length.
pub const MAX_LOG_LINES: u32 = 64;
pub const MAX_LOG_LINE_BYTES: usize = 4096;
/// Longest rejection message passed on to the caller.
pub const MAX_REJECT_MESSAGE_BYTES: usize = 2048;

/// A line a trigger logged.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub pool_id: String,
    pub kind: Kind,
    pub version: u64,
    pub level: Level,
    pub message: String,
}

/// Receives trigger log lines (in addition to `tracing`).
pub trait LogSink: Send + Sync + 'static {
    fn line(&self, line: &LogLine);
}

/// Per-call store data.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    spec: TriggerSpec,
    sink: Option<Arc<dyn LogSink>>,
    log_lines: u32,
    deadline: Instant,
    memory_hit: bool,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl CallState {
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    pub(crate) fn random(&mut self) -> &mut wasmtime_wasi::random::WasiRandomCtx {
        self.wasi.random()
    }
}

impl crate::bindings::host::Host for CallState {
    fn log(&mut self, level: Level, message: String) {
        if self.log_lines >= MAX_LOG_LINES {
            return;
        }
        self.log_lines += 1;
        let message = truncate(message, MAX_LOG_LINE_BYTES);
        let (pool, kind, version) = (&self.spec.pool_id, self.spec.kind.name(), self.spec.version);
        match level {
            Level::Debug => tracing::debug!(target: "idp::trigger", pool, kind, version, "{message}"),
            Level::Info => tracing::info!(target: "idp::trigger", pool, kind, version, "{message}"),
            Level::Warn => tracing::warn!(target: "idp::trigger", pool, kind, version, "{message}"),
            Level::Error => tracing::error!(target: "idp::trigger", pool, kind, version, "{message}"),
        }
        if let Some(sink) = &self.sink {
            sink.line(&LogLine { pool_id: self.spec.pool_id.clone(), kind: self.spec.kind, version, level, message });
        }
    }

    fn config(&mut self) -> String {
        self.spec.config.to_string()
    }
}

impl crate::bindings::types::Host for CallState {}

/// Enforces the memory cap; remembers that it refused, to name the failure.
impl wasmtime::ResourceLimiter for CallState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.spec.memory_limit_bytes {
            self.memory_hit = true;
            return Err(wasmtime::Error::msg("trigger memory limit exceeded"));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

pub(crate) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The deadline passed (raised from the epoch callback).
#[derive(Debug)]
struct DeadlineExceeded;

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("trigger deadline exceeded")
    }
}

impl std::error::Error for DeadlineExceeded {}

/// What stage a failure happened in.
#[derive(Clone, Copy)]
enum Stage {
    Instantiate,
    Call,
}

impl Runtime {
    fn store(&self, spec: &TriggerSpec) -> Store<CallState> {
        // A WASI context left by a finished call is reused (building one costs microseconds).
        let pooled = self.wasi_pool.lock().ok().and_then(|mut p| p.pop());
        let state = CallState {
            wasi: pooled.unwrap_or_default(),
            table: ResourceTable::new(),
            spec: spec.clone(),
            sink: self.config.log_sink.clone(),
            log_lines: 0,
            deadline: Instant::now() + spec.timeout,
            memory_hit: false,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
        // Check the wall clock at every epoch tick; trap once the deadline has passed.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().deadline {
                Err(wasmtime::Error::new(DeadlineExceeded))
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        if let Some(fuel) = self.config.fuel {
            // Fuel is enabled on the engine whenever the config has it, so this cannot fail.
            let _ = store.set_fuel(fuel);
        }
        store
    }

    fn classify(&self, spec: &TriggerSpec, store: &Store<CallState>, stage: Stage, started: Instant, e: wasmtime::Error) -> TriggerError {
        let kind = spec.kind.name();
        if e.downcast_ref::<DeadlineExceeded>().is_some() || e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return TriggerError::Timeout { kind, deadline: spec.timeout, elapsed: started.elapsed() };
        }
        if store.data().memory_hit {
            return TriggerError::MemoryLimit { kind, limit_bytes: spec.memory_limit_bytes };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => TriggerError::OutOfFuel { kind },
            Some(trap) => TriggerError::Trap { kind, detail: trap.to_string() },
            None => match stage {
                Stage::Instantiate => TriggerError::Unavailable { kind, detail: format!("{e:#}") },
                // Not a trap: the canonical ABI could not read the answer.
                Stage::Call => TriggerError::InvalidResponse { kind, detail: format!("{e:#}") },
            },
        }
    }

    /// Runs one call in a fresh store; never panics (a panic inside wasmtime becomes an error).
    fn run<B, R>(
        &self,
        spec: &TriggerSpec,
        instantiate: impl FnOnce(&mut Store<CallState>) -> wasmtime::Result<B>,
        call: impl FnOnce(&B, &mut Store<CallState>) -> wasmtime::Result<Result<R, String>>,
    ) -> Result<R, TriggerError> {
        let kind = spec.kind.name();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let started = Instant::now();
            let mut store = self.store(spec);
            let bindings = instantiate(&mut store).map_err(|e| self.classify(spec, &store, Stage::Instantiate, started, e))?;
            let out = match call(&bindings, &mut store) {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(message)) => Err(TriggerError::Rejected { kind, message: truncate(message, MAX_REJECT_MESSAGE_BYTES) }),
                Err(e) => return Err(self.classify(spec, &store, Stage::Call, started, e)),
            };
            // A call that finished normally leaves nothing in its WASI context: keep it.
            let wasi = store.into_data().wasi;
            if let Ok(mut pool) = self.wasi_pool.lock() {
                if pool.len() < self.config.max_concurrent_calls as usize {
                    pool.push(wasi);
                }
            }
            out
        }));
        outcome.unwrap_or_else(|_| Err(TriggerError::Trap { kind, detail: "the trigger host panicked".into() }))
    }
}

/// Generates the typed call method of one kind.
macro_rules! call_method {
    ($(#[$doc:meta])* $method:ident, $variant:ident, $event:ty, $response:ty, $check:path) => {
        $(#[$doc])*
        pub fn $method(&self, spec: &TriggerSpec, event: &$event) -> Result<$response, TriggerError> {
            let kind = Kind::$variant.name();
            if spec.kind != Kind::$variant {
                return Err(TriggerError::Unavailable { kind, detail: format!("a {} trigger was given", spec.kind) });
            }
            let prepared = self.prepared(spec)?;
            let Prepared::$variant(pre) = &*prepared else {
                return Err(TriggerError::Unavailable { kind, detail: "prepared for another kind".into() });
            };
            let out = self.run(spec, |store| pre.instantiate(store), |b, store| b.call_handle(store, event))?;
            $check(event, &out).map_err(|detail| TriggerError::InvalidResponse { kind, detail })?;
            Ok(out)
        }
    };
}

impl Runtime {
    call_method!(
        /// PreSignUp: auto-confirm / auto-verify decisions, or a rejection.
        pre_sign_up, PreSignUp, t::PreSignUpEvent, t::PreSignUpResponse, validate::pre_sign_up
    );
    call_method!(post_confirmation, PostConfirmation, t::PostConfirmationEvent, (), validate::none);
    call_method!(pre_authentication, PreAuthentication, t::PreAuthenticationEvent, (), validate::none);
    call_method!(post_authentication, PostAuthentication, t::PostAuthenticationEvent, (), validate::none);
    call_method!(
        /// PreTokenGeneration: claims to add/override/suppress and a groups override.
        pre_token_generation, PreTokenGeneration, t::PreTokenGenerationEvent, t::PreTokenGenerationResponse, validate::pre_token_generation
    );
    call_method!(
        /// CustomMessage: the texts of a code message (`{####}` stands for the code).
        custom_message, CustomMessage, t::CustomMessageEvent, t::CustomMessageResponse, validate::custom_message
    );
    call_method!(
        /// UserMigration: the attributes and status of a user found in a legacy store.
        user_migration, UserMigration, t::UserMigrationEvent, t::UserMigrationResponse, validate::user_migration
    );
    call_method!(
        /// DefineAuthChallenge: the next step of a CUSTOM_AUTH sign-in.
        define_auth_challenge, DefineAuthChallenge, t::DefineAuthChallengeEvent, t::DefineAuthChallengeResponse, validate::define_auth_challenge
    );
    call_method!(
        /// CreateAuthChallenge: the public and private parameters of a challenge.
        create_auth_challenge, CreateAuthChallenge, t::CreateAuthChallengeEvent, t::CreateAuthChallengeResponse, validate::create_auth_challenge
    );
    call_method!(verify_auth_challenge_response, VerifyAuthChallengeResponse, t::VerifyAuthChallengeEvent, t::VerifyAuthChallengeResponse, validate::any);
}
