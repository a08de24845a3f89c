//! The [`Runtime`]: one wasmtime engine, the linker, the compiled-component caches and the
//! epoch ticker.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings;
use crate::blobs::BlobStore;
use crate::call::{CallState, LogSink};
use crate::error::TriggerError;
use crate::kind::Kind;

/// Engine-wide settings (per-trigger limits are in [`TriggerSpec`]).
#[derive(Clone)]
pub struct RuntimeConfig {
    /// Where uploaded components live (`<dir>/<sha256>.wasm`); `None`: only components handed
    /// to [`Runtime::prepare`] in this process can run.
    pub blob_dir: Option<std::path::PathBuf>,
    /// Calls in flight at once (pooling allocator slots). A call past it fails.
    pub max_concurrent_calls: u32,
    /// The largest memory cap a trigger may be given (the pool's slot size).
    pub max_memory_bytes: u64,
    /// Epoch tick: the granularity of deadlines.
    pub tick: Duration,
    /// Instruction budget per call (`None`: no fuel metering, deadlines only).
    pub fuel: Option<u64>,
    /// Receives the log lines triggers write (besides `tracing`).
    pub log_sink: Option<Arc<dyn LogSink>>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig { blob_dir: None, max_concurrent_calls: 64, max_memory_bytes: 256 << 20, tick: Duration::from_millis(1), fuel: None, log_sink: None }
    }
}

/// Default deadline of a call (Cognito's is about 5 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default memory cap of a call.
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;

/// One deployed trigger, as a call needs it.
#[derive(Debug, Clone)]
pub struct TriggerSpec {
    pub pool_id: String,
    pub kind: Kind,
    /// Hex SHA-256 of the component bytes.
    pub sha256: String,
    /// The deployment's version (increases with every deploy on the pool).
    pub version: u64,
    /// The configuration string given at deploy (`config()` in the guest).
    pub config: Arc<str>,
    pub timeout: Duration,
    pub memory_limit_bytes: u64,
}

/// A pre-instantiated component, typed by its world.
pub(crate) enum Prepared {
    PreSignUp(bindings::pre_sign_up::PreSignUpPre<CallState>),
    PostConfirmation(bindings::post_confirmation::PostConfirmationPre<CallState>),
    PreAuthentication(bindings::pre_authentication::PreAuthenticationPre<CallState>),
    PostAuthentication(bindings::post_authentication::PostAuthenticationPre<CallState>),
    PreTokenGeneration(bindings::pre_token_generation::PreTokenGenerationPre<CallState>),
    CustomMessage(bindings::custom_message::CustomMessagePre<CallState>),
    UserMigration(bindings::user_migration::UserMigrationPre<CallState>),
    DefineAuthChallenge(bindings::define_auth_challenge::DefineAuthChallengePre<CallState>),
    CreateAuthChallenge(bindings::create_auth_challenge::CreateAuthChallengePre<CallState>),
    VerifyAuthChallengeResponse(bindings::verify_auth_challenge::VerifyAuthChallengePre<CallState>),
}

/// Runs triggers. Create one per process and share it (`Arc`).
pub struct Runtime {
    pub(crate) engine: Engine,
    linker: Linker<CallState>,
    pub(crate) config: RuntimeConfig,
    blobs: Option<BlobStore>,
    components: Mutex<HashMap<String, Component>>,
    prepared: Mutex<HashMap<(Kind, String), Arc<Prepared>>>,
    /// WASI contexts of finished calls, reused (they grant nothing and hold no per-call state).
    pub(crate) wasi_pool: Mutex<Vec<wasmtime_wasi::WasiCtx>>,
    _ticker: Ticker,
}

