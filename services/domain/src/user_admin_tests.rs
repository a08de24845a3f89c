//! Given/when/then tests of the admin user rules.

use super::*;
use crate::evolve::AggregateState;
use crate::pb::GroupSettings;
use crate::testkit::{apply, ctx, pool, FakeCtx};
use crate::user::UserCommand;

struct World {
    ctx: FakeCtx,
    pool: PoolState,
    user: Option<UserState>,
}

fn world() -> World {
    let mut ctx = ctx();
    let pool = pool(&mut ctx, &["email"]);
    World { ctx, pool, user: None }
}

impl World {
    fn when(&mut self, cmd: AdminUserCommand) -> Result<Vec<Event>, Rejected> {
        let result = decide(&self.pool, self.user.as_ref(), cmd, &mut self.ctx);
        if let Ok(events) = &result {
            if !events.is_empty() {
                self.user = match apply(self.user.clone().map(AggregateState::User), events, self.ctx.now) {
                    Some(AggregateState::User(u)) => Some(u),
                    _ => None,
                };
            }
        }
        result
    }
    fn user_cmd(&mut self, cmd: UserCommand) -> Result<Vec<Event>, Rejected> {
        let result = crate::user::decide(&self.pool, self.user.as_ref(), cmd, &mut self.ctx);
        if let Ok(events) = &result {
            if !events.is_empty() {
                if let Some(AggregateState::User(u)) = apply(self.user.clone().map(AggregateState::User), events, self.ctx.now) {
                    self.user = Some(u);
                }
            }
        }
        result
    }
    fn create(&mut self, attrs: &[(&str, &str)], password: Option<&str>, action: MessageAction, mediums: &[&str]) -> Result<Vec<Event>, Rejected> {
        self.when(AdminUserCommand::Create {
            username: "Alice".into(),
            temporary_password: password.map(str::to_string),
            attributes: attrs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            action,
            delivery_mediums: mediums.iter().map(|s| s.to_string()).collect(),
            client_metadata: vec![],
        })
    }
    fn user(&self) -> &UserState {
        self.user.as_ref().expect("user exists")
    }
}

fn error(r: Result<Vec<Event>, Rejected>) -> DomainError {
    match r {
        Err(r) => {
            assert!(r.record.is_empty(), "an admin rejection records nothing");
            r.error
        }
        Ok(e) => panic!("expected an error, got {e:?}"),
    }
}

/// The error of a sign-in attempt (a wrong password records a failure: not checked here).
fn sign_in_error(r: Result<Vec<Event>, Rejected>) -> DomainError {
    match r {
        Err(r) => r.error,
        Ok(e) => panic!("expected an error, got {e:?}"),
    }
}

fn invitations(events: &[Event]) -> Vec<&CodeIssued> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            Some(Kind::CodeIssued(c)) if c.purpose == purpose::ADMIN_CREATE_USER => Some(c),
            _ => None,
        })
        .collect()
}

fn group(name: &str, id: &str) -> GroupState {
    GroupState {
        pool_id: "us-east-1_Test1".into(),
        group_name: name.into(),
        group_id: id.into(),
        settings: Some(GroupSettings::default()),
        ..Default::default()
    }
}

#[test]
fn create_user_with_a_generated_temporary_password_force_change_and_a_sealed_invitation() {
    let mut w = world();
    let events = w.create(&[("email", "a@example.com"), ("email_verified", "true")], None, MessageAction::Send, &["EMAIL"]).expect("create");
    let u = w.user().clone();
    assert_eq!(u.status, status::FORCE_CHANGE_PASSWORD);
    assert_eq!(u.attributes.get("email_verified").map(String::as_str), Some("true"));
    assert_eq!(u.temporary_password_expires_at_ms, 1_000_000 + 7 * DAY_MS);
    let inv = invitations(&events);
    assert_eq!(inv.len(), 1);
    assert_eq!((inv[0].channel.as_str(), inv[0].destination.as_str()), ("EMAIL", "a@example.com"));
    // The temporary password is only sealed, and the hash matches it.
    let sealed = String::from_utf8(inv[0].sealed.to_vec()).expect("utf8");
    let password = sealed.strip_prefix("sealed:").expect("sealed").to_string();
    assert!(password.starts_with("Tmp-") && password.len() >= 8);
    assert_eq!(u.password.as_ref().map(|p| p.argon2_phc.clone()), Some(format!("hash({password})")));
    assert!(u.codes.is_empty(), "an invitation is not a pending code");
    // The temporary password signs in (the lead's challenge decides what follows).
    w.user_cmd(UserCommand::Authenticate { password }).expect("temporary password accepted");
}

