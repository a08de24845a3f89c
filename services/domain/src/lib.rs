//! The pure domain of the identity service: every business rule, and nothing else.
//!
//! - [`pb`]: the events and aggregate states, generated from `proto/idp/events/v1/events.proto`.
//! - [`decide`]: `decide(state, command, ctx) -> Result<Vec<Event>, Rejected>` for pools
//!   ([`pool`]), app clients ([`client`]), users ([`user`]; admin operations in
//!   [`user_admin`]) and groups ([`group`], with AddCustomAttributes). All rules live there.
//! - [`evolve`]: `evolve(state, envelope) -> state`: mechanical application of accepted events,
//!   no rules, no clock, no randomness ([`evolve_events`] is the same for an envelope taken
//!   apart, moving what the state keeps out of the events: the projector's replay).
//! - [`ctx`]: the [`Ctx`] trait through which clock, randomness and hashing come in, so that
//!   `decide` is deterministic given its context and testable with a fake one.
//! - [`signin`]: lockout, first-factor verdicts, NEW_PASSWORD_REQUIRED and the MFA rules.
//! - [`validate`]: attribute, username and password-policy checks used by `decide`.
//! - [`keys`]: aggregate keys and username normalisation.
//! - [`search`]: ListUsers' filter grammar (`attr = "v"`, `attr ^= "v"`) and the searchable
//!   attributes of a user, shared by the projector's search index and the query.
//! - [`error`]: [`DomainError`], whose `name()` is the stable (Cognito) exception name.
//!
//! This crate does no I/O and depends on nothing but prost and thiserror.

pub mod pb {
    //! Generated protobuf types (package `idp.events.v1`).
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/idp.events.v1.rs"));
}

pub mod client;
pub mod ctx;
pub mod decide;
pub mod error;
pub mod evolve;
pub mod group;
pub mod keys;
pub mod pool;
pub mod search;
pub mod signin;
pub mod user;
pub mod user_admin;
pub mod validate;

#[cfg(test)]
mod testkit;

pub use ctx::{Ctx, NewCode};
pub use decide::Rejected;
pub use error::DomainError;
pub use evolve::{evolve, evolve_events, AggregateState};
