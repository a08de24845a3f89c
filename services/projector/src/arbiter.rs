//! The arbiter: decides, in log order, whether each envelope is accepted, and what it writes.
//!
//! Verdicts are a pure function of the log: an envelope is accepted iff it decodes, its
//! aggregate is at `expected_version`, and its request id was not already accepted on that
//! aggregate. Every replica that applies the same records reaches the same verdicts and writes
//! the same bytes (states are prost-encoded with ordered maps).
//!
//! States are cached in memory (the projector is the only writer of its partitions' rows, so
//! the cache is authoritative). After `clear()` (rebuild) the cache is *complete*: a miss means
//! "absent" and costs no store read, which is what makes replay fast.
//!
//! A state is held decoded only while the batch that changes it is arbitrated; after that the
//! cache keeps the bytes of its state row (the batch encodes them for the row anyway), and a
//! later batch decodes them again. A decoded user state is about twice as large as its row
//! and spread over a few dozen allocations: holding every replayed user decoded made a
//! rebuild's heap, and the kernel's work of handing it out, twice as large.

use foldhash::HashMap;

use idp_domain::keys::AggregateKey;
use idp_domain::pb::{event::Kind, Attribute, Envelope, Event, TriggerItem, UserState};
use idp_domain::{evolve_events, AggregateState};
use idp_eventlog::StoredRecord;
use idp_store::{Bytes, ProjectionStore, RowSink, StoreError, Table, Write};
use prost::Message;

use crate::rows;

/// The arbiter's answer for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// The aggregate moved on since the front read it: the front re-reads and decides again.
    Conflict {
        current_version: u64,
    },
    /// The request id was already accepted on this aggregate (a retry): nothing applied.
    Duplicate,
    /// Not a valid envelope (wrong schema, unknown aggregate key). Skipped by every replica.
    Invalid(String),
}

/// What arbitrating one batch produced.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub writes: Vec<Write>,
    /// (event id, partition, offset, verdict) for every record of the batch.
    pub verdicts: Vec<(String, u32, u64, Verdict)>,
    pub accepted: usize,
    /// Events in the batch's decodable envelopes (accepted or not).
    pub events: usize,
}

/// A cached aggregate state, and the last batch that changed it.
struct Cached {
    held: Held,
    batch: u64,
}

/// How the cache holds a state.
enum Held {
    /// No such aggregate, or its state is out being decided on (see [`Arbiter::take_state`]).
    Absent,
    /// Decoded: changed by the batch being arbitrated.
    Live(Box<AggregateState>),
    /// The bytes of its state row: unchanged since an earlier batch. The same bytes as the
    /// row's write (shared, not copied).
    Packed(Bytes),
}

impl Held {
    fn live(state: Option<AggregateState>) -> Held {
        match state {
            Some(state) => Held::Live(Box::new(state)),
            None => Held::Absent,
        }
    }
}

/// Per-partition arbiter state: the state cache.
///
/// The cache is a slab of states and an index from aggregate key to slab slot: a record
/// looks its aggregate up once (and allocates its key once, when it is new), and everything
/// after that (putting the state back, remembering the new one, writing the batch's state
/// rows) goes by slot.
pub struct Arbiter {
    index: hashbrown::HashMap<String, usize>,
    slots: Vec<Cached>,
    /// Number of the batch being arbitrated (starts at 1; 0 marks a state no batch changed).
    batch: u64,
    requests: HashMap<Vec<u8>, bool>,
    /// Every existing row is in the cache (true right after a clear, until the first eviction).
    complete: bool,
    capacity: usize,
}

const DEFAULT_CAPACITY: usize = 1_000_000;

impl Arbiter {
    /// An arbiter over a store that may already hold rows.
    pub fn new() -> Self {
        Arbiter { index: hashbrown::HashMap::default(), slots: Vec::new(), batch: 0, requests: HashMap::default(), complete: false, capacity: DEFAULT_CAPACITY }
    }

    /// An arbiter over a store known to be empty (rebuild): misses are absences.
    pub fn over_empty_store() -> Self {
        Arbiter { complete: true, ..Arbiter::new() }
    }

    /// Caps the cache at `entries` states + request ids (it is forgotten when full).
    pub fn with_capacity(self, entries: usize) -> Self {
        Arbiter { capacity: entries.max(1), ..self }
    }

    /// Forgets the cache (after a failed commit, the store is the truth again).
    pub fn reset(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.requests.clear();
        self.complete = false;
    }

