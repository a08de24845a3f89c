//! The example triggers, called through the runtime with real compiled components.

mod common;

use common::*;
use idp_triggers::types as t;
use idp_triggers::{Kind, TriggerError};

#[test]
fn auto_confirm_by_email_domain() {
    let rt = runtime();
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "auto-confirm", r#"{"domains": ["example.com"]}"#) else { return };
    let out = rt.pre_sign_up(&spec, &pre_sign_up_event("alice", "alice@Example.com")).expect("call");
    assert!(out.auto_confirm_user && out.auto_verify_email && !out.auto_verify_phone);
    let out = rt.pre_sign_up(&spec, &pre_sign_up_event("bob", "bob@elsewhere.org")).expect("call");
    assert!(!out.auto_confirm_user && !out.auto_verify_email);
    // A broken configuration is the trigger's rejection, not a crash.
    let mut broken = spec.clone();
    broken.config = "not json".into();
    let err = rt.pre_sign_up(&broken, &pre_sign_up_event("carol", "carol@example.com")).expect_err("bad config");
    assert_eq!(err.name(), "UserLambdaValidationException", "{err}");
}

#[test]
fn reject_disposable_domains() {
    let rt = runtime();
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "reject-disposable", "spam.example, junk.example") else { return };
    for email in ["x@mailinator.com", "y@junk.example"] {
        let err = rt.pre_sign_up(&spec, &pre_sign_up_event("x", email)).expect_err("rejected");
        assert_eq!(err.name(), "UserLambdaValidationException");
        assert!(err.to_string().starts_with("PreSignUp failed with error Sign-ups from disposable"), "{err}");
    }
    assert!(rt.pre_sign_up(&spec, &pre_sign_up_event("z", "z@company.example")).is_ok());
}

#[test]
fn pre_token_generation_adds_claims_and_group() {
    let rt = runtime();
    let config = r#"{"claims": {"tenant": "acme", "plan": "gold"}, "group": "beta-testers"}"#;
    let Some(spec) = deploy(&rt, Kind::PreTokenGeneration, "token-claims", config) else { return };
    let event = t::PreTokenGenerationEvent {
        version: "1".into(),
        trigger_source: "TokenGeneration_Authentication".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: "alice".into(),
        caller_context: caller(),
        request: t::PreTokenGenerationRequest {
            user_attributes: pairs(&[("email", "alice@example.com")]),
            group_configuration: t::GroupConfiguration { groups_to_override: vec!["admins".into()], iam_roles_to_override: vec![], preferred_role: None },
            client_metadata: vec![],
        },
        response: t::PreTokenGenerationResponse { claims_to_add_or_override: vec![], claims_to_suppress: vec![], group_override_details: None },
    };
    let out = rt.pre_token_generation(&spec, &event).expect("call");
    assert_eq!(out.claims_to_add_or_override, pairs(&[("plan", "gold"), ("tenant", "acme")]));
    assert_eq!(out.group_override_details.expect("groups").groups_to_override, vec!["admins".to_string(), "beta-testers".to_string()]);
    // Overriding a reserved claim is an invalid response.
    let mut bad = spec.clone();
    bad.config = r#"{"claims": {"sub": "someone-else"}}"#.into();
    let err = rt.pre_token_generation(&bad, &event).expect_err("reserved claim");
    assert_eq!(err.name(), "InvalidLambdaResponseException", "{err}");
}

fn custom_message_event(source: &str) -> t::CustomMessageEvent {
    t::CustomMessageEvent {
        version: "1".into(),
        trigger_source: source.into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: "alice".into(),
        caller_context: caller(),
        request: t::CustomMessageRequest {
            user_attributes: pairs(&[("email", "alice@example.com")]),
            code_parameter: "{####}".into(),
            username_parameter: "{username}".into(),
            client_metadata: vec![],
        },
        response: t::CustomMessageResponse { sms_message: None, email_message: None, email_subject: None },
    }
}

