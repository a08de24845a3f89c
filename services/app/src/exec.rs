//! The write loop shared by every command.
//!
//! 1. Catch up: wait until the projector applied the aggregate's partition up to its end
//!    offset, so the state read next includes every write acknowledged anywhere before now.
//! 2. Read the aggregate state (and its version) from the projection.
//! 3. `decide` (on a blocking thread: it may hash a password) with the real context.
//! 4. Append one envelope carrying `expected_version` and the events; register for its verdict
//!    first so it cannot be missed.
//! 5. Wait for the arbiter's verdict. Accepted → the projection already holds the new state:
//!    the caller reads its own write. Conflict → back to 1. Duplicate → the request id was
//!    already applied: answer from the current state.

use std::sync::Arc;

use idp_domain::keys::AggregateKey;
use idp_domain::pb::{Envelope, Event};
use idp_domain::{AggregateState, Ctx, Rejected};
use idp_eventlog::{partition_for_key, Record};
use idp_projector::Verdict;
use prost::Message;

use crate::ctx::{now_ms, RealCtx};
use crate::{App, AppError};

/// What a successful command left behind.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The events appended (empty for a no-op or a duplicate request).
    pub events: Vec<Event>,
    /// The aggregate's state after the command.
    pub state: Option<AggregateState>,
    /// The request id had already been applied.
    pub duplicate: bool,
}

/// A decision function, run once per attempt with the state read in that attempt.
pub type DecideFn = dyn Fn(Option<&AggregateState>, &mut dyn Ctx) -> Result<Vec<Event>, Rejected> + Send + Sync;

impl App {
    pub(crate) fn partition_of(&self, key: &AggregateKey) -> u32 {
        partition_for_key(key.encode().as_bytes(), self.log.partition_count())
    }

    /// Waits until the partition holding `key` is applied up to the log's end offset.
    pub async fn catch_up(&self, key: &AggregateKey) -> Result<(), AppError> {
        self.catch_up_partition(self.partition_of(key)).await
    }

    /// Catches up every partition (reads that span partitions: lists).
    pub async fn catch_up_all(&self) -> Result<(), AppError> {
        for p in 0..self.log.partition_count() {
            self.catch_up_partition(p).await?;
        }
        Ok(())
    }

    async fn catch_up_partition(&self, p: u32) -> Result<(), AppError> {
        let end = match crate::scope::end_offsets(|| self.log.end_offsets()).await {
            // Inside a request: every partition's end, read once per request (see `scope`).
            Some(ends) => ends?.get(p as usize).copied().ok_or(idp_eventlog::LogError::InvalidPartition(p))?,
            None => self.log.end_offset(p).await?,
        };
        self.verdicts.wait_applied(p, end, self.config.verdict_timeout).await.map_err(|e| AppError::NotReady(format!("projection catching up: {e}")))
    }

    pub(crate) fn new_ctx(&self) -> RealCtx {
        RealCtx {
            now_ms: now_ms(),
            hasher: self.hasher.clone(),
            secrets: self.secrets.clone(),
            dummy_phc: self.dummy_phc.clone(),
            hashing_ns: crate::scope::hashing_meter(),
        }
    }

    /// Runs work that may hash passwords on a blocking thread, bounded by the hash slots.
    pub(crate) async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _slot = self.hash_slots.clone().acquire_owned().await.map_err(|_| AppError::Internal("hash pool closed".into()))?;
        tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("blocking task: {e}")))
    }

    /// Executes a command on one aggregate (see the module doc).
    pub async fn execute(&self, key: &AggregateKey, request_id: &str, decide: Arc<DecideFn>) -> Result<Committed, AppError> {
        let aggregate = key.encode();
        let partition = self.partition_of(key);
        for _ in 0..self.config.max_attempts.max(1) {
            self.catch_up(key).await?;
            let state = self.load(key).await?;
            if !request_id.is_empty() && self.request_applied(&aggregate, request_id).await? {
                return Ok(Committed { events: vec![], state, duplicate: true });
            }
            let version = state.as_ref().map(AggregateState::version).unwrap_or(0);
            let mut ctx = self.new_ctx();
            let recorded_at_ms = ctx.now_ms();
            let d = decide.clone();
            let st = state.clone();
            let decision = self.blocking(move || d(st.as_ref(), &mut ctx)).await?;
            let (events, error) = match decision {
                Ok(events) if events.is_empty() => return Ok(Committed { events, state, duplicate: false }),
                Ok(events) => (events, None),
                Err(Rejected { error, record }) if record.is_empty() => return Err(error.into()),
                Err(Rejected { error, record }) => (record, Some(error)),
            };
            let envelope = Envelope {
                event_id: uuid::Uuid::new_v4().to_string(),
                request_id: if error.is_some() { String::new() } else { request_id.to_string() },
                recorded_at_ms,
                aggregate: aggregate.clone(),
                expected_version: version,
                events: events.clone(),
            };
            match self.append_and_wait(partition, &envelope).await? {
                Verdict::Accepted => {
                    if let Some(error) = error {
                        return Err(error.into());
                    }
                    let state = self.load(key).await?;
                    return Ok(Committed { events, state, duplicate: false });
                }
                Verdict::Duplicate => {
                    let state = self.load(key).await?;
                    return Ok(Committed { events: vec![], state, duplicate: true });
                }
                Verdict::Conflict { .. } => continue,
                Verdict::Invalid(why) => return Err(AppError::Internal(format!("arbiter refused our envelope: {why}"))),
            }
        }
        Err(AppError::TooManyRequests("Too many concurrent updates of this resource; retry.".into()))
    }

    async fn append_and_wait(&self, partition: u32, envelope: &Envelope) -> Result<Verdict, AppError> {
        let record = Record::new(envelope.aggregate.as_bytes().to_vec(), envelope.encode_to_vec())
            .with_header("event-type", event_type(envelope).as_bytes().to_vec())
            .with_header("event-id", envelope.event_id.as_bytes().to_vec());
        let rx = self.verdicts.expect(&envelope.event_id);
        if let Err(e) = self.log.append(partition, record).await {
            self.verdicts.forget(&envelope.event_id);
            return Err(e.into());
        }
        self.verdicts.wait(&envelope.event_id, rx, self.config.verdict_timeout).await.map_err(|e| AppError::NotReady(format!("waiting for the verdict: {e}")))
    }
}