    /// The aggregate's slot and current state, moved out of the cache (no copy): every caller
    /// puts a state back with [`Arbiter::put_back`] or [`Arbiter::remember`] before the next
    /// record, and an error in between resets the whole cache.
    /// A packed state is decoded and its bytes stay in the cache (putting it back unchanged
    /// then costs nothing).
    async fn take_state(&mut self, store: &dyn ProjectionStore, key: &AggregateKey, text: &str) -> Result<(usize, Option<AggregateState>), StoreError> {
        let slot = match self.index.entry_ref(text) {
            hashbrown::hash_map::EntryRef::Occupied(entry) => *entry.get(),
            hashbrown::hash_map::EntryRef::Vacant(entry) => {
                let slot = self.slots.len();
                entry.insert(slot);
                self.slots.push(Cached { held: Held::Absent, batch: 0 });
                // Not cached: absent in a complete cache, else as the store has it.
                let state = if self.complete { None } else { rows::load_state(store, key).await? };
                return Ok((slot, state));
            }
        };
        let Some(cached) = self.slots.get_mut(slot) else {
            return Err(StoreError::Backend(format!("the arbiter's index names slot {slot} of {text}, which it does not have")));
        };
        let state = match &mut cached.held {
            Held::Absent => None,
            Held::Packed(bytes) => Some(rows::decode_state(key, bytes).map_err(|e| StoreError::Corrupt(format!("cached state of {text}: {e}")))?),
            live @ Held::Live(_) => match std::mem::replace(live, Held::Absent) {
                Held::Live(state) => Some(*state),
                _ => None,
            },
        };
        Ok((slot, state))
    }

    /// Returns an unchanged state taken with [`Arbiter::take_state`].
    fn put_back(&mut self, slot: usize, state: Option<AggregateState>) {
        match self.slots.get_mut(slot) {
            // Its bytes never left: they are this state.
            Some(Cached { held: Held::Packed(_), .. }) | None => {}
            Some(cached) => cached.held = Held::live(state),
        }
    }

    async fn request_seen(&mut self, store: &dyn ProjectionStore, row: &[u8]) -> Result<bool, StoreError> {
        if let Some(seen) = self.requests.get(row) {
            return Ok(*seen);
        }
        if self.complete {
            return Ok(false);
        }
        Ok(store.get(Table::Requests, row, &[]).await?.is_some())
    }

    /// Caches the state an accepted envelope left its aggregate in; true if this is the
    /// batch's first change to it.
    fn remember(&mut self, slot: usize, state: Option<AggregateState>) -> bool {
        let batch = self.batch;
        match self.slots.get_mut(slot) {
            Some(cached) => {
                cached.held = Held::live(state);
                std::mem::replace(&mut cached.batch, batch) != batch
            }
            None => false,
        }
    }

    /// True when the next [`Arbiter::arbitrate`] will forget the cache (and read the store).
    pub fn is_full(&self) -> bool {
        self.index.len() + self.requests.len() >= self.capacity
    }

    /// Bounds the cache. Only called between batches: everything cached then is committed, so
    /// forgetting it is safe (mid-batch, the cache holds uncommitted states the rest of the
    /// batch must see).
    fn evict_if_full(&mut self) {
        if self.is_full() {
            self.index.clear();
            self.slots.clear();
            self.requests.clear();
            self.complete = false;
        }
    }

    /// Arbitrates `records` (one partition, in offset order). The caller commits
    /// `outcome.writes` with the next offset, and calls [`Arbiter::reset`] if that fails.
    pub async fn arbitrate(&mut self, store: &dyn ProjectionStore, records: &[StoredRecord]) -> Result<BatchOutcome, StoreError> {
        let mut writes = Vec::new();
        let outcome = self.arbitrate_into(store, records, &mut writes).await?;
        Ok(BatchOutcome { writes, ..outcome })
    }

    /// [`Arbiter::arbitrate`], with the batch's rows going to `sink` (a rebuild's
    /// [`LoadRows`](idp_store::LoadRows)) instead of `outcome.writes` (left empty).
    pub async fn arbitrate_into<S: RowSink + Send>(
        &mut self,
        store: &dyn ProjectionStore,
        records: &[StoredRecord],
        sink: &mut S,
    ) -> Result<BatchOutcome, StoreError> {
        self.evict_if_full();
        self.batch += 1;
        let result = self.arbitrate_batch(store, records, sink).await;
        if result.is_err() {
            // A state may be out of the cache mid-record: the cache is no longer the truth.
            self.reset();
        }
        result
    }

