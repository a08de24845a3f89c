//! Given/when/then tests of the sign-in rules: lockout, NEW_PASSWORD_REQUIRED, MFA.
//! (A child of `user_tests`: it reuses its fake context and world.)

use super::*;
use crate::signin::{self, method, mode, MethodPreference, SignInCommand, FAILURE_MEMORY_MS, MAX_LOCKOUT_MS};

fn first(ok: bool) -> UserCommand {
    UserCommand::SignIn(SignInCommand::FirstFactor { ok })
}

fn locked_until(w: &World) -> i64 {
    w.user().locked_until_ms
}

#[test]
fn five_failures_are_free_then_lockouts_double_up_to_fifteen_minutes() {
    let mut w = world();
    w.confirmed("alice");
    for n in 1..=5u32 {
        let r = w.when(first(false));
        assert_eq!(error(r), DomainError::incorrect_credentials());
        assert_eq!(w.user().failed_sign_ins, n);
        assert_eq!(locked_until(&w), 0, "no lockout within the free failures");
    }
    // the sixth failure locks for 1 s, the seventh (after the lock) for 2 s, ...
    let mut expected = 1_000;
    for _ in 0..12 {
        w.ctx.now = locked_until(&w).max(w.ctx.now) + 1;
        assert_eq!(error(w.when(first(false))), DomainError::incorrect_credentials());
        assert_eq!(locked_until(&w) - w.ctx.now, expected);
        expected = (expected * 2).min(MAX_LOCKOUT_MS);
    }
    assert_eq!(locked_until(&w) - w.ctx.now, MAX_LOCKOUT_MS, "capped at 15 minutes");
}

#[test]
fn a_locked_user_is_refused_even_with_the_right_password_and_the_attempt_is_not_counted() {
    let mut w = world();
    w.confirmed("alice");
    for _ in 0..6 {
        let _ = w.when(first(false));
    }
    let (failures, until) = (w.user().failed_sign_ins, locked_until(&w));
    assert!(until > w.ctx.now);
    let r = w.when(first(true));
    assert_eq!(error(r), DomainError::NotAuthorized("Password attempts exceeded".into()));
    let r = w.when(first(false));
    assert_eq!(error(r), DomainError::NotAuthorized("Password attempts exceeded".into()));
    assert_eq!((w.user().failed_sign_ins, locked_until(&w)), (failures, until), "nothing recorded while locked");
    // once the lock has passed, the right password works and clears the streak
    w.ctx.now = until;
    assert_eq!(w.when(first(true)).expect("sign in"), vec![]);
    let cleared = w.when(UserCommand::SignIn(SignInCommand::Succeeded { session_version: None })).expect("succeeded");
    assert_eq!(cleared.len(), 1);
    assert_eq!((w.user().failed_sign_ins, locked_until(&w)), (0, 0));
    assert_eq!(w.when(UserCommand::SignIn(SignInCommand::Succeeded { session_version: None })).expect("nothing to clear"), vec![]);
}

#[test]
fn failures_are_forgotten_after_fifteen_quiet_minutes() {
    let mut w = world();
    w.confirmed("alice");
    for _ in 0..5 {
        let _ = w.when(first(false));
    }
    w.ctx.now += FAILURE_MEMORY_MS + 1;
    let _ = w.when(first(false));
    assert_eq!(w.user().failed_sign_ins, 1);
    assert_eq!(locked_until(&w), 0);
}

fn force_change(w: &mut World) {
    w.confirmed("temp");
    if let Some(u) = w.user.as_mut() {
        u.status = status::FORCE_CHANGE_PASSWORD.into();
    }
}

