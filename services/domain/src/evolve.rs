//! `evolve`: applies an accepted envelope to an aggregate's state. Mechanical only: every value
//! comes from the events (which recorded the clock, ids and hashes); no rule is checked here.

use crate::pb::{event::Kind, ClientState, Envelope, Event, GroupMembership, GroupState, PendingCode, PoolState, UserState};
use crate::user::status;

/// The state of any aggregate, as the projector stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum AggregateState {
    Pool(PoolState),
    Client(ClientState),
    User(UserState),
    Group(GroupState),
}

impl AggregateState {
    pub fn version(&self) -> u64 {
        match self {
            AggregateState::Pool(s) => s.version,
            AggregateState::Client(s) => s.version,
            AggregateState::User(s) => s.version,
            AggregateState::Group(s) => s.version,
        }
    }
    fn set_version(&mut self, v: u64) {
        match self {
            AggregateState::Pool(s) => s.version = v,
            AggregateState::Client(s) => s.version = v,
            AggregateState::User(s) => s.version = v,
            AggregateState::Group(s) => s.version = v,
        }
    }
}

/// Applies every event of an accepted envelope, in order, and bumps the version by one.
/// `None` in or out means the aggregate does not exist (never created, or deleted).
pub fn evolve(state: Option<AggregateState>, envelope: &Envelope) -> Option<AggregateState> {
    evolve_events(state, envelope.events.clone(), envelope.recorded_at_ms, &envelope.event_id)
}

/// [`evolve`] for the events of an envelope taken apart: what the state keeps of them (names,
/// attributes, password records, code hashes) is moved into it instead of copied. The
/// projector's arbiter applies every envelope of the log this way.
pub fn evolve_events(state: Option<AggregateState>, events: Vec<Event>, recorded_at_ms: i64, event_id: &str) -> Option<AggregateState> {
    let version = state.as_ref().map(AggregateState::version).unwrap_or(0) + 1;
    let at = recorded_at_ms;
    // Failed attempts do not void challenge sessions; anything else does.
    let only_failures = events.iter().all(|e| matches!(e.kind, Some(Kind::SignInFailed(_)) | Some(Kind::CodeAttemptFailed(_))));
    let mut state = state;
    for event in events {
        let Some(kind) = event.kind else { continue };
        state = apply(state, kind, at, event_id);
    }
    state.map(|mut s| {
        s.set_version(version);
        if let AggregateState::User(u) = &mut s {
            if !only_failures {
                u.sessions_valid_from_version = version;
            }
        }
        s
    })
}

