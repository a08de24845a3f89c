//! Given/when/then tests of the user rules: given accepted envelopes, when a command is decided,
//! then these events (or this error) come out.

use super::*;
use crate::decide::purpose;
use crate::evolve::{evolve, AggregateState};
use crate::pool::PoolCommand;
use crate::testkit::{envelope, FakeCtx};

const PW: &str = "Corr3ct-Horse";

struct World {
    ctx: FakeCtx,
    pool: PoolState,
    user: Option<UserState>,
}

fn world_with(auto_verify: &[&str]) -> World {
    let mut ctx = crate::testkit::ctx();
    let pool = crate::testkit::pool(&mut ctx, auto_verify);
    World { ctx, pool, user: None }
}

fn world() -> World {
    world_with(&["email"])
}

impl World {
    /// when: decide; on success the events are applied (given for the next step).
    fn when(&mut self, cmd: UserCommand) -> Result<Vec<Event>, Rejected> {
        let result = decide(&self.pool, self.user.as_ref(), cmd, &mut self.ctx);
        let recorded = match &result {
            Ok(events) => events.clone(),
            Err(r) => r.record.clone(),
        };
        if !recorded.is_empty() {
            let state = self.user.clone().map(AggregateState::User);
            self.user = match evolve(state, &envelope(recorded, self.ctx.now)) {
                Some(AggregateState::User(u)) => Some(u),
                _ => None,
            };
        }
        result
    }
    fn sign_up(&mut self, name: &str) -> Result<Vec<Event>, Rejected> {
        self.when(UserCommand::SignUp {
            username: name.into(),
            password: PW.into(),
            attributes: vec![("email".into(), "a@example.com".into())],
            client_id: "c1".into(),
            pre_sign_up: None,
            client_metadata: vec![],
        })
    }
    fn confirmed(&mut self, name: &str) {
        self.sign_up(name).expect("sign up");
        self.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] }).expect("confirm");
    }
    fn user(&self) -> &UserState {
        self.user.as_ref().expect("user exists")
    }
}

fn error(r: Result<Vec<Event>, Rejected>) -> DomainError {
    match r {
        Err(r) => r.error,
        Ok(e) => panic!("expected an error, got {e:?}"),
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match &e.kind {
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
            _ => "other",
        })
        .collect()
}

#[test]
fn sign_up_records_hashes_and_sends_a_code_to_the_auto_verified_email() {
    let mut w = world();
    let events = w.sign_up("Alice").expect("sign up");
    assert_eq!(kinds(&events), ["UserSignedUp", "CodeIssued"]);
    let Some(Kind::UserSignedUp(e)) = &events[0].kind else { panic!() };
    assert_eq!(e.password.as_ref().map(|p| p.argon2_phc.as_str()), Some("hash(Corr3ct-Horse)"));
    assert_eq!(e.password.as_ref().map(|p| &p.srp_verifier[..]), Some(&b"v(Test1,Alice)"[..]));
    let Some(Kind::CodeIssued(c)) = &events[1].kind else { panic!() };
    assert_eq!((c.purpose.as_str(), c.channel.as_str(), c.destination.as_str()), ("SIGN_UP", "EMAIL", "a@example.com"));
    assert_eq!(c.expires_at_ms, 1_000_000 + 24 * 3600 * 1000);
    assert_eq!(w.user().status, "UNCONFIRMED");
}

#[test]
fn plaintext_password_never_appears_in_events() {
    let mut w = world();
    let events = w.sign_up("alice").expect("sign up");
    let text = format!("{events:?}");
    assert!(!text.contains(&format!("\"{PW}\"")), "{text}");
}