#[test]
fn new_password_required_sets_a_permanent_password_once_per_session() {
    let mut w = world();
    force_change(&mut w);
    assert_eq!(w.when(first(true)).expect("temporary password works"), vec![]);
    let v = w.user().version;
    let answer = |password: &str, version| {
        UserCommand::SignIn(SignInCommand::AnswerNewPassword {
            password: password.into(),
            attributes: vec![("name".into(), "Temp User".into())],
            session_version: version,
        })
    };
    assert_eq!(error(w.when(answer("short", v))).name(), "InvalidPasswordException");
    assert_eq!(error(w.when(answer("Perm-Passw0rd!", v + 1))).name(), "NotAuthorizedException", "stale session");
    w.when(answer("Perm-Passw0rd!", v)).expect("answer");
    let u = w.user().clone();
    assert_eq!(u.status, status::CONFIRMED);
    assert_eq!(u.attributes.get("name").map(String::as_str), Some("Temp User"));
    assert_eq!(u.password.as_ref().map(|p| p.argon2_phc.as_str()), Some("hash(Perm-Passw0rd!)"));
    // the same session again: the user has moved on
    assert_eq!(error(w.when(answer("Other-Passw0rd!", v))).name(), "NotAuthorizedException");
}

#[test]
fn an_expired_temporary_password_cannot_sign_in() {
    let mut w = world();
    force_change(&mut w);
    w.ctx.now += 8 * 24 * 3600 * 1000;
    let e = error(w.when(first(true)));
    assert_eq!(e.name(), "NotAuthorizedException");
    assert!(e.to_string().contains("Temporary password has expired"), "{e}");
}

fn mfa_pool(w: &mut World, m: &str) {
    let s = w.pool.settings.clone().unwrap_or_default();
    let s = signin::mfa_config(&s, m, Some(true), Some((true, String::new())), Some((true, String::new(), String::new()))).expect("config");
    w.pool.settings = Some(s);
}

fn totp_now(w: &World) -> String {
    format!("{:06}", w.ctx.now / 1000 / 30)
}

#[test]
fn software_token_association_verification_and_replay() {
    let mut w = world();
    mfa_pool(&mut w, mode::OPTIONAL);
    w.confirmed("alice");
    let verify = |code: String| UserCommand::SignIn(SignInCommand::VerifySoftwareToken { code, friendly_device_name: "phone".into() });
    assert_eq!(error(w.when(verify(totp_now(&w)))).name(), "SoftwareTokenMFANotFoundException");
    w.when(UserCommand::SignIn(SignInCommand::AssociateSoftwareToken)).expect("associate");
    assert!(!w.user().totp_verified);
    assert_eq!(error(w.when(verify("999999".into()))).name(), "EnableSoftwareTokenMFAException");
    w.when(verify(totp_now(&w))).expect("verify");
    assert!(w.user().totp_verified && w.user().mfa_totp_enabled);
    assert_eq!(signin::enabled_methods(&w.pool, w.user()), vec![method::SOFTWARE_TOKEN]);

    // the code used to verify cannot also pass the MFA challenge (same step)
    let v = w.user().version;
    let answer = |code: String, v| UserCommand::SignIn(SignInCommand::AnswerMfa { method: method::SOFTWARE_TOKEN.into(), code, session_version: v });
    assert_eq!(error(w.when(answer(totp_now(&w), v))), DomainError::CodeMismatch);
    assert_eq!(w.user().failed_sign_ins, 1, "a wrong second factor counts towards lockout");
    // next step: accepted once
    w.ctx.now += 30_000;
    let v = w.user().version;
    w.when(answer(totp_now(&w), v)).expect("mfa");
    assert_eq!(w.user().failed_sign_ins, 0);
    let v = w.user().version;
    assert_eq!(error(w.when(answer(totp_now(&w), v))), DomainError::CodeMismatch, "a used code is refused");
}

#[test]
fn a_wrong_mfa_answer_keeps_the_session_and_the_right_one_spends_it() {
    let mut w = world();
    mfa_pool(&mut w, mode::ON);
    w.confirmed("alice");
    let issue = || UserCommand::SignIn(SignInCommand::IssueMfaCode { method: method::EMAIL.into(), client_id: "c1".into() });
    w.when(issue()).expect("code");
    let session = w.user().version;
    let answer = |code: &str, v| UserCommand::SignIn(SignInCommand::AnswerMfa { method: method::EMAIL.into(), code: code.into(), session_version: v });
    assert_eq!(error(w.when(answer("000000", session))), DomainError::CodeMismatch);
    assert_eq!(error(w.when(answer("000001", session))), DomainError::CodeMismatch);
    assert!(w.user().version > session, "the failed attempts were recorded");
    assert_eq!(w.user().failed_sign_ins, 2, "and count towards lockout");
    w.when(answer("123456", session)).expect("the same session, the right code");
    let expired = DomainError::NotAuthorized("Invalid session for the user, session is expired.".into());
    assert_eq!(error(w.when(answer("123456", session))), expired, "an answered session is spent");

    // Any change other than a failed attempt voids a session too (here: a new code issued).
    w.when(issue()).expect("code");
    let old = w.user().version;
    w.when(issue()).expect("another code");
    assert_eq!(error(w.when(answer("123456", old))), expired);
}