    async fn arbitrate_batch<S: RowSink + Send>(
        &mut self,
        store: &dyn ProjectionStore,
        records: &[StoredRecord],
        sink: &mut S,
    ) -> Result<BatchOutcome, StoreError> {
        let mut out = BatchOutcome::default();
        // The aggregates whose state the batch changed, in first-change order.
        let mut touched = Vec::new();
        for rec in records {
            let (event_id, verdict) = self.one(store, rec, &mut out, sink, &mut touched).await?;
            if verdict == Verdict::Accepted {
                out.accepted += 1;
            }
            out.verdicts.push((event_id, rec.partition, rec.offset, verdict));
        }
        // Each state row the batch changed, once, as the batch leaves it: the same rows as one
        // write per accepted envelope (the last write to a key wins), without encoding the
        // intermediate states. The cache keeps each one as those bytes.
        for (slot, key) in touched {
            let Some(cached) = self.slots.get_mut(slot) else {
                return Err(StoreError::Backend(format!("the arbiter lost the state of {}, changed in this batch", key.encode())));
            };
            let (table, pk) = rows::state_row(&key);
            match std::mem::replace(&mut cached.held, Held::Absent) {
                Held::Live(state) => {
                    let value = Bytes::from(rows::encode_state(&state));
                    cached.held = Held::Packed(value.clone());
                    sink.put(table, &pk, &[], value);
                }
                Held::Packed(value) => {
                    cached.held = Held::Packed(value.clone());
                    sink.put(table, &pk, &[], value);
                }
                Held::Absent => sink.delete(table, &pk, &[]),
            }
        }
        Ok(out)
    }

    async fn one(
        &mut self,
        store: &dyn ProjectionStore,
        rec: &StoredRecord,
        out: &mut BatchOutcome,
        writes: &mut (impl RowSink + Send),
        touched: &mut Vec<(usize, AggregateKey)>,
    ) -> Result<(String, Verdict), StoreError> {
        let env = match Envelope::decode(rec.record.value.as_slice()) {
            Ok(env) => env,
            Err(e) => return Ok((String::new(), Verdict::Invalid(format!("undecodable envelope: {e}")))),
        };
        out.events += env.events.len();
        let Some(key) = AggregateKey::parse(&env.aggregate) else {
            return Ok((env.event_id, Verdict::Invalid(format!("unknown aggregate key {:?}", env.aggregate))));
        };
        let (slot, current) = self.take_state(store, &key, &env.aggregate).await?;
        let version = current.as_ref().map(AggregateState::version).unwrap_or(0);
        let request_row = (!env.request_id.is_empty()).then(|| rows::request_row(&env.aggregate, &env.request_id));
        if let Some(row) = &request_row {
            if self.request_seen(store, row).await? {
                self.put_back(slot, current);
                return Ok((env.event_id, Verdict::Duplicate));
            }
        }
        if version != env.expected_version {
            self.put_back(slot, current);
            return Ok((env.event_id, Verdict::Conflict { current_version: version }));
        }
        let before = before_view(current.as_ref());
        // The events go into the state (moved, not copied); what the side rows need of them
        // is taken first.
        let side = side_inputs(&env.events);
        let Envelope { event_id, events, recorded_at_ms, .. } = env;
        let next = evolve_events(current, events, recorded_at_ms, &event_id);
        rows::transition_into(&key, before.as_ref(), next.as_ref(), writes);
        if let Some(row) = request_row {
            writes.put(Table::Requests, &row, &[], event_id.clone().into_bytes().into());
            self.requests.insert(row, true);
        }
        side_rows(rec, &event_id, recorded_at_ms, side, next.as_ref().or(before.as_ref()), writes);
        if self.remember(slot, next) {
            touched.push((slot, key));
        }
        Ok((event_id, Verdict::Accepted))
    }
}

/// What a side row needs of its event (see [`side_rows`]), taken before the events are moved
/// into the state.
enum SideInput {
    Revocation {
        origin_jti: String,
        expires_at_ms: i64,
    },
    /// The `CodeIssued` event, encoded: the outbox item's `code` field as it will be written.
    Code(Vec<u8>),
    Trigger(PostCall),
}

/// The side-row inputs of an envelope's events, with each event's index in the envelope.
fn side_inputs(events: &[Event]) -> Vec<(usize, SideInput)> {
    let mut inputs = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let input = match &event.kind {
            Some(Kind::RefreshTokenRevoked(r)) => SideInput::Revocation { origin_jti: r.origin_jti.clone(), expires_at_ms: r.expires_at_ms },
            Some(Kind::CodeIssued(code)) => SideInput::Code(code.encode_to_vec()),
            Some(kind) => match post_trigger(kind) {
                Some(call) => SideInput::Trigger(call),
                None => continue,
            },
            None => continue,
        };
        inputs.push((index, input));
    }
    inputs
}