#[test]
fn sign_up_prefers_sms_when_both_are_auto_verified() {
    let mut w = world_with(&["email", "phone_number"]);
    let events = w
        .when(UserCommand::SignUp {
            username: "bob".into(),
            password: PW.into(),
            attributes: vec![("email".into(), "b@example.com".into()), ("phone_number".into(), "+12065551234".into())],
            client_id: "c1".into(),
            pre_sign_up: None,
            client_metadata: vec![],
        })
        .expect("sign up");
    let Some(Kind::CodeIssued(c)) = &events[1].kind else { panic!() };
    assert_eq!((c.channel.as_str(), c.attribute.as_str()), ("SMS", "phone_number"));
}

#[test]
fn sign_up_without_auto_verification_sends_nothing() {
    let mut w = world_with(&[]);
    assert_eq!(kinds(&w.sign_up("carol").expect("sign up")), ["UserSignedUp"]);
}

#[test]
fn taken_username_is_refused() {
    let mut w = world();
    w.sign_up("alice").expect("first");
    assert_eq!(error(w.sign_up("alice")), DomainError::UsernameExists);
}

#[test]
fn bad_sign_up_input_is_refused_and_records_nothing() {
    let mut w = world();
    let sign_up = |username: &str, password: &str, attributes: &[(&str, &str)]| UserCommand::SignUp {
        username: username.into(),
        password: password.into(),
        attributes: attributes.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        client_id: "c".into(),
        pre_sign_up: None,
        client_metadata: vec![],
    };
    let long_name = "n".repeat(2049);
    let cases: Vec<(UserCommand, &str)> = vec![
        (sign_up("", PW, &[]), "InvalidParameterException"),
        (sign_up("a b", PW, &[]), "InvalidParameterException"),
        (sign_up("x", "weak", &[]), "InvalidPasswordException"),
        (sign_up("x", PW, &[("shoe_size", "9")]), "InvalidParameterException"),
        (sign_up("x", PW, &[("email", "not-an-email")]), "InvalidParameterException"),
        (sign_up("x", PW, &[("email_verified", "true")]), "InvalidParameterException"),
        (sign_up("x", PW, &[("name", &long_name)]), "InvalidParameterException"),
    ];
    for (cmd, name) in cases {
        let r = decide(&w.pool, None, cmd, &mut w.ctx);
        match r {
            Err(rej) => {
                assert_eq!(rej.error.name(), name);
                assert!(rej.record.is_empty());
            }
            Ok(e) => panic!("accepted: {e:?}"),
        }
    }
    assert!(w.user.is_none());
}

#[test]
fn required_attributes_must_be_given() {
    let mut w = world();
    let mut s = w.pool.settings.clone().unwrap_or_default();
    for a in s.schema.iter_mut().filter(|a| a.name == "email") {
        a.required = true;
    }
    w.pool.settings = Some(s);
    let e = error(w.when(UserCommand::SignUp {
        username: "x".into(),
        password: PW.into(),
        attributes: vec![],
        client_id: "c".into(),
        pre_sign_up: None,
        client_metadata: vec![],
    }));
    assert!(matches!(&e, DomainError::InvalidParameter(m) if m.contains("email")), "{e:?}");
}

#[test]
fn confirmation_with_the_right_code_confirms_and_verifies_the_email() {
    let mut w = world();
    w.confirmed("alice");
    assert_eq!(w.user().status, "CONFIRMED");
    assert_eq!(w.user().attributes.get("email_verified").map(String::as_str), Some("true"));
    assert!(w.user().codes.is_empty());
}

#[test]
fn wrong_codes_are_counted_and_then_the_code_is_burned() {
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    for _ in 0..5 {
        let r = w.when(UserCommand::ConfirmSignUp { code: "000000".into(), client_id: String::new(), client_metadata: vec![] });
        let Err(rej) = r else { panic!("accepted") };
        assert_eq!(rej.error, DomainError::CodeMismatch);
        assert_eq!(kinds(&rej.record), ["CodeAttemptFailed"]);
    }
    assert_eq!(w.user().status, "UNCONFIRMED");
    let e = error(w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] }));
    assert_eq!(e.name(), "LimitExceededException");
}