#[test]
fn custom_message_templates() {
    let rt = runtime();
    let config = r#"{"SIGN_UP": {"subject": "Welcome to Acme", "email": "Hi {username}, your code is {####}."},
                     "FORGOT_PASSWORD": {"email": "no code here"}}"#;
    let Some(spec) = deploy(&rt, Kind::CustomMessage, "custom-message", config) else { return };
    let out = rt.custom_message(&spec, &custom_message_event("CustomMessage_SignUp")).expect("call");
    assert_eq!(out.email_subject.as_deref(), Some("Welcome to Acme"));
    assert_eq!(out.email_message.as_deref(), Some("Hi alice, your code is {####}."));
    let out = rt.custom_message(&spec, &custom_message_event("CustomMessage_ResendCode")).expect("call");
    assert_eq!(out.email_message, None);
    // A message without the code placeholder is refused.
    let err = rt.custom_message(&spec, &custom_message_event("CustomMessage_ForgotPassword")).expect_err("no code");
    assert_eq!(err.name(), "InvalidLambdaResponseException", "{err}");
}

#[test]
fn user_migration_from_a_legacy_table() {
    let rt = runtime();
    let config = r#"{"users": {"legacy-bob": {"password": "Old-Passw0rd!", "attributes": {"email": "bob@example.com", "email_verified": "true"}}}}"#;
    let Some(spec) = deploy(&rt, Kind::UserMigration, "user-migration", config) else { return };
    let event = |user: &str, source: &str, password: &str| t::UserMigrationEvent {
        version: "1".into(),
        trigger_source: source.into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: user.into(),
        caller_context: caller(),
        request: t::UserMigrationRequest { password: password.into(), validation_data: vec![], client_metadata: vec![] },
        response: t::UserMigrationResponse {
            user_attributes: vec![],
            final_user_status: t::FinalUserStatus::Confirmed,
            message_action: None,
            desired_delivery_mediums: vec![],
            force_alias_creation: false,
        },
    };
    let out = rt.user_migration(&spec, &event("legacy-bob", "UserMigration_Authentication", "Old-Passw0rd!")).expect("migrate");
    assert_eq!(out.final_user_status, t::FinalUserStatus::Confirmed);
    assert_eq!(out.user_attributes, pairs(&[("email", "bob@example.com"), ("email_verified", "true")]));
    let out = rt.user_migration(&spec, &event("legacy-bob", "UserMigration_ForgotPassword", "")).expect("migrate");
    assert_eq!(out.final_user_status, t::FinalUserStatus::ResetRequired);
    for (user, pw) in [("legacy-bob", "wrong"), ("nobody", "x")] {
        let err = rt.user_migration(&spec, &event(user, "UserMigration_Authentication", pw)).expect_err("refused");
        assert_eq!(err.name(), "UserLambdaValidationException");
    }
}

#[test]
fn pre_authentication_and_post_confirmation() {
    let rt = runtime();
    let Some(block) = deploy(&rt, Kind::PreAuthentication, "block-users", "mallory\neve") else { return };
    let event = |user: &str| t::PreAuthenticationEvent {
        version: "1".into(),
        trigger_source: "PreAuthentication_Authentication".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: user.into(),
        caller_context: caller(),
        request: t::PreAuthenticationRequest { user_attributes: vec![], validation_data: vec![], client_metadata: vec![], user_not_found: false },
    };
    assert!(rt.pre_authentication(&block, &event("alice")).is_ok());
    assert_eq!(rt.pre_authentication(&block, &event("eve")).expect_err("blocked").name(), "UserLambdaValidationException");

    let Some(post) = deploy(&rt, Kind::PostConfirmation, "post-confirmation-log", "") else { return };
    let event = t::PostConfirmationEvent {
        version: "1".into(),
        trigger_source: "PostConfirmation_ConfirmSignUp".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: "alice".into(),
        caller_context: caller(),
        request: t::PostConfirmationRequest { user_attributes: pairs(&[("email", "a@example.com")]), client_metadata: vec![], idempotency_key: "evt-1".into() },
    };
    rt.post_confirmation(&post, &event).expect("post-confirmation");
}

#[test]
fn deploy_checks_the_world_and_the_bytes() {
    let rt = runtime();
    let Some(bytes) = component("auto-confirm") else { return };
    let err = rt.prepare(Kind::PostConfirmation, &bytes).expect_err("wrong world");
    assert!(matches!(err, TriggerError::InvalidComponent(_)), "{err}");
    assert_eq!(err.name(), "InvalidParameterException");
    let err = rt.prepare(Kind::PreSignUp, b"\0asm garbage").expect_err("garbage");
    assert!(matches!(err, TriggerError::InvalidComponent(_)), "{err}");
    // A kind mismatch between spec and method is refused, not run.
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "auto-confirm", r#"{"domains": []}"#) else { return };
    let mut wrong = spec.clone();
    wrong.kind = Kind::PostConfirmation;
    assert!(rt.pre_sign_up(&wrong, &pre_sign_up_event("a", "a@b.c")).is_err());
}

