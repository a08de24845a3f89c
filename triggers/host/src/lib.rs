//! `idp-triggers`: runs user-pool triggers (Cognito's Lambda triggers) as WebAssembly
//! components, in-process, sandboxed, with hard limits.
//!
//! - The interface is the WIT package `idp:triggers@1.0.0` in `triggers/wit/`: one world per
//!   trigger [`Kind`], typed records mirroring Cognito's trigger events, and a host interface
//!   with logging and the trigger's own configuration. Nothing else: no network, filesystem or
//!   clock (the WASI imports a Rust std guest carries are satisfied by a context that grants
//!   nothing; clocks, filesystem and sockets are not linked, so a component importing them is
//!   refused at deploy time; see `wasi.rs`).
//! - [`Runtime`] ([`runtime`]): one wasmtime engine (Cranelift, component model, pooling
//!   allocator, epoch interruption driven by a ticker thread). Each component is compiled once
//!   per content hash and pre-instantiated (`InstancePre`) once per (kind, hash); every call
//!   gets a fresh `Store` with a deadline, a memory cap and optionally fuel.
//! - Calls ([`call`]): one typed method per kind (`Runtime::pre_sign_up`, ...). Every failure is
//!   a [`TriggerError`] whose `name()` is Cognito's exception name: a trigger's `Err(message)` is
//!   `UserLambdaValidationException`; a trap, timeout, memory or fuel exhaustion is
//!   `UnexpectedLambdaException`; an unreadable or rule-breaking answer is
//!   `InvalidLambdaResponseException` ([`validate`]). Calls block: run them on a blocking
//!   thread, never on an async executor's worker.
//! - [`blobs`]: the content-addressed component store (`<dir>/<sha256>.wasm`).
//! - [`testing`]: builds `triggers/examples` for `wasm32-wasip2`, for tests.

pub mod bindings;
pub mod blobs;
pub mod call;
pub mod error;
pub mod kind;
pub mod runtime;
pub mod testing;
pub mod validate;
mod wasi;

pub use bindings::types;
pub use blobs::BlobStore;
pub use call::{LogLine, LogSink};
pub use error::TriggerError;
pub use kind::Kind;
pub use runtime::{Runtime, RuntimeConfig, TriggerSpec};