#[test]
fn non_numeric_codes_are_mismatches_without_counting() {
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    let Err(rej) = w.when(UserCommand::ConfirmSignUp { code: "abc".into(), client_id: String::new(), client_metadata: vec![] }) else { panic!() };
    assert_eq!(rej.error, DomainError::CodeMismatch);
    assert!(rej.record.is_empty());
}

#[test]
fn expired_codes_are_refused() {
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    w.ctx.now += 24 * 3600 * 1000 + 1;
    assert_eq!(
        error(w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] })),
        DomainError::ExpiredCode
    );
}

#[test]
fn confirming_twice_is_not_authorized() {
    let mut w = world();
    w.confirmed("alice");
    assert_eq!(
        error(w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] })).name(),
        "NotAuthorizedException"
    );
}

#[test]
fn resend_replaces_the_pending_code() {
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    w.when(UserCommand::ConfirmSignUp { code: "999999".into(), client_id: String::new(), client_metadata: vec![] }).ok();
    assert_eq!(w.user().codes[0].failed_attempts, 1);
    assert_eq!(kinds(&w.when(UserCommand::ResendConfirmationCode { client_id: "c1".into(), client_metadata: vec![] }).expect("resend")), ["CodeIssued"]);
    assert_eq!(w.user().codes.len(), 1);
    assert_eq!(w.user().codes[0].failed_attempts, 0);
}

#[test]
fn sign_in_rules() {
    let mut w = world();
    assert_eq!(error(w.when(UserCommand::Authenticate { password: PW.into() })), DomainError::UserNotFound);
    w.sign_up("alice").expect("sign up");
    assert_eq!(error(w.when(UserCommand::Authenticate { password: "wrong".into() })).name(), "NotAuthorizedException");
    assert_eq!(error(w.when(UserCommand::Authenticate { password: PW.into() })), DomainError::UserNotConfirmed);
    w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] }).expect("confirm");
    assert_eq!(w.when(UserCommand::Authenticate { password: PW.into() }).expect("sign in"), vec![]);
    if let Some(u) = w.user.as_mut() {
        u.enabled = false;
    }
    assert_eq!(error(w.when(UserCommand::Authenticate { password: PW.into() })), DomainError::NotAuthorized("User is disabled.".into()));
}

#[test]
fn srp_sign_in_applies_the_same_rules_as_password_sign_in() {
    let mut w = world();
    // given no user: unknown
    assert_eq!(error(w.when(UserCommand::AuthenticateSrp { proof_ok: false })), DomainError::UserNotFound);
    // given an unconfirmed user: a bad proof is a wrong password, a good one is "not confirmed"
    w.sign_up("alice").expect("sign up");
    assert_eq!(error(w.when(UserCommand::AuthenticateSrp { proof_ok: false })), DomainError::incorrect_credentials());
    assert_eq!(error(w.when(UserCommand::AuthenticateSrp { proof_ok: true })), DomainError::UserNotConfirmed);
    // given a confirmed user: a good proof signs in and records nothing
    w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] }).expect("confirm");
    assert_eq!(w.when(UserCommand::AuthenticateSrp { proof_ok: true }).expect("sign in"), vec![]);
    assert_eq!(error(w.when(UserCommand::AuthenticateSrp { proof_ok: false })), DomainError::incorrect_credentials());
    // given a disabled user: disabled wins, even with a good proof
    if let Some(u) = w.user.as_mut() {
        u.enabled = false;
    }
    assert_eq!(error(w.when(UserCommand::AuthenticateSrp { proof_ok: true })), DomainError::NotAuthorized("User is disabled.".into()));
    // given a reset-required user
    if let Some(u) = w.user.as_mut() {
        u.enabled = true;
        u.status = status::RESET_REQUIRED.into();
    }
    assert_eq!(error(w.when(UserCommand::AuthenticateSrp { proof_ok: true })).name(), "PasswordResetRequiredException");
}