#[test]
fn create_user_given_password_is_checked_against_the_policy() {
    let mut w = world();
    assert_eq!(error(w.create(&[], Some("short"), MessageAction::Suppress, &[])).name(), "InvalidPasswordException");
    assert!(w.user.is_none());
    let events = w.create(&[], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    assert!(invitations(&events).is_empty(), "SUPPRESS sends nothing");
    assert_eq!(w.user().password.as_ref().map(|p| p.argon2_phc.as_str()), Some("hash(Temp-Passw0rd)"));
}

#[test]
fn create_user_refuses_duplicates_bad_attributes_and_undeliverable_mediums() {
    let mut w = world();
    w.create(&[], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    assert_eq!(error(w.create(&[], None, MessageAction::Send, &[])).name(), "UsernameExistsException");
    let mut w = world();
    assert_eq!(error(w.create(&[("custom:nope", "x")], None, MessageAction::Send, &[])).name(), "InvalidParameterException");
    assert_eq!(error(w.create(&[("email_verified", "maybe")], None, MessageAction::Send, &[])).name(), "InvalidParameterException");
    assert_eq!(error(w.create(&[("sub", "x")], None, MessageAction::Send, &[])).name(), "InvalidParameterException");
    assert_eq!(error(w.create(&[], None, MessageAction::Send, &["EMAIL"])).name(), "InvalidParameterException");
    assert_eq!(error(w.create(&[], None, MessageAction::Send, &["FAX"])).name(), "InvalidParameterException");
    // The default medium (SMS) without a phone number sends nothing, and that is fine.
    let events = w.create(&[("email", "a@example.com")], None, MessageAction::Send, &[]).expect("create");
    assert!(invitations(&events).is_empty());
}

#[test]
fn resend_draws_a_new_temporary_password_for_force_change_users_only() {
    let mut w = world();
    assert_eq!(error(w.create(&[], None, MessageAction::Resend, &[])).name(), "UserNotFoundException");
    w.create(&[("phone_number", "+12065551234")], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    w.ctx.now += DAY_MS;
    let events = w.create(&[], None, MessageAction::Resend, &[]).expect("resend");
    let inv = invitations(&events);
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].channel, "SMS");
    assert_ne!(w.user().password.as_ref().map(|p| p.argon2_phc.as_str()), Some("hash(Temp-Passw0rd)"));
    assert_eq!(w.user().temporary_password_expires_at_ms, 1_000_000 + 8 * DAY_MS);
    w.when(AdminUserCommand::SetPassword { password: "Perm-Passw0rd".into(), permanent: true }).expect("set");
    assert_eq!(error(w.create(&[], None, MessageAction::Resend, &[])).name(), "UnsupportedUserStateException");
}

#[test]
fn an_expired_temporary_password_cannot_sign_in() {
    let mut w = world();
    w.create(&[], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    w.ctx.now += 7 * DAY_MS + 1;
    let e = sign_in_error(w.user_cmd(UserCommand::Authenticate { password: "Temp-Passw0rd".into() }));
    assert_eq!(e.name(), "NotAuthorizedException");
    assert!(e.to_string().contains("expired"), "{e}");
    // A wrong password still says only "incorrect".
    let e = sign_in_error(w.user_cmd(UserCommand::Authenticate { password: "Wrong-Passw0rd".into() }));
    assert_eq!(e.to_string(), "Incorrect username or password.");
}

#[test]
fn set_password_permanent_confirms_and_temporary_forces_a_change() {
    let mut w = world();
    assert_eq!(error(w.when(AdminUserCommand::SetPassword { password: "Perm-Passw0rd".into(), permanent: true })).name(), "UserNotFoundException");
    w.create(&[], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    assert_eq!(error(w.when(AdminUserCommand::SetPassword { password: "weak".into(), permanent: true })).name(), "InvalidPasswordException");
    w.when(AdminUserCommand::SetPassword { password: "Perm-Passw0rd".into(), permanent: true }).expect("permanent");
    assert_eq!((w.user().status.as_str(), w.user().temporary_password_expires_at_ms), (status::CONFIRMED, 0));
    w.when(AdminUserCommand::SetPassword { password: "Next-Passw0rd".into(), permanent: false }).expect("temporary");
    assert_eq!(w.user().status, status::FORCE_CHANGE_PASSWORD);
    assert!(w.user().temporary_password_expires_at_ms > w.ctx.now);
}

#[test]
fn confirm_sign_up_only_unconfirmed_users() {
    let mut w = world();
    w.user_cmd(UserCommand::SignUp {
        username: "Alice".into(),
        password: "Corr3ct-Horse".into(),
        attributes: vec![("email".into(), "a@example.com".into())],
        client_id: "c".into(),
        pre_sign_up: None,
        client_metadata: vec![],
    })
    .expect("sign up");
    w.when(AdminUserCommand::Confirm { client_metadata: vec![] }).expect("confirm");
    assert_eq!(w.user().status, status::CONFIRMED);
    assert_eq!(w.user().attributes.get("email_verified"), None, "an admin confirmation verifies nothing");
    assert_eq!(error(w.when(AdminUserCommand::Confirm { client_metadata: vec![] })).name(), "NotAuthorizedException");
}

#[test]
fn reset_password_requires_a_verified_contact_and_issues_a_code() {
    let mut w = world();
    w.create(&[("email", "a@example.com")], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    assert_eq!(error(w.when(AdminUserCommand::ResetPassword { client_id: String::new(), client_metadata: vec![] })).name(), "NotAuthorizedException");
    w.when(AdminUserCommand::SetPassword { password: "Perm-Passw0rd".into(), permanent: true }).expect("set");
    assert_eq!(error(w.when(AdminUserCommand::ResetPassword { client_id: String::new(), client_metadata: vec![] })).name(), "InvalidParameterException");
    w.when(AdminUserCommand::UpdateAttributes {
        attributes: vec![("email_verified".into(), "true".into())],
        client_id: String::new(),
        client_metadata: vec![],
    })
    .expect("verify");
    w.when(AdminUserCommand::ResetPassword { client_id: String::new(), client_metadata: vec![] }).expect("reset");
    assert_eq!(w.user().status, status::RESET_REQUIRED);
    assert!(w.user().codes.iter().any(|c| c.purpose == purpose::FORGOT_PASSWORD && c.destination == "a@example.com"));
    let e = sign_in_error(w.user_cmd(UserCommand::Authenticate { password: "Perm-Passw0rd".into() }));
    assert_eq!(e.name(), "PasswordResetRequiredException");
    w.user_cmd(UserCommand::ConfirmForgotPassword {
        code: "123456".into(),
        password: "Brand-New-Passw0rd".into(),
        client_id: "c1".into(),
        client_metadata: vec![],
    })
    .expect("confirm reset");
    assert_eq!(w.user().status, status::CONFIRMED);
}

#[test]
fn admin_attribute_updates_may_verify_and_unverify() {
    let mut w = world();
    w.create(&[("email", "a@example.com"), ("email_verified", "true")], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    let events = w
        .when(AdminUserCommand::UpdateAttributes {
            attributes: vec![("email".into(), "b@example.com".into())],
            client_id: String::new(),
            client_metadata: vec![],
        })
        .expect("update");
    assert_eq!(w.user().attributes.get("email_verified").map(String::as_str), Some("false"), "a changed email is unverified");
    assert!(
        events.iter().any(|e| matches!(&e.kind, Some(Kind::CodeIssued(c)) if c.purpose == purpose::VERIFY_ATTRIBUTE && c.destination == "b@example.com")),
        "the pool auto-verifies email"
    );
    w.when(AdminUserCommand::UpdateAttributes {
        attributes: vec![("email".into(), "c@example.com".into()), ("email_verified".into(), "true".into())],
        client_id: String::new(),
        client_metadata: vec![],
    })
    .expect("update verified");
    assert_eq!(w.user().attributes.get("email_verified").map(String::as_str), Some("true"));
    assert_eq!(
        w.when(AdminUserCommand::UpdateAttributes {
            attributes: vec![("email".into(), "c@example.com".into())],
            client_id: String::new(),
            client_metadata: vec![]
        }),
        Ok(vec![]),
        "no change, no event"
    );
    assert_eq!(
        error(w.when(AdminUserCommand::UpdateAttributes { attributes: vec![("sub".into(), "x".into())], client_id: String::new(), client_metadata: vec![] }))
            .name(),
        "InvalidParameterException"
    );
    assert_eq!(
        error(w.when(AdminUserCommand::UpdateAttributes {
            attributes: vec![("email".into(), "not-an-email".into())],
            client_id: String::new(),
            client_metadata: vec![]
        }))
        .name(),
        "InvalidParameterException"
    );
}

#[test]
fn delete_attributes_removes_the_flag_too_and_refuses_unknown_and_sub() {
    let mut w = world();
    w.create(&[("email", "a@example.com"), ("email_verified", "true"), ("name", "A")], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    w.when(AdminUserCommand::DeleteAttributes { names: vec!["email".into()] }).expect("delete");
    assert!(!w.user().attributes.contains_key("email") && !w.user().attributes.contains_key("email_verified"));
    assert_eq!(w.user().attributes.get("name").map(String::as_str), Some("A"));
    assert_eq!(w.when(AdminUserCommand::DeleteAttributes { names: vec!["email".into()] }), Ok(vec![]));
    assert_eq!(error(w.when(AdminUserCommand::DeleteAttributes { names: vec!["sub".into()] })).name(), "InvalidParameterException");
    assert_eq!(error(w.when(AdminUserCommand::DeleteAttributes { names: vec!["custom:nope".into()] })).name(), "InvalidParameterException");
    assert_eq!(error(w.when(AdminUserCommand::DeleteAttributes { names: vec![] })).name(), "InvalidParameterException");
}

#[test]
fn disable_enable_sign_out_delete() {
    let mut w = world();
    assert_eq!(error(w.when(AdminUserCommand::Disable)).name(), "UserNotFoundException");
    w.create(&[], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    w.when(AdminUserCommand::SetPassword { password: "Perm-Passw0rd".into(), permanent: true }).expect("set");
    w.when(AdminUserCommand::Disable).expect("disable");
    assert!(!w.user().enabled);
    assert_eq!(w.when(AdminUserCommand::Disable), Ok(vec![]), "already disabled");
    assert_eq!(error(w.user_cmd(UserCommand::Authenticate { password: "Perm-Passw0rd".into() })).to_string(), "User is disabled.");
    w.when(AdminUserCommand::Enable).expect("enable");
    assert!(w.user().enabled);
    w.user_cmd(UserCommand::Authenticate { password: "Perm-Passw0rd".into() }).expect("signs in again");
    w.ctx.now += 5;
    w.when(AdminUserCommand::GlobalSignOut).expect("sign out");
    assert_eq!(w.user().tokens_revoked_before_ms, w.ctx.now);
    w.when(AdminUserCommand::Delete).expect("delete");
    assert!(w.user.is_none());
}

#[test]
fn memberships_name_the_group_incarnation() {
    let mut w = world();
    w.create(&[], Some("Temp-Passw0rd"), MessageAction::Suppress, &[]).expect("create");
    let g1 = group("admins", "g-1");
    assert_eq!(error(w.when(AdminUserCommand::AddToGroup { group_name: "admins".into(), group: None })).name(), "ResourceNotFoundException");
    w.when(AdminUserCommand::AddToGroup { group_name: "admins".into(), group: Some(g1.clone()) }).expect("add");
    assert_eq!(w.when(AdminUserCommand::AddToGroup { group_name: "admins".into(), group: Some(g1.clone()) }), Ok(vec![]), "already a member");
    assert_eq!(w.user().groups.len(), 1);
    // The group was deleted and re-created: adding again points the membership at the new one.
    let g2 = group("admins", "g-2");
    w.when(AdminUserCommand::AddToGroup { group_name: "admins".into(), group: Some(g2.clone()) }).expect("re-add");
    assert_eq!(w.user().groups.iter().map(|m| m.group_id.as_str()).collect::<Vec<_>>(), vec!["g-2"]);
    w.when(AdminUserCommand::AddToGroup { group_name: "devs".into(), group: Some(group("devs", "g-3")) }).expect("add devs");
    assert_eq!(w.user().groups.iter().map(|m| m.group_name.as_str()).collect::<Vec<_>>(), vec!["admins", "devs"]);
    w.when(AdminUserCommand::RemoveFromGroup { group_name: "admins".into(), group: Some(g2.clone()) }).expect("remove");
    assert_eq!(w.when(AdminUserCommand::RemoveFromGroup { group_name: "admins".into(), group: Some(g2) }), Ok(vec![]), "not a member");
    assert_eq!(error(w.when(AdminUserCommand::RemoveFromGroup { group_name: "gone".into(), group: None })).name(), "ResourceNotFoundException");
    assert_eq!(w.user().groups.len(), 1);
}

#[test]
fn custom_attributes_are_enforced_on_later_writes() {
    let mut w = world();
    let events = crate::group::add_custom_attributes(
        Some(&w.pool),
        vec![
            crate::pb::SchemaAttribute {
                name: "tier".into(),
                data_type: "Number".into(),
                mutable: true,
                min_value: Some(1),
                max_value: Some(3),
                ..Default::default()
            },
            crate::pb::SchemaAttribute { name: "team".into(), data_type: "String".into(), mutable: false, min_length: 2, max_length: 5, ..Default::default() },
        ],
    )
    .expect("add");
    if let Some(AggregateState::Pool(p)) = apply(Some(AggregateState::Pool(w.pool.clone())), &events, w.ctx.now) {
        w.pool = p;
    }
    assert_eq!(error(w.create(&[("custom:tier", "7")], None, MessageAction::Suppress, &[])).name(), "InvalidParameterException");
    assert_eq!(error(w.create(&[("custom:tier", "two")], None, MessageAction::Suppress, &[])).name(), "InvalidParameterException");
    assert_eq!(error(w.create(&[("custom:team", "x")], None, MessageAction::Suppress, &[])).name(), "InvalidParameterException");
    w.create(&[("custom:tier", "2"), ("custom:team", "ops")], None, MessageAction::Suppress, &[]).expect("valid custom attributes");
    // Immutable: set at creation only.
    assert_eq!(
        error(w.when(AdminUserCommand::UpdateAttributes {
            attributes: vec![("custom:team", "dev")].into_iter().map(|(a, b)| (a.into(), b.into())).collect(),
            client_id: String::new(),
            client_metadata: vec![],
        }))
        .name(),
        "InvalidParameterException"
    );
    w.when(AdminUserCommand::UpdateAttributes { attributes: vec![("custom:tier".into(), "3".into())], client_id: String::new(), client_metadata: vec![] })
        .expect("mutable");
}

#[test]
fn admin_code_messages_record_their_source_and_metadata_for_a_custom_message_trigger() {
    let meta = || vec![("z".to_string(), "1".to_string()), ("a".to_string(), "2".to_string())];
    let code_of = crate::testkit::code_message;
    let mut w = world();
    w.pool.triggers.push(crate::pb::TriggerDeployed { kind: "CustomMessage".into(), version: 1, ..Default::default() });
    let sorted = vec!["a=2".to_string(), "z=1".to_string()];
    let create = AdminUserCommand::Create {
        username: "Alice".into(),
        temporary_password: None,
        attributes: vec![("email".into(), "a@example.com".into())],
        action: MessageAction::Send,
        delivery_mediums: vec!["EMAIL".into()],
        client_metadata: meta(),
    };
    assert_eq!(code_of(&w.when(create).expect("create")), ("CustomMessage_AdminCreateUser".to_string(), sorted.clone()));
    let update =
        AdminUserCommand::UpdateAttributes { attributes: vec![("email".into(), "b@example.com".into())], client_id: String::new(), client_metadata: meta() };
    assert_eq!(code_of(&w.when(update).expect("update")), ("CustomMessage_UpdateUserAttribute".to_string(), sorted.clone()));
    w.user.as_mut().expect("user").status = "CONFIRMED".into();
    let verified =
        AdminUserCommand::UpdateAttributes { attributes: vec![("email_verified".into(), "true".into())], client_id: String::new(), client_metadata: vec![] };
    w.when(verified).expect("verify");
    let reset = w.when(AdminUserCommand::ResetPassword { client_id: String::new(), client_metadata: meta() }).expect("reset");
    assert_eq!(code_of(&reset), ("CustomMessage_ForgotPassword".to_string(), sorted));

    // Without the trigger, neither is recorded.
    let mut w = world();
    let create = AdminUserCommand::Create {
        username: "Bob".into(),
        temporary_password: None,
        attributes: vec![("email".into(), "b@example.com".into())],
        action: MessageAction::Send,
        delivery_mediums: vec!["EMAIL".into()],
        client_metadata: meta(),
    };
    assert_eq!(code_of(&w.when(create).expect("create")), (String::new(), vec![]));
}