/// Helper to build a [`DecideFn`] from a closure.
pub fn decider<F>(f: F) -> Arc<DecideFn>
where
    F: Fn(Option<&AggregateState>, &mut dyn Ctx) -> Result<Vec<Event>, Rejected> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// The stable type name of the envelope's first event (record header, for tooling and tracing).
pub fn event_type(envelope: &Envelope) -> String {
    use idp_domain::pb::event::Kind;
    let name = match envelope.events.first().and_then(|e| e.kind.as_ref()) {
        Some(Kind::PoolCreated(_)) => "PoolCreated",
        Some(Kind::PoolUpdated(_)) => "PoolUpdated",
        Some(Kind::PoolDeleted(_)) => "PoolDeleted",
        Some(Kind::TriggerDeployed(_)) => "TriggerDeployed",
        Some(Kind::TriggerRemoved(_)) => "TriggerRemoved",
        Some(Kind::ClientCreated(_)) => "ClientCreated",
        Some(Kind::ClientDeleted(_)) => "ClientDeleted",
        Some(Kind::UserSignedUp(_)) => "UserSignedUp",
        Some(Kind::CodeIssued(_)) => "CodeIssued",
        Some(Kind::CodeAttemptFailed(_)) => "CodeAttemptFailed",
        Some(Kind::UserConfirmed(_)) => "UserConfirmed",
        Some(Kind::AttributesUpdated(_)) => "AttributesUpdated",
        Some(Kind::AttributeVerified(_)) => "AttributeVerified",
        Some(Kind::PasswordChanged(_)) => "PasswordChanged",
        Some(Kind::SignedOutEverywhere(_)) => "SignedOutEverywhere",
        Some(Kind::RefreshTokenRevoked(_)) => "RefreshTokenRevoked",
        Some(Kind::UserDeleted(_)) => "UserDeleted",
        Some(Kind::UserCreatedByAdmin(_)) => "UserCreatedByAdmin",
        Some(Kind::PasswordSetByAdmin(_)) => "PasswordSetByAdmin",
        Some(Kind::UserDisabled(_)) => "UserDisabled",
        Some(Kind::UserEnabled(_)) => "UserEnabled",
        Some(Kind::PasswordResetRequired(_)) => "PasswordResetRequired",
        Some(Kind::UserAddedToGroup(_)) => "UserAddedToGroup",
        Some(Kind::UserRemovedFromGroup(_)) => "UserRemovedFromGroup",
        Some(Kind::GroupCreated(_)) => "GroupCreated",
        Some(Kind::GroupUpdated(_)) => "GroupUpdated",
        Some(Kind::GroupDeleted(_)) => "GroupDeleted",
        Some(Kind::CustomAttributesAdded(_)) => "CustomAttributesAdded",
        Some(Kind::UserAuthenticated(_)) => "UserAuthenticated",
        Some(Kind::CustomChallengeAnswered(_)) => "CustomChallengeAnswered",
        Some(Kind::SignInFailed(_)) => "SignInFailed",
        Some(Kind::SignInSucceeded(_)) => "SignInSucceeded",
        Some(Kind::NewPasswordRequiredAnswered(_)) => "NewPasswordRequiredAnswered",
        Some(Kind::SoftwareTokenAssociated(_)) => "SoftwareTokenAssociated",
        Some(Kind::SoftwareTokenVerified(_)) => "SoftwareTokenVerified",
        Some(Kind::MfaPreferenceSet(_)) => "MfaPreferenceSet",
        Some(Kind::MfaCodeAccepted(_)) => "MfaCodeAccepted",
        None => "Empty",
    };
    format!("idp.events.v1.{name}")
}