#[test]
fn prevent_user_existence_errors_hides_unknown_and_disabled_users() {
    for e in [DomainError::UserNotFound, DomainError::NotAuthorized("User is disabled.".into())] {
        assert_eq!(e.clone().hide_existence(true), DomainError::incorrect_credentials());
        assert_eq!(e.clone().hide_existence(false), e);
    }
    assert_eq!(DomainError::UserNotConfirmed.hide_existence(true), DomainError::UserNotConfirmed);
}

#[test]
fn changing_email_unverifies_it_and_sends_a_code() {
    let mut w = world();
    w.confirmed("alice");
    let events = w
        .when(UserCommand::UpdateAttributes {
            attributes: vec![("email".into(), "new@example.com".into()), ("name".into(), "Alice".into())],
            client_id: "c1".into(),
            client_metadata: vec![],
        })
        .expect("update");
    assert_eq!(kinds(&events), ["AttributesUpdated", "CodeIssued"]);
    assert_eq!(w.user().attributes.get("email_verified").map(String::as_str), Some("false"));
    assert_eq!(w.user().attributes.get("name").map(String::as_str), Some("Alice"));
    assert_eq!(error(w.when(UserCommand::VerifyAttribute { attribute: "email".into(), code: "1".into() })), DomainError::CodeMismatch);
    w.when(UserCommand::VerifyAttribute { attribute: "email".into(), code: "123456".into() }).expect("verify");
    assert_eq!(w.user().attributes.get("email_verified").map(String::as_str), Some("true"));
}

#[test]
fn unchanged_attributes_record_nothing() {
    let mut w = world();
    w.confirmed("alice");
    let events = w
        .when(UserCommand::UpdateAttributes { attributes: vec![("email".into(), "a@example.com".into())], client_id: "c".into(), client_metadata: vec![] })
        .expect("update");
    assert!(events.is_empty());
}

#[test]
fn users_cannot_write_system_attributes() {
    let mut w = world();
    w.confirmed("alice");
    let e = error(w.when(UserCommand::UpdateAttributes {
        attributes: vec![("email_verified".into(), "true".into())],
        client_id: "c".into(),
        client_metadata: vec![],
    }));
    assert_eq!(e.name(), "InvalidParameterException");
}

#[test]
fn change_password_needs_the_old_one_and_the_policy() {
    let mut w = world();
    w.confirmed("alice");
    assert_eq!(error(w.when(UserCommand::ChangePassword { previous: "nope".into(), proposed: "N3w-Password".into() })).name(), "NotAuthorizedException");
    assert_eq!(error(w.when(UserCommand::ChangePassword { previous: PW.into(), proposed: "weak".into() })).name(), "InvalidPasswordException");
    w.when(UserCommand::ChangePassword { previous: PW.into(), proposed: "N3w-Password".into() }).expect("change");
    assert!(w.when(UserCommand::Authenticate { password: "N3w-Password".into() }).is_ok());
    assert!(w.when(UserCommand::Authenticate { password: PW.into() }).is_err());
}

#[test]
fn forgot_password_goes_to_a_verified_destination_only() {
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    assert_eq!(error(w.when(UserCommand::ForgotPassword { client_id: "c".into(), client_metadata: vec![] })).name(), "InvalidParameterException");
    w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] }).expect("confirm");
    let events = w.when(UserCommand::ForgotPassword { client_id: "c".into(), client_metadata: vec![] }).expect("forgot");
    let Some(Kind::CodeIssued(c)) = &events[0].kind else { panic!() };
    assert_eq!((c.purpose.as_str(), c.expires_at_ms), (purpose::FORGOT_PASSWORD, 1_000_000 + 3600 * 1000));
    assert_eq!(
        error(w.when(UserCommand::ConfirmForgotPassword { code: "123456".into(), password: "weak".into(), client_id: String::new(), client_metadata: vec![] }))
            .name(),
        "InvalidPasswordException"
    );
    w.when(UserCommand::ConfirmForgotPassword { code: "123456".into(), password: "Re5et-Password".into(), client_id: String::new(), client_metadata: vec![] })
        .expect("reset");
    assert!(w.when(UserCommand::Authenticate { password: "Re5et-Password".into() }).is_ok());
    // The code is consumed.
    assert_eq!(
        error(w.when(UserCommand::ConfirmForgotPassword {
            code: "123456".into(),
            password: "An0ther-Pass".into(),
            client_id: String::new(),
            client_metadata: vec![]
        })),
        DomainError::ExpiredCode
    );
}