#[test]
fn custom_auth_question_and_answer() {
    let rt = runtime();
    let Some(define) = deploy(&rt, Kind::DefineAuthChallenge, "define-challenge", "2") else { return };
    let Some(create) = deploy(&rt, Kind::CreateAuthChallenge, "create-challenge", r#"{"question": "2+2?", "answer": "4"}"#) else { return };
    let Some(verify) = deploy(&rt, Kind::VerifyAuthChallengeResponse, "verify-challenge", "") else { return };
    let round = |name: &str, result: bool| t::ChallengeResult { challenge_name: name.into(), challenge_result: result, challenge_metadata: String::new() };
    let define_event = |session: Vec<t::ChallengeResult>| t::DefineAuthChallengeEvent {
        version: "1".into(),
        trigger_source: "DefineAuthChallenge_Authentication".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: "alice".into(),
        caller_context: caller(),
        request: t::DefineAuthChallengeRequest { user_attributes: vec![], session, client_metadata: vec![], user_not_found: false },
        response: t::DefineAuthChallengeResponse { challenge_name: String::new(), issue_tokens: false, fail_authentication: false },
    };
    let first = rt.define_auth_challenge(&define, &define_event(vec![])).expect("define");
    assert_eq!((first.challenge_name.as_str(), first.issue_tokens, first.fail_authentication), ("CUSTOM_CHALLENGE", false, false));
    assert!(rt.define_auth_challenge(&define, &define_event(vec![round("CUSTOM_CHALLENGE", true)])).expect("define").issue_tokens);
    let again = rt.define_auth_challenge(&define, &define_event(vec![round("CUSTOM_CHALLENGE", false)])).expect("define");
    assert_eq!(again.challenge_name, "CUSTOM_CHALLENGE");
    let two_wrong = vec![round("CUSTOM_CHALLENGE", false), round("CUSTOM_CHALLENGE", false)];
    assert!(rt.define_auth_challenge(&define, &define_event(two_wrong)).expect("define").fail_authentication);

    let create_event = || t::CreateAuthChallengeEvent {
        version: "1".into(),
        trigger_source: "CreateAuthChallenge_Authentication".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: "alice".into(),
        caller_context: caller(),
        request: t::CreateAuthChallengeRequest {
            user_attributes: vec![],
            challenge_name: "CUSTOM_CHALLENGE".into(),
            session: vec![],
            client_metadata: vec![],
            user_not_found: false,
        },
        response: t::CreateAuthChallengeResponse {
            public_challenge_parameters: vec![],
            private_challenge_parameters: vec![],
            challenge_metadata: String::new(),
        },
    };
    let created = rt.create_auth_challenge(&create, &create_event()).expect("create");
    assert_eq!(created.public_challenge_parameters, pairs(&[("question", "2+2?")]));
    assert_eq!(created.private_challenge_parameters, pairs(&[("answer", "4")]));
    let verify_event = |answer: &str| t::VerifyAuthChallengeEvent {
        version: "1".into(),
        trigger_source: "VerifyAuthChallengeResponse_Authentication".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: "alice".into(),
        caller_context: caller(),
        request: t::VerifyAuthChallengeRequest {
            user_attributes: vec![],
            private_challenge_parameters: created.private_challenge_parameters.clone(),
            challenge_answer: answer.into(),
            client_metadata: vec![],
            user_not_found: false,
        },
        response: t::VerifyAuthChallengeResponse { answer_correct: false },
    };
    assert!(rt.verify_auth_challenge_response(&verify, &verify_event(" 4 ")).expect("verify").answer_correct);
    assert!(!rt.verify_auth_challenge_response(&verify, &verify_event("5")).expect("verify").answer_correct);

    // A create answer breaking the rules (a parameter over the size limit) is refused.
    let Some(huge) = deploy(&rt, Kind::CreateAuthChallenge, "hostile-challenge", "huge") else { return };
    assert_eq!(rt.create_auth_challenge(&huge, &create_event()).expect_err("too big").name(), "InvalidLambdaResponseException");
}