#[test]
fn sms_and_email_codes_pass_the_second_factor_once() {
    let mut w = world();
    mfa_pool(&mut w, mode::ON);
    w.confirmed("alice");
    let events = w.when(UserCommand::SignIn(SignInCommand::IssueMfaCode { method: method::EMAIL.into(), client_id: "c1".into() })).expect("code");
    assert_eq!(kinds(&events), ["CodeIssued"]);
    let v = w.user().version;
    let answer = |code: &str, v| UserCommand::SignIn(SignInCommand::AnswerMfa { method: method::EMAIL.into(), code: code.into(), session_version: v });
    assert_eq!(error(w.when(answer("000000", v))), DomainError::CodeMismatch);
    let v = w.user().version;
    w.when(answer("123456", v)).expect("right code");
    assert!(w.user().codes.iter().all(|c| c.purpose != crate::decide::purpose::MFA), "the code is spent");
    let v = w.user().version;
    assert_eq!(error(w.when(answer("123456", v))), DomainError::ExpiredCode);
    // SMS needs a phone number
    let e = error(w.when(UserCommand::SignIn(SignInCommand::IssueMfaCode { method: method::SMS.into(), client_id: "c1".into() })));
    assert_eq!(e.name(), "InvalidParameterException");
}

#[test]
fn mfa_preferences() {
    let mut w = world();
    mfa_pool(&mut w, mode::OPTIONAL);
    w.confirmed("alice");
    let set = |sms: MethodPreference, totp: MethodPreference, email: MethodPreference| {
        UserCommand::SignIn(SignInCommand::SetMfaPreference { sms, software_token: totp, email })
    };
    let on = MethodPreference { enabled: Some(true), preferred: None };
    let preferred = MethodPreference { enabled: Some(true), preferred: Some(true) };
    let none = MethodPreference::default();
    assert_eq!(error(w.when(set(none, on, none))).name(), "InvalidParameterException", "TOTP not verified yet");
    assert_eq!(error(w.when(set(on, none, none))).name(), "InvalidParameterException", "no phone number");
    assert_eq!(error(w.when(set(none, none, MethodPreference { enabled: Some(false), preferred: Some(true) }))).name(), "InvalidParameterException");
    w.when(set(none, none, preferred)).expect("email preferred");
    assert_eq!((w.user().mfa_email_enabled, w.user().mfa_preferred.as_str()), (true, method::EMAIL));
    assert_eq!(signin::enabled_methods(&w.pool, w.user()), vec![method::EMAIL]);
    w.when(set(none, none, MethodPreference { enabled: Some(true), preferred: Some(false) })).expect("preference withdrawn");
    assert_eq!((w.user().mfa_email_enabled, w.user().mfa_preferred.as_str()), (true, ""));
    w.when(set(none, none, preferred)).expect("email preferred again");
    w.when(set(none, none, MethodPreference { enabled: Some(false), preferred: None })).expect("email off");
    assert_eq!((w.user().mfa_email_enabled, w.user().mfa_preferred.as_str()), (false, ""));
}

#[test]
fn pool_mfa_configuration_is_validated() {
    let s = crate::pool::default_settings("p");
    assert!(signin::mfa_config(&s, "SOMETIMES", None, None, None).is_err());
    assert!(signin::mfa_config(&s, mode::ON, Some(false), None, None).is_err(), "ON needs a method");
    assert!(signin::mfa_config(&s, mode::ON, None, Some((true, "no placeholder".into())), None).is_err());
    let on = signin::mfa_config(&s, mode::ON, Some(true), None, None).expect("valid");
    assert!(on.software_token_mfa_enabled);
    assert_eq!(on.mfa_configuration, mode::ON);
}