#[test]
fn global_sign_out_records_the_instant_and_revocation_records_the_token() {
    let mut w = world();
    w.confirmed("alice");
    w.ctx.now = 5_000_000;
    w.when(UserCommand::GlobalSignOut).expect("sign out");
    assert_eq!(w.user().tokens_revoked_before_ms, 5_000_000);
    let events = w.when(UserCommand::RevokeRefreshToken { origin_jti: "j1".into(), expires_at_ms: 9 }).expect("revoke");
    assert_eq!(kinds(&events), ["RefreshTokenRevoked"]);
}

#[test]
fn deleted_users_are_gone() {
    let mut w = world();
    w.confirmed("alice");
    w.when(UserCommand::Delete).expect("delete");
    assert!(w.user.is_none());
    assert_eq!(error(w.when(UserCommand::Delete)), DomainError::UserNotFound);
    w.sign_up("alice").expect("name is free again");
}

#[test]
fn evolve_counts_versions_per_envelope() {
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    assert_eq!(w.user().version, 1);
    w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: String::new(), client_metadata: vec![] }).expect("confirm");
    assert_eq!(w.user().version, 2);
}

#[test]
fn masks_destinations_like_cognito() {
    assert_eq!(mask_destination("EMAIL", "alice@example.com"), "a***@e***");
    assert_eq!(mask_destination("SMS", "+12065551234"), "+*******1234");
}

#[test]
fn pre_sign_up_auto_confirm_is_recorded_and_sends_no_code() {
    let mut w = world();
    let outcome = PreSignUpOutcome { auto_confirm: true, auto_verify_email: true, auto_verify_phone: true, trigger_version: 3 };
    let events = w
        .when(UserCommand::SignUp {
            username: "carol".into(),
            password: PW.into(),
            attributes: vec![("email".into(), "c@example.com".into())],
            client_id: "c1".into(),
            pre_sign_up: Some(outcome),
            client_metadata: vec![],
        })
        .expect("sign up");
    assert_eq!(kinds(&events), ["UserSignedUp"]);
    let Some(Kind::UserSignedUp(e)) = &events[0].kind else { panic!() };
    // Phone auto-verification is dropped: the user has no phone number.
    assert!(e.auto_confirmed);
    assert_eq!(e.auto_verified_attributes, vec!["email".to_string()]);
    assert_eq!(e.pre_sign_up_trigger_version, 3);
    let u = w.user.as_ref().expect("user");
    assert_eq!(u.status, status::CONFIRMED);
    assert_eq!(u.attributes.get("email_verified").map(String::as_str), Some("true"));
    assert!(!u.attributes.contains_key("phone_number_verified"));
    assert!(u.codes.is_empty());
}

#[test]
fn pre_sign_up_auto_verify_without_confirm_still_sends_the_code() {
    let mut w = world();
    let outcome = PreSignUpOutcome { auto_verify_email: true, trigger_version: 1, ..Default::default() };
    let events = w
        .when(UserCommand::SignUp {
            username: "dave".into(),
            password: PW.into(),
            attributes: vec![("email".into(), "d@example.com".into())],
            client_id: "c1".into(),
            pre_sign_up: Some(outcome),
            client_metadata: vec![],
        })
        .expect("sign up");
    assert_eq!(kinds(&events), ["UserSignedUp", "CodeIssued"]);
    let u = w.user.as_ref().expect("user");
    assert_eq!(u.status, status::UNCONFIRMED);
    assert_eq!(u.attributes.get("email_verified").map(String::as_str), Some("true"));
}