/// Rows driven by the events themselves: revocations, the message outbox and the post-*
/// trigger queue. `state` is the aggregate's after the envelope (before it, if the envelope
/// deleted it).
fn side_rows(
    rec: &StoredRecord,
    event_id: &str,
    recorded_at_ms: i64,
    inputs: Vec<(usize, SideInput)>,
    state: Option<&AggregateState>,
    writes: &mut impl RowSink,
) {
    for (index, input) in inputs {
        match input {
            SideInput::Revocation { origin_jti, expires_at_ms } => {
                writes.put(Table::Revocations, origin_jti.as_bytes(), &[], expires_at_ms.to_be_bytes().to_vec().into())
            }
            SideInput::Code(code) => {
                let (pool_id, username) = match state {
                    Some(AggregateState::User(u)) => (u.pool_id.as_str(), u.username.as_str()),
                    _ => ("", ""),
                };
                // One id per message (an envelope may issue an email and an SMS code): the
                // senders de-duplicate by it.
                let value = rows::outbox_item(event_id, index, pool_id, username, &code, recorded_at_ms);
                writes.put(Table::Outbox, &rows::outbox_pk(rec.partition), &rows::outbox_ck(rec.offset, index as u32), value.into());
            }
            SideInput::Trigger(call) => {
                let Some(AggregateState::User(u)) = state else { continue };
                let item = TriggerItem {
                    event_id: format!("{event_id}/{index}"),
                    pool_id: u.pool_id.clone(),
                    username: u.username.clone(),
                    kind: call.kind.into(),
                    trigger_source: call.source.into(),
                    client_id: call.client_id,
                    user_attributes: trigger_attributes(u),
                    recorded_at_ms,
                    trigger_version: call.version,
                    client_metadata: call.client_metadata,
                };
                writes.put(Table::TriggerQueue, &rows::outbox_pk(rec.partition), &rows::outbox_ck(rec.offset, index as u32), item.encode_to_vec().into());
            }
        }
    }
}

/// What the index rows ([`rows::transition`]) and the side rows read of an aggregate's state
/// from before an envelope, kept while `evolve` consumes the state itself. For a user, that
/// is every field except three heavy ones neither reads (password record, pending codes, TOTP
/// secret): a full copy of each user state per envelope was the largest cost of replaying a
/// log of returning users. `view_reads_the_same_rows` pins it.
fn before_view(state: Option<&AggregateState>) -> Option<AggregateState> {
    let Some(AggregateState::User(u)) = state else { return state.cloned() };
    // No `..`: a new field fails to compile here until someone decides whether it is heavy.
    let UserState {
        version,
        pool_id,
        sub,
        username,
        attributes,
        status,
        enabled,
        password: _,
        codes: _,
        tokens_revoked_before_ms,
        created_at_ms,
        updated_at_ms,
        temporary_password_expires_at_ms,
        groups,
        failed_sign_ins,
        last_failed_sign_in_ms,
        locked_until_ms,
        totp_secret_sealed: _,
        totp_verified,
        totp_last_step,
        mfa_sms_enabled,
        mfa_totp_enabled,
        mfa_email_enabled,
        mfa_preferred,
        sessions_valid_from_version,
    } = u;
    Some(AggregateState::User(UserState {
        version: *version,
        pool_id: pool_id.clone(),
        sub: sub.clone(),
        username: username.clone(),
        attributes: attributes.clone(),
        status: status.clone(),
        enabled: *enabled,
        password: None,
        codes: Vec::new(),
        tokens_revoked_before_ms: *tokens_revoked_before_ms,
        created_at_ms: *created_at_ms,
        updated_at_ms: *updated_at_ms,
        temporary_password_expires_at_ms: *temporary_password_expires_at_ms,
        groups: groups.clone(),
        failed_sign_ins: *failed_sign_ins,
        last_failed_sign_in_ms: *last_failed_sign_in_ms,
        locked_until_ms: *locked_until_ms,
        totp_secret_sealed: Default::default(),
        totp_verified: *totp_verified,
        totp_last_step: *totp_last_step,
        mfa_sms_enabled: *mfa_sms_enabled,
        mfa_totp_enabled: *mfa_totp_enabled,
        mfa_email_enabled: *mfa_email_enabled,
        mfa_preferred: mfa_preferred.clone(),
        sessions_valid_from_version: *sessions_valid_from_version,
    }))
}

/// A post-* trigger call an event asks for.
struct PostCall {
    kind: &'static str,
    source: &'static str,
    client_id: String,
    version: u64,
    client_metadata: Vec<Attribute>,
}