fn runtime_err(e: impl std::fmt::Display) -> TriggerError {
    TriggerError::Runtime(e.to_string())
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Arc<Runtime>, TriggerError> {
        let n = config.max_concurrent_calls.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // A component built by wit-component has a few core instances (the guest, shims) and
        // one memory; leave room.
        pool.total_component_instances(n)
            .total_core_instances(n * 8)
            .total_memories(n * 2)
            .total_tables(n * 8)
            .total_stacks(n)
            .max_memory_size(config.max_memory_bytes as usize)
            // Resetting a slot for the next call: the first 256 KiB are zeroed/restored in
            // place and stay resident (no page faults next time); the rest is returned with
            // madvise, batched so 16 slots cost one TLB shootdown. A guest built with a small
            // stack (`-zstack-size=65536`, as the examples are) touches only that first part:
            // measured p50 ~11 µs per trivial call instead of ~18-26 µs.
            .linear_memory_keep_resident(256 << 10)
            .table_keep_resident(16 << 10)
            .decommit_batch_size(16);
        let mut c = Config::new();
        c.wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(config.fuel.is_some())
            .max_wasm_stack(1 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&c).map_err(runtime_err)?;
        let mut linker = Linker::<CallState>::new(&engine);
        crate::wasi::add_to_linker(&mut linker).map_err(runtime_err)?;
        bindings::host::add_to_linker::<CallState, wasmtime::component::HasSelf<CallState>>(&mut linker, |s| s).map_err(runtime_err)?;
        let ticker = Ticker::start(&engine, config.tick).map_err(runtime_err)?;
        let blobs = match &config.blob_dir {
            Some(dir) => Some(BlobStore::open(dir.clone())?),
            None => None,
        };
        Ok(Arc::new(Runtime {
            engine,
            linker,
            config,
            blobs,
            components: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
            wasi_pool: Mutex::new(Vec::new()),
            _ticker: ticker,
        }))
    }

    pub fn blobs(&self) -> Option<&BlobStore> {
        self.blobs.as_ref()
    }

    /// Checks that `bytes` is a component implementing `kind`'s world with only the imports the
    /// host grants, compiles and pre-instantiates it, and stores it in the blob store (when
    /// there is one). Returns its hex SHA-256. Compiling can take a while: call it from a
    /// blocking thread.
    pub fn prepare(&self, kind: Kind, bytes: &[u8]) -> Result<String, TriggerError> {
        let sha = crate::blobs::sha256_hex(bytes);
        let component = self.compile(&sha, bytes)?;
        self.pre_instantiate(kind, &sha, &component)?;
        if let Some(blobs) = &self.blobs {
            blobs.put(bytes)?;
        }
        Ok(sha)
    }

    /// Compiles a component (cached by hash).
    fn compile(&self, sha: &str, bytes: &[u8]) -> Result<Component, TriggerError> {
        if let Some(c) = self.components.lock().map_err(runtime_err)?.get(sha) {
            return Ok(c.clone());
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| TriggerError::InvalidComponent(format!("not a valid WebAssembly component: {e:#}")))?;
        self.components.lock().map_err(runtime_err)?.insert(sha.to_string(), component.clone());
        Ok(component)
    }

    fn pre_instantiate(&self, kind: Kind, sha: &str, component: &Component) -> Result<Arc<Prepared>, TriggerError> {
        let key = (kind, sha.to_string());
        if let Some(p) = self.prepared.lock().map_err(runtime_err)?.get(&key) {
            return Ok(p.clone());
        }
        let invalid = |e: wasmtime::Error| {
            TriggerError::InvalidComponent(format!(
                "the component does not implement world `idp:triggers/{}@1.0.0` with the granted imports only: {e:#}",
                kind.world()
            ))
        };
        let pre = self.linker.instantiate_pre(component).map_err(invalid)?;
        use bindings as b;
        let prepared = Arc::new(match kind {
            Kind::PreSignUp => Prepared::PreSignUp(b::pre_sign_up::PreSignUpPre::new(pre).map_err(invalid)?),
            Kind::PostConfirmation => Prepared::PostConfirmation(b::post_confirmation::PostConfirmationPre::new(pre).map_err(invalid)?),
            Kind::PreAuthentication => Prepared::PreAuthentication(b::pre_authentication::PreAuthenticationPre::new(pre).map_err(invalid)?),
            Kind::PostAuthentication => Prepared::PostAuthentication(b::post_authentication::PostAuthenticationPre::new(pre).map_err(invalid)?),
            Kind::PreTokenGeneration => Prepared::PreTokenGeneration(b::pre_token_generation::PreTokenGenerationPre::new(pre).map_err(invalid)?),
            Kind::CustomMessage => Prepared::CustomMessage(b::custom_message::CustomMessagePre::new(pre).map_err(invalid)?),
            Kind::UserMigration => Prepared::UserMigration(b::user_migration::UserMigrationPre::new(pre).map_err(invalid)?),
            Kind::DefineAuthChallenge => Prepared::DefineAuthChallenge(b::define_auth_challenge::DefineAuthChallengePre::new(pre).map_err(invalid)?),
            Kind::CreateAuthChallenge => Prepared::CreateAuthChallenge(b::create_auth_challenge::CreateAuthChallengePre::new(pre).map_err(invalid)?),
            Kind::VerifyAuthChallengeResponse => {
                Prepared::VerifyAuthChallengeResponse(b::verify_auth_challenge::VerifyAuthChallengePre::new(pre).map_err(invalid)?)
            }
        });
        self.prepared.lock().map_err(runtime_err)?.insert(key, prepared.clone());
        Ok(prepared)
    }

    /// The pre-instantiated component for a deployed trigger, loading and compiling it from the
    /// blob store on first use.
    pub(crate) fn prepared(&self, spec: &TriggerSpec) -> Result<Arc<Prepared>, TriggerError> {
        let key = (spec.kind, spec.sha256.clone());
        if let Some(p) = self.prepared.lock().map_err(runtime_err)?.get(&key) {
            return Ok(p.clone());
        }
        let unavailable = |detail: String| TriggerError::Unavailable { kind: spec.kind.name(), detail };
        let Some(blobs) = &self.blobs else {
            return Err(unavailable(format!("component {} was never prepared in this process", spec.sha256)));
        };
        let bytes = blobs.get(&spec.sha256).map_err(|e| unavailable(e.to_string()))?;
        let component = self.compile(&spec.sha256, &bytes).map_err(|e| unavailable(e.to_string()))?;
        self.pre_instantiate(spec.kind, &spec.sha256, &component).map_err(|e| unavailable(e.to_string()))
    }

    /// Loads and compiles a deployed trigger ahead of its first call (e.g. at startup).
    pub fn warm(&self, spec: &TriggerSpec) -> Result<(), TriggerError> {
        self.prepared(spec).map(|_| ())
    }
}

/// Advances the engine's epoch every tick, so deadlines fire; stops when the engine is gone.
struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Ticker {
    fn start(engine: &Engine, tick: Duration) -> std::io::Result<Ticker> {
        let weak = engine.weak();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let tick = tick.max(Duration::from_micros(100));
        std::thread::Builder::new().name("idp-trigger-epoch".into()).spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })?;
        Ok(Ticker { stop })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