#[test]
fn trigger_deploys_are_versioned_replaced_and_removed() {
    use crate::pb::TriggerDeployed;
    let mut w = world();
    let deploy = |kind: &str, sha: char| PoolCommand::DeployTrigger {
        trigger: TriggerDeployed { kind: kind.into(), sha256: sha.to_string().repeat(64), ..Default::default() },
    };
    let mut pool = w.pool.clone();
    for (cmd, kind, version) in
        [(deploy("PreSignUp", 'a'), "PreSignUp", 1), (deploy("PreSignUp", 'b'), "PreSignUp", 2), (deploy("CustomMessage", 'c'), "CustomMessage", 3)]
    {
        let events = crate::pool::decide(Some(&pool), cmd, &mut w.ctx).expect("deploy");
        let Some(AggregateState::Pool(p)) = evolve(Some(AggregateState::Pool(pool.clone())), &envelope(events, w.ctx.now)) else { panic!() };
        pool = p;
        let t = crate::pool::trigger(&pool, kind).expect("deployed");
        assert_eq!((t.version, t.timeout_ms, t.memory_limit_bytes), (version, 5_000, 64 << 20));
    }
    assert_eq!(crate::pool::trigger(&pool, "PreSignUp").map(|t| t.sha256.as_str()), Some("b".repeat(64).as_str()));
    assert_eq!(pool.triggers.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(), ["CustomMessage", "PreSignUp"]);
    // Pool updates leave triggers alone.
    let events = crate::pool::decide(Some(&pool), PoolCommand::Update { settings: pool.settings.clone().unwrap_or_default() }, &mut w.ctx).expect("update");
    let Some(AggregateState::Pool(p)) = evolve(Some(AggregateState::Pool(pool.clone())), &envelope(events, w.ctx.now)) else { panic!() };
    assert_eq!(p.triggers.len(), 2);
    let events = crate::pool::decide(Some(&p), PoolCommand::RemoveTrigger { kind: "PreSignUp".into() }, &mut w.ctx).expect("remove");
    let Some(AggregateState::Pool(p)) = evolve(Some(AggregateState::Pool(p)), &envelope(events, w.ctx.now)) else { panic!() };
    assert!(crate::pool::trigger(&p, "PreSignUp").is_none());
    let bad = [
        deploy("PreSignUpp", 'a'),
        PoolCommand::DeployTrigger { trigger: TriggerDeployed { kind: "PreSignUp".into(), sha256: "XYZ".into(), ..Default::default() } },
        PoolCommand::DeployTrigger { trigger: TriggerDeployed { kind: "PreSignUp".into(), sha256: "a".repeat(64), timeout_ms: 60_000, ..Default::default() } },
    ];
    for cmd in bad {
        assert_eq!(error(crate::pool::decide(Some(&p), cmd, &mut w.ctx)).name(), "InvalidParameterException");
    }
    assert_eq!(error(crate::pool::decide(Some(&p), PoolCommand::RemoveTrigger { kind: "PreSignUp".into() }, &mut w.ctx)).name(), "ResourceNotFoundException");
}