fn apply(state: Option<AggregateState>, kind: Kind, at: i64, event_id: &str) -> Option<AggregateState> {
    use AggregateState as S;
    match (state, kind) {
        (_, Kind::PoolCreated(e)) => Some(S::Pool(PoolState {
            version: 0,
            pool_id: e.pool_id,
            settings: e.settings,
            created_at_ms: e.created_at_ms,
            updated_at_ms: e.created_at_ms,
            triggers: vec![],
            trigger_versions: 0,
        })),
        (Some(S::Pool(mut p)), Kind::PoolUpdated(e)) => {
            p.settings = e.settings;
            p.updated_at_ms = at;
            Some(S::Pool(p))
        }
        (Some(S::Pool(_)), Kind::PoolDeleted(_)) => None,
        (Some(S::Pool(mut p)), Kind::TriggerDeployed(e)) => {
            p.triggers.retain(|t| t.kind != e.kind);
            p.trigger_versions = p.trigger_versions.max(e.version);
            p.triggers.push(e);
            p.triggers.sort_by(|a, b| a.kind.cmp(&b.kind));
            p.updated_at_ms = at;
            Some(S::Pool(p))
        }
        (Some(S::Pool(mut p)), Kind::CustomAttributesAdded(e)) => {
            if let Some(settings) = p.settings.as_mut() {
                settings.schema.extend(e.attributes);
            }
            p.updated_at_ms = at;
            Some(S::Pool(p))
        }
        (_, Kind::GroupCreated(e)) => Some(S::Group(GroupState {
            version: 0,
            pool_id: e.pool_id,
            group_name: e.group_name,
            group_id: e.group_id,
            settings: e.settings,
            created_at_ms: e.created_at_ms,
            updated_at_ms: e.created_at_ms,
        })),
        (Some(S::Group(mut g)), Kind::GroupUpdated(e)) => {
            g.settings = e.settings;
            g.updated_at_ms = at;
            Some(S::Group(g))
        }
        (Some(S::Group(_)), Kind::GroupDeleted(_)) => None,
        (_, Kind::UserCreatedByAdmin(e)) => Some(S::User(UserState {
            version: 0,
            pool_id: e.pool_id,
            sub: e.sub,
            username: e.username,
            attributes: e.attributes.into_iter().map(|a| (a.name, a.value)).collect(),
            status: status::FORCE_CHANGE_PASSWORD.into(),
            enabled: true,
            password: e.password,
            codes: vec![],
            tokens_revoked_before_ms: 0,
            created_at_ms: e.created_at_ms,
            updated_at_ms: e.created_at_ms,
            temporary_password_expires_at_ms: e.temporary_password_expires_at_ms,
            ..Default::default()
        })),
        (Some(S::Pool(mut p)), Kind::TriggerRemoved(e)) => {
            p.triggers.retain(|t| t.kind != e.kind);
            p.updated_at_ms = at;
            Some(S::Pool(p))
        }
        (_, Kind::ClientCreated(e)) => {
            Some(S::Client(ClientState { version: 0, client_id: e.client_id, pool_id: e.pool_id, settings: e.settings, created_at_ms: e.created_at_ms }))
        }
        (Some(S::Client(_)), Kind::ClientDeleted(_)) => None,
        (_, Kind::UserSignedUp(e)) => Some(S::User(UserState {
            version: 0,
            pool_id: e.pool_id,
            sub: e.sub,
            username: e.username,
            attributes: e
                .attributes
                .into_iter()
                .map(|a| (a.name, a.value))
                .chain(e.auto_verified_attributes.iter().map(|a| (format!("{a}_verified"), "true".to_string())))
                .collect(),
            status: match (e.initial_status.as_str(), e.auto_confirmed) {
                ("", true) => status::CONFIRMED.into(),
                ("", false) => status::UNCONFIRMED.into(),
                (migrated, _) => migrated.into(),
            },
            enabled: true,
            password: e.password,
            codes: vec![],
            tokens_revoked_before_ms: 0,
            created_at_ms: e.created_at_ms,
            updated_at_ms: e.created_at_ms,
            ..Default::default()
        })),
        (Some(S::User(mut u)), kind) => {
            // A sign-in or a challenge answer is not a modification of the user.
            if !matches!(kind, Kind::UserAuthenticated(_) | Kind::CustomChallengeAnswered(_)) {
                u.updated_at_ms = at;
            }
            match kind {
                // An invitation carries a temporary password for the sender, nothing to verify.
                Kind::CodeIssued(e) if e.purpose == crate::decide::purpose::ADMIN_CREATE_USER => {}
                Kind::CodeIssued(e) => {
                    u.codes.retain(|c| !(c.purpose == e.purpose && c.attribute == e.attribute));
                    u.codes.push(PendingCode {
                        purpose: e.purpose,
                        attribute: e.attribute,
                        channel: e.channel,
                        destination: e.destination,
                        salt: e.salt,
                        hash: e.hash,
                        expires_at_ms: e.expires_at_ms,
                        failed_attempts: 0,
                        event_id: event_id.to_string(),
                    });
                }
                Kind::CodeAttemptFailed(e) => {
                    for c in u.codes.iter_mut().filter(|c| c.purpose == e.purpose && c.attribute == e.attribute) {
                        c.failed_attempts += 1;
                    }
                }
                Kind::UserConfirmed(e) => {
                    u.status = status::CONFIRMED.into();
                    u.codes.retain(|c| c.purpose != crate::decide::purpose::SIGN_UP);
                    for a in &e.verified_attributes {
                        u.attributes.insert(format!("{a}_verified"), "true".into());
                    }
                }
                Kind::AttributesUpdated(e) => {
                    for a in e.set {
                        u.attributes.insert(a.name, a.value);
                    }
                    for name in &e.deleted {
                        u.attributes.remove(name);
                    }
                    for name in &e.unverified {
                        u.attributes.insert(format!("{name}_verified"), "false".into());
                    }
                }
                Kind::AttributeVerified(e) => {
                    u.attributes.insert(format!("{}_verified", e.name), "true".into());
                    u.codes.retain(|c| !(c.purpose == crate::decide::purpose::VERIFY_ATTRIBUTE && c.attribute == e.name));
                }
                Kind::PasswordChanged(e) => {
                    u.password = e.password;
                    if e.reason == "RESET" {
                        u.codes.retain(|c| c.purpose != crate::decide::purpose::FORGOT_PASSWORD);
                        if u.status == status::RESET_REQUIRED {
                            u.status = status::CONFIRMED.into();
                        }
                    }
                }
                Kind::PasswordSetByAdmin(e) => {
                    u.password = e.password;
                    u.status = if e.permanent { status::CONFIRMED.into() } else { status::FORCE_CHANGE_PASSWORD.into() };
                    u.temporary_password_expires_at_ms = e.temporary_password_expires_at_ms;
                    u.codes.retain(|c| c.purpose != crate::decide::purpose::FORGOT_PASSWORD);
                }
                Kind::PasswordResetRequired(_) => u.status = status::RESET_REQUIRED.into(),
                Kind::UserDisabled(_) => u.enabled = false,
                Kind::UserEnabled(_) => u.enabled = true,
                Kind::UserAddedToGroup(e) => {
                    u.groups.retain(|g| g.group_name != e.group_name);
                    u.groups.push(GroupMembership { group_name: e.group_name, group_id: e.group_id });
                    u.groups.sort_by(|a, b| a.group_name.cmp(&b.group_name));
                }
                Kind::UserRemovedFromGroup(e) => u.groups.retain(|g| g.group_name != e.group_name),
                Kind::SignedOutEverywhere(e) => u.tokens_revoked_before_ms = e.revoked_before_ms,
                Kind::RefreshTokenRevoked(_) => {}
                Kind::UserDeleted(_) => return None,
                Kind::SignInFailed(e) => {
                    u.failed_sign_ins = e.failures;
                    u.last_failed_sign_in_ms = e.at_ms;
                    u.locked_until_ms = e.locked_until_ms;
                }
                Kind::SignInSucceeded(_) => {
                    u.failed_sign_ins = 0;
                    u.locked_until_ms = 0;
                }
                Kind::NewPasswordRequiredAnswered(e) => {
                    u.password = e.password;
                    u.status = status::CONFIRMED.into();
                    u.temporary_password_expires_at_ms = 0;
                    for a in e.attributes {
                        u.attributes.insert(a.name, a.value);
                    }
                }
                Kind::SoftwareTokenAssociated(e) => {
                    u.totp_secret_sealed = e.secret_sealed;
                    u.totp_verified = false;
                    u.mfa_totp_enabled = false;
                    if u.mfa_preferred == crate::signin::method::SOFTWARE_TOKEN {
                        u.mfa_preferred.clear();
                    }
                }
                Kind::SoftwareTokenVerified(e) => {
                    u.totp_verified = true;
                    u.totp_last_step = e.step;
                    // Cognito enables a freshly verified software token as an MFA method.
                    u.mfa_totp_enabled = true;
                }
                Kind::MfaPreferenceSet(e) => {
                    u.mfa_sms_enabled = e.sms_enabled;
                    u.mfa_totp_enabled = e.software_token_enabled;
                    u.mfa_email_enabled = e.email_enabled;
                    u.mfa_preferred = e.preferred;
                }
                Kind::MfaCodeAccepted(e) => {
                    u.failed_sign_ins = 0;
                    u.locked_until_ms = 0;
                    if e.totp_step > 0 {
                        u.totp_last_step = e.totp_step;
                    }
                    u.codes.retain(|c| c.purpose != crate::decide::purpose::MFA);
                }
                _ => {}
            }
            Some(S::User(u))
        }
        (state, _) => state,
    }
}