/// The post-* trigger call of an event, if it asks for one: the front recorded the deployed
/// trigger's version in the event (0: the pool had none, nothing to call).
fn post_trigger(kind: &Kind) -> Option<PostCall> {
    let call = match kind {
        Kind::UserConfirmed(e) => PostCall {
            kind: "PostConfirmation",
            source: "PostConfirmation_ConfirmSignUp",
            client_id: e.client_id.clone(),
            version: e.post_confirmation_trigger_version,
            client_metadata: e.client_metadata.clone(),
        },
        Kind::PasswordChanged(e) if e.reason == "RESET" => PostCall {
            kind: "PostConfirmation",
            source: "PostConfirmation_ConfirmForgotPassword",
            client_id: e.client_id.clone(),
            version: e.post_confirmation_trigger_version,
            client_metadata: e.client_metadata.clone(),
        },
        Kind::UserAuthenticated(e) => PostCall {
            kind: "PostAuthentication",
            source: "PostAuthentication_Authentication",
            client_id: e.client_id.clone(),
            version: e.post_authentication_trigger_version,
            client_metadata: e.client_metadata.clone(),
        },
        _ => return None,
    };
    (call.version != 0).then_some(call)
}

/// A user's attributes as triggers see them (with `sub` and `cognito:user_status`), in order.
fn trigger_attributes(u: &UserState) -> Vec<Attribute> {
    let mut attrs: Vec<Attribute> = u.attributes.iter().map(|(name, value)| Attribute { name: name.clone(), value: value.clone() }).collect();
    attrs.push(Attribute { name: "sub".into(), value: u.sub.clone() });
    attrs.push(Attribute { name: "cognito:user_status".into(), value: u.status.clone() });
    attrs.sort_by(|a, b| a.name.cmp(&b.name));
    attrs
}

impl Default for Arbiter {
    fn default() -> Self {
        Arbiter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idp_domain::pb::{CodeIssued, GroupMembership, PasswordRecord, PendingCode, UserDeleted};
    use idp_eventlog::Record;

    fn full_user() -> UserState {
        UserState {
            version: 7,
            pool_id: "p_1".into(),
            sub: "s-1".into(),
            username: "Alice".into(),
            attributes: [("email".to_string(), "a@x.io".to_string()), ("name".to_string(), "Al".to_string()), ("custom:x".to_string(), "y".to_string())].into(),
            status: "CONFIRMED".into(),
            enabled: true,
            password: Some(PasswordRecord {
                argon2_phc: "$argon2id$…".into(),
                srp_salt_hex: "ab".into(),
                srp_verifier_hex: "cd".repeat(384),
                set_at_ms: 1,
                ..Default::default()
            }),
            codes: vec![PendingCode::default()],
            groups: vec![GroupMembership { group_name: "admins".into(), group_id: "g1".into() }],
            totp_secret_sealed: vec![9; 40].into(),
            mfa_preferred: "SOFTWARE_TOKEN_MFA".into(),
            ..Default::default()
        }
    }

    fn rec() -> StoredRecord {
        StoredRecord { partition: 3, offset: 11, record: Record { key: b"k".to_vec(), headers: vec![], value: vec![] } }
    }

    #[test]
    fn view_reads_the_same_rows() {
        let key = AggregateKey::user("p_1", "alice");
        let full = AggregateState::User(full_user());
        let view = before_view(Some(&full));
        let mut changed = full_user();
        changed.attributes.insert("email".into(), "b@x.io".into());
        changed.enabled = false;
        changed.groups.clear();
        let changed = AggregateState::User(changed);
        for new in [Some(&changed), Some(&full), None] {
            assert_eq!(rows::transition(&key, Some(&full), new), rows::transition(&key, view.as_ref(), new));
        }
        // Side rows fall back to the state before when the envelope deletes the aggregate.
        let env = Envelope {
            event_id: "e".into(),
            events: vec![
                idp_domain::pb::Event { kind: Some(Kind::CodeIssued(CodeIssued { purpose: "SIGN_UP".into(), ..Default::default() })) },
                idp_domain::pb::Event { kind: Some(Kind::UserDeleted(UserDeleted::default())) },
            ],
            ..Default::default()
        };
        let (mut from_full, mut from_view) = (Vec::new(), Vec::new());
        side_rows(&rec(), &env.event_id, env.recorded_at_ms, side_inputs(&env.events), Some(&full), &mut from_full);
        side_rows(&rec(), &env.event_id, env.recorded_at_ms, side_inputs(&env.events), view.as_ref(), &mut from_view);
        assert_eq!(from_full, from_view);
        assert!(!from_full.is_empty());
    }
}