#[test]
fn migrated_users_keep_their_status_verified_flags_and_password() {
    let mut w = world();
    let migrate = |status: &str, password: Option<&str>| UserCommand::Migrate {
        username: "legacy".into(),
        password: password.map(str::to_string),
        attributes: vec![("email".into(), "l@example.com".into()), ("email_verified".into(), "true".into())],
        client_id: "c1".into(),
        final_status: status.into(),
        trigger_version: 4,
    };
    assert_eq!(error(w.when(migrate("UNCONFIRMED", None))).name(), "InvalidParameterException");
    let events = w.when(migrate(status::CONFIRMED, Some("Legacy-Passw0rd"))).expect("migrate");
    assert_eq!(kinds(&events), ["UserSignedUp"]);
    let u = w.user.clone().expect("user");
    assert_eq!(u.status, status::CONFIRMED);
    assert_eq!(u.attributes.get("email_verified").map(String::as_str), Some("true"));
    assert_eq!(u.password.as_ref().map(|p| p.argon2_phc.as_str()), Some("hash(Legacy-Passw0rd)"));
    assert!(w.when(UserCommand::Authenticate { password: "Legacy-Passw0rd".into() }).is_ok());
    assert_eq!(error(w.when(migrate(status::CONFIRMED, None))), DomainError::UsernameExists);

    let mut w = world();
    w.when(migrate(status::RESET_REQUIRED, None)).expect("migrate");
    assert_eq!(w.user.as_ref().map(|u| u.status.as_str()), Some(status::RESET_REQUIRED));
    assert!(w.user.as_ref().is_some_and(|u| u.password.is_none()));
}

/// Deploys a trigger of `kind` on the world's pool.
fn with_trigger(w: &mut World, kind: &str) {
    use crate::pb::TriggerDeployed;
    let cmd = PoolCommand::DeployTrigger { trigger: TriggerDeployed { kind: kind.into(), sha256: "a".repeat(64), ..Default::default() } };
    let events = crate::pool::decide(Some(&w.pool), cmd, &mut w.ctx).expect("deploy");
    let Some(AggregateState::Pool(p)) = evolve(Some(AggregateState::Pool(w.pool.clone())), &envelope(events, w.ctx.now)) else { panic!() };
    w.pool = p;
}

#[test]
fn post_triggers_are_recorded_only_when_deployed() {
    // The request's ClientMetadata, recorded (sorted by key) only for a deployed trigger.
    let meta = || vec![("plan".to_string(), "pro".to_string()), ("locale".to_string(), "fr".to_string())];
    let recorded = |m: &[crate::pb::Attribute]| m.iter().map(|a| format!("{}={}", a.name, a.value)).collect::<Vec<_>>();
    let sign_in =
        || UserCommand::RecordSignIn { client_id: "c1".into(), auth_flow: "USER_PASSWORD_AUTH".into(), origin_jti: "o".into(), client_metadata: meta() };
    let mut w = world();
    w.sign_up("alice").expect("sign up");
    let events = w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: "c1".into(), client_metadata: meta() }).expect("confirm");
    let Some(Kind::UserConfirmed(c)) = &events[0].kind else { panic!("{events:?}") };
    assert_eq!((c.client_id.as_str(), c.post_confirmation_trigger_version), ("c1", 0));
    assert!(c.client_metadata.is_empty(), "no trigger to read it: not recorded");
    // No PostAuthentication trigger: a sign-in records nothing.
    assert!(w.when(sign_in()).expect("record").is_empty());

    let mut w = world();
    with_trigger(&mut w, "PostConfirmation");
    with_trigger(&mut w, "PostAuthentication");
    w.sign_up("alice").expect("sign up");
    let events = w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: "c1".into(), client_metadata: meta() }).expect("confirm");
    let Some(Kind::UserConfirmed(c)) = &events[0].kind else { panic!("{events:?}") };
    assert_eq!(c.post_confirmation_trigger_version, 1);
    assert_eq!(recorded(&c.client_metadata), ["locale=fr", "plan=pro"]);
    let before = w.user().updated_at_ms;
    w.ctx.now += 10;
    let events = w.when(sign_in()).expect("record");
    let Some(Kind::UserAuthenticated(a)) = &events[0].kind else { panic!("{events:?}") };
    assert_eq!((a.post_authentication_trigger_version, a.authenticated_at_ms, a.auth_flow.as_str()), (2, w.ctx.now, "USER_PASSWORD_AUTH"));
    assert_eq!(recorded(&a.client_metadata), ["locale=fr", "plan=pro"]);
    assert_eq!(w.user().updated_at_ms, before, "a sign-in does not modify the user");
    w.when(UserCommand::ForgotPassword { client_id: "c1".into(), client_metadata: vec![] }).expect("forgot");
    let events = w
        .when(UserCommand::ConfirmForgotPassword { code: "123456".into(), password: "Re5et-Password".into(), client_id: "c1".into(), client_metadata: meta() })
        .expect("reset");
    let Some(Kind::PasswordChanged(p)) = &events[0].kind else { panic!("{events:?}") };
    assert_eq!((p.reason.as_str(), p.post_confirmation_trigger_version, p.client_id.as_str()), ("RESET", 1, "c1"));
    assert_eq!(recorded(&p.client_metadata), ["locale=fr", "plan=pro"]);
}

#[test]
fn code_messages_record_their_source_and_metadata_only_for_a_custom_message_trigger() {
    let meta = || vec![("plan".to_string(), "pro".to_string()), ("locale".to_string(), "fr".to_string())];
    let code_of = crate::testkit::code_message;
    let sign_up = |w: &mut World| {
        w.when(UserCommand::SignUp {
            username: "alice".into(),
            password: PW.into(),
            attributes: vec![("email".into(), "a@example.com".into())],
            client_id: "c1".into(),
            pre_sign_up: None,
            client_metadata: meta(),
        })
    };
    // No trigger: nothing to tell, nothing recorded.
    let mut w = world();
    assert_eq!(code_of(&sign_up(&mut w).expect("sign up")), (String::new(), vec![]));

    let mut w = world();
    with_trigger(&mut w, "CustomMessage");
    let sorted = vec!["locale=fr".to_string(), "plan=pro".to_string()];
    assert_eq!(code_of(&sign_up(&mut w).expect("sign up")), ("CustomMessage_SignUp".to_string(), sorted.clone()));
    let resent = w.when(UserCommand::ResendConfirmationCode { client_id: "c1".into(), client_metadata: meta() }).expect("resend");
    assert_eq!(code_of(&resent), ("CustomMessage_ResendCode".to_string(), sorted.clone()));
    w.when(UserCommand::ConfirmSignUp { code: "123456".into(), client_id: "c1".into(), client_metadata: vec![] }).expect("confirm");
    let forgot = w.when(UserCommand::ForgotPassword { client_id: "c1".into(), client_metadata: meta() }).expect("forgot");
    assert_eq!(code_of(&forgot), ("CustomMessage_ForgotPassword".to_string(), sorted.clone()));
    let verify = w.when(UserCommand::GetVerificationCode { attribute: "email".into(), client_id: "c1".into(), client_metadata: meta() }).expect("verify");
    assert_eq!(code_of(&verify), ("CustomMessage_VerifyUserAttribute".to_string(), sorted.clone()));
    let update = w
        .when(UserCommand::UpdateAttributes { attributes: vec![("email".into(), "b@example.com".into())], client_id: "c1".into(), client_metadata: meta() })
        .expect("update");
    assert_eq!(code_of(&update), ("CustomMessage_UpdateUserAttribute".to_string(), sorted));
}

#[test]
fn a_custom_challenge_session_is_answered_once() {
    let mut w = world();
    w.confirmed("alice");
    let version = w.user().version;
    let answer = |correct, session_version| UserCommand::AnswerCustomChallenge {
        client_id: "c1".into(),
        challenge_name: "CUSTOM_CHALLENGE".into(),
        correct,
        verify_trigger_version: 7,
        session_version,
    };
    let events = w.when(answer(false, version)).expect("answered");
    let Some(Kind::CustomChallengeAnswered(a)) = &events[0].kind else { panic!("{events:?}") };
    assert!(!a.correct);
    assert_eq!(w.user().version, version + 1);
    // The same session again: the user moved on.
    assert_eq!(error(w.when(answer(true, version))).name(), "NotAuthorizedException");
}
#[path = "signin_tests.rs"]
mod signin;
