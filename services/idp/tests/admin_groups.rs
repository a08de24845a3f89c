//! Admin user APIs and groups end to end over gRPC against the real binary: AdminCreateUser
//! (generated temporary password delivered sealed through the outbox, RESEND, SUPPRESS), every
//! Admin* user operation with its error cases, AddCustomAttributes enforced by later writes,
//! groups (CRUD, paging, membership, a re-created group without its old members) and
//! `cognito:groups` in the ID and access tokens by precedence; then no temporary password in
//! the log or store, and a rebuild giving identical projections.

mod common;

use base64::Engine;
use common::{expect_error, params, pool_and_client, Server, PASSWORD};
use idp_api::pb::{self, admin_users_client::AdminUsersClient, groups_client::GroupsClient};
use tonic::transport::Channel;
use tonic::Code;

struct Clients {
    admin: common::Admin,
    users: AdminUsersClient<Channel>,
    groups: GroupsClient<Channel>,
}

async fn clients(server: &Server) -> Clients {
    let url = format!("http://127.0.0.1:{}", server.grpc);
    Clients {
        admin: server.admin().await,
        users: AdminUsersClient::connect(url.clone()).await.expect("connect admin users"),
        groups: GroupsClient::connect(url).await.expect("connect groups"),
    }
}

fn attrs(pairs: &[(&str, &str)]) -> Vec<pb::AttributeType> {
    common::attrs(pairs)
}

fn user_req(pool: &str, username: &str) -> pb::AdminUserRequest {
    pb::AdminUserRequest { user_pool_id: pool.into(), username: username.into() }
}

fn group_req(pool: &str, group: &str) -> pb::GroupRequest {
    pb::GroupRequest { user_pool_id: pool.into(), group_name: group.into() }
}

fn member(pool: &str, username: &str, group: &str) -> pb::UserGroupRequest {
    pb::UserGroupRequest { user_pool_id: pool.into(), username: username.into(), group_name: group.into() }
}

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

fn groups_claim(jwt: &str) -> Vec<String> {
    claims(jwt)["cognito:groups"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

async fn sign_in(server: &Server, client_id: &str, username: &str, password: &str) -> Result<pb::AuthenticationResult, tonic::Status> {
    let mut users = server.users().await;
    let r = users
        .initiate_auth(pb::InitiateAuthRequest {
            client_id: client_id.into(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", username), ("PASSWORD", password)]),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(r.authentication_result.expect("tokens"))
}

/// The invitations (temporary passwords) sent to `username`, oldest first.
async fn invitations(server: &Server, username: &str, at_least: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let found: Vec<String> = server
            .messages()
            .into_iter()
            .filter(|m| m["username"] == username && m["kind"] == "ADMIN_CREATE_USER")
            .map(|m| m["code"].as_str().unwrap_or_default().to_string())
            .collect();
        if found.len() >= at_least {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "no invitation for {username}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_user_apis_and_groups_over_grpc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, client_id) = pool_and_client(&server, false).await;
    let mut c = clients(&server).await;

    // --- AdminCreateUser: generated temporary password, invitation by email.
    let created = c
        .users
        .admin_create_user(c.admin.req(pb::AdminCreateUserRequest {
            user_pool_id: pool.clone(),
            username: "alice".into(),
            user_attributes: attrs(&[("email", "alice@example.com"), ("email_verified", "true")]),
            desired_delivery_mediums: vec!["EMAIL".into()],
            ..Default::default()
        }))
        .await
        .expect("create alice")
        .into_inner();
    assert_eq!(created.user_status, "FORCE_CHANGE_PASSWORD");
    assert!(created.attributes.iter().any(|a| a.name == "email_verified" && a.value == "true"));
    let first = invitations(&server, "alice", 1).await;
    let temp = first[0].clone();
    assert!(temp.len() >= 8 && temp.chars().any(|c| c.is_ascii_uppercase()) && temp.chars().any(|c| !c.is_ascii_alphanumeric()), "{temp}");
    // RESEND: a new temporary password, sent again.
    c.users
        .admin_create_user(c.admin.req(pb::AdminCreateUserRequest {
            user_pool_id: pool.clone(),
            username: "alice".into(),
            message_action: "RESEND".into(),
            desired_delivery_mediums: vec!["EMAIL".into()],
            ..Default::default()
        }))
        .await
        .expect("resend");
    let second = invitations(&server, "alice", 2).await;
    assert_ne!(second[1], temp, "RESEND draws a new temporary password");
    // SUPPRESS: no message; the given temporary password is used.
    c.users
        .admin_create_user(c.admin.req(pb::AdminCreateUserRequest {
            user_pool_id: pool.clone(),
            username: "bob".into(),
            temporary_password: Some("Temp-Passw0rd!".into()),
            user_attributes: attrs(&[("email", "bob@example.com")]),
            message_action: "SUPPRESS".into(),
            ..Default::default()
        }))
        .await
        .expect("create bob");
    // Errors, each writing nothing.
    let create = |username: &str, attributes: Vec<pb::AttributeType>, password: Option<&str>, pool_id: &str| pb::AdminCreateUserRequest {
        user_pool_id: pool_id.into(),
        username: username.into(),
        user_attributes: attributes,
        temporary_password: password.map(str::to_string),
        message_action: "SUPPRESS".into(),
        ..Default::default()
    };
    expect_error(c.users.admin_create_user(c.admin.req(create("alice", vec![], None, &pool))).await, "UsernameExistsException", Code::AlreadyExists);
    expect_error(
        c.users.admin_create_user(c.admin.req(create("x1", attrs(&[("custom:nope", "1")]), None, &pool))).await,
        "InvalidParameterException",
        Code::InvalidArgument,
    );
    expect_error(c.users.admin_create_user(c.admin.req(create("x2", vec![], Some("weak"), &pool))).await, "InvalidPasswordException", Code::InvalidArgument);
    expect_error(c.users.admin_create_user(c.admin.req(create("x3", vec![], None, "us-east-1_Nope12345"))).await, "ResourceNotFoundException", Code::NotFound);
    expect_error(c.users.admin_create_user(pb::AdminCreateUserRequest::default()).await, "UnrecognizedClientException", Code::Unauthenticated);
    let resend_unknown = pb::AdminCreateUserRequest { message_action: "RESEND".into(), ..create("ghost", vec![], None, &pool) };
    expect_error(c.users.admin_create_user(c.admin.req(resend_unknown)).await, "UserNotFoundException", Code::NotFound);
    expect_error(c.users.admin_get_user(c.admin.req(user_req(&pool, "x1"))).await, "UserNotFoundException", Code::NotFound);

    // --- AdminGetUser, AdminSetUserPassword.
    let got = c.users.admin_get_user(c.admin.req(user_req(&pool, "ALICE"))).await.expect("get").into_inner();
    assert_eq!(got.user.as_ref().map(|u| u.username.as_str()), Some("alice"));
    let set = |username: &str, password: &str, permanent: bool| pb::AdminSetUserPasswordRequest {
        user_pool_id: pool.clone(),
        username: username.into(),
        password: password.into(),
        permanent,
    };
    expect_error(c.users.admin_set_user_password(c.admin.req(set("alice", "weak", true))).await, "InvalidPasswordException", Code::InvalidArgument);
    expect_error(c.users.admin_set_user_password(c.admin.req(set("ghost", PASSWORD, true))).await, "UserNotFoundException", Code::NotFound);
    c.users.admin_set_user_password(c.admin.req(set("alice", "Other-Passw0rd", false))).await.expect("temporary");
    let status = |u: &pb::AdminGetUserResponse| u.user.as_ref().map(|u| u.user_status.clone()).unwrap_or_default();
    assert_eq!(status(&c.users.admin_get_user(c.admin.req(user_req(&pool, "alice"))).await.expect("get").into_inner()), "FORCE_CHANGE_PASSWORD");
    c.users.admin_set_user_password(c.admin.req(set("alice", PASSWORD, true))).await.expect("permanent");
    assert_eq!(status(&c.users.admin_get_user(c.admin.req(user_req(&pool, "alice"))).await.expect("get").into_inner()), "CONFIRMED");
    let tokens = sign_in(&server, &client_id, "alice", PASSWORD).await.expect("alice signs in");

    // --- Disable / enable.
    c.users.admin_disable_user(c.admin.req(user_req(&pool, "alice"))).await.expect("disable");
    expect_error(sign_in(&server, &client_id, "alice", PASSWORD).await, "NotAuthorizedException", Code::Unauthenticated);
    let mut users = server.users().await;
    expect_error(users.get_user(pb::AccessTokenRequest { access_token: tokens.access_token.clone() }).await, "NotAuthorizedException", Code::Unauthenticated);
    c.users.admin_enable_user(c.admin.req(user_req(&pool, "alice"))).await.expect("enable");
    let tokens = sign_in(&server, &client_id, "alice", PASSWORD).await.expect("signs in again");
    expect_error(c.users.admin_disable_user(c.admin.req(user_req(&pool, "ghost"))).await, "UserNotFoundException", Code::NotFound);

    // --- AddCustomAttributes, then attribute updates and deletes.
    let custom = |name: &str, t: &str, min: Option<i64>, max: Option<i64>| pb::CustomAttribute {
        name: name.into(),
        attribute_data_type: t.into(),
        mutable: true,
        min_value: min,
        max_value: max,
        ..Default::default()
    };
    c.users
        .add_custom_attributes(
            c.admin.req(pb::AddCustomAttributesRequest { user_pool_id: pool.clone(), custom_attributes: vec![custom("tier", "Number", Some(1), Some(3))] }),
        )
        .await
        .expect("add custom");
    let dup = pb::AddCustomAttributesRequest { user_pool_id: pool.clone(), custom_attributes: vec![custom("custom:tier", "String", None, None)] };
    expect_error(c.users.add_custom_attributes(c.admin.req(dup)).await, "InvalidParameterException", Code::InvalidArgument);
    let update = |pairs: &[(&str, &str)]| pb::AdminUpdateUserAttributesRequest {
        user_pool_id: pool.clone(),
        username: "alice".into(),
        user_attributes: attrs(pairs),
        ..Default::default()
    };
    expect_error(c.users.admin_update_user_attributes(c.admin.req(update(&[("custom:tier", "7")]))).await, "InvalidParameterException", Code::InvalidArgument);
    expect_error(c.users.admin_update_user_attributes(c.admin.req(update(&[("sub", "x")]))).await, "InvalidParameterException", Code::InvalidArgument);
    c.users.admin_update_user_attributes(c.admin.req(update(&[("custom:tier", "2"), ("name", "Alice A")]))).await.expect("update");
    let delete = pb::AdminDeleteUserAttributesRequest { user_pool_id: pool.clone(), username: "alice".into(), user_attribute_names: vec!["name".into()] };
    c.users.admin_delete_user_attributes(c.admin.req(delete)).await.expect("delete attribute");
    let u = c.users.admin_get_user(c.admin.req(user_req(&pool, "alice"))).await.expect("get").into_inner().user.expect("user");
    assert!(u.attributes.iter().any(|a| a.name == "custom:tier" && a.value == "2"));
    assert!(!u.attributes.iter().any(|a| a.name == "name"));

    // --- AdminConfirmSignUp.
    users
        .sign_up(pb::SignUpRequest {
            client_id: client_id.clone(),
            username: "carol".into(),
            password: PASSWORD.into(),
            user_attributes: attrs(&[("email", "carol@example.com")]),
            ..Default::default()
        })
        .await
        .expect("carol signs up");
    c.users.admin_confirm_sign_up(c.admin.req(user_req(&pool, "carol"))).await.expect("confirm");
    expect_error(c.users.admin_confirm_sign_up(c.admin.req(user_req(&pool, "carol"))).await, "NotAuthorizedException", Code::Unauthenticated);
    sign_in(&server, &client_id, "carol", PASSWORD).await.expect("carol signs in");

    // --- AdminResetUserPassword: RESET_REQUIRED and a code to the verified email.
    expect_error(c.users.admin_reset_user_password(c.admin.req(user_req(&pool, "carol"))).await, "InvalidParameterException", Code::InvalidArgument);
    c.users.admin_reset_user_password(c.admin.req(user_req(&pool, "alice"))).await.expect("reset");
    assert_eq!(status(&c.users.admin_get_user(c.admin.req(user_req(&pool, "alice"))).await.expect("get").into_inner()), "RESET_REQUIRED");
    expect_error(sign_in(&server, &client_id, "alice", PASSWORD).await, "PasswordResetRequiredException", Code::FailedPrecondition);
    let code = server.code_for("alice", "FORGOT_PASSWORD").await;
    users
        .confirm_forgot_password(pb::ConfirmForgotPasswordRequest {
            client_id: client_id.clone(),
            username: "alice".into(),
            confirmation_code: code,
            password: "Reset-Passw0rd".into(),
            ..Default::default()
        })
        .await
        .expect("confirm reset");

    // --- AdminUserGlobalSignOut.
    c.users.admin_user_global_sign_out(c.admin.req(user_req(&pool, "alice"))).await.expect("sign out");
    expect_error(users.get_user(pb::AccessTokenRequest { access_token: tokens.access_token.clone() }).await, "NotAuthorizedException", Code::Unauthenticated);

    // --- Groups.
    let group = |name: &str, precedence: Option<u32>| pb::CreateGroupRequest {
        user_pool_id: pool.clone(),
        group_name: name.into(),
        description: format!("the {name}"),
        precedence,
        role_arn: String::new(),
    };
    c.groups.create_group(c.admin.req(group("admins", Some(2)))).await.expect("admins");
    c.groups.create_group(c.admin.req(group("devs", Some(1)))).await.expect("devs");
    c.groups.create_group(c.admin.req(group("readers", None))).await.expect("readers");
    expect_error(c.groups.create_group(c.admin.req(group("admins", None))).await, "GroupExistsException", Code::AlreadyExists);
    expect_error(c.groups.create_group(c.admin.req(group("bad name", None))).await, "InvalidParameterException", Code::InvalidArgument);
    expect_error(c.groups.get_group(c.admin.req(group_req(&pool, "nope"))).await, "ResourceNotFoundException", Code::NotFound);
    let updated = c
        .groups
        .update_group(c.admin.req(pb::UpdateGroupRequest {
            user_pool_id: pool.clone(),
            group_name: "readers".into(),
            description: Some("read only".into()),
            role_arn: Some("arn:aws:iam::123456789012:role/Readers".into()),
            ..Default::default()
        }))
        .await
        .expect("update")
        .into_inner();
    assert_eq!((updated.description.as_str(), updated.precedence), ("read only", None));
    let got = c.groups.get_group(c.admin.req(group_req(&pool, "readers"))).await.expect("get group").into_inner();
    assert_eq!(got.role_arn, "arn:aws:iam::123456789012:role/Readers");
    let page1 = c
        .groups
        .list_groups(c.admin.req(pb::ListGroupsRequest { user_pool_id: pool.clone(), limit: 2, next_token: String::new() }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page1.groups.iter().map(|g| g.group_name.as_str()).collect::<Vec<_>>(), vec!["admins", "devs"]);
    let page2 = c
        .groups
        .list_groups(c.admin.req(pb::ListGroupsRequest { user_pool_id: pool.clone(), limit: 2, next_token: page1.next_token }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page2.groups.iter().map(|g| g.group_name.as_str()).collect::<Vec<_>>(), vec!["readers"]);
    assert!(page2.next_token.is_empty());

    for g in ["admins", "devs", "readers"] {
        c.groups.admin_add_user_to_group(c.admin.req(member(&pool, "alice", g))).await.expect("add alice");
    }
    c.groups.admin_add_user_to_group(c.admin.req(member(&pool, "bob", "admins"))).await.expect("add bob");
    expect_error(c.groups.admin_add_user_to_group(c.admin.req(member(&pool, "alice", "nope"))).await, "ResourceNotFoundException", Code::NotFound);
    expect_error(c.groups.admin_add_user_to_group(c.admin.req(member(&pool, "ghost", "admins"))).await, "UserNotFoundException", Code::NotFound);
    let in_group =
        |group: &str, limit: u32, next_token: String| pb::ListUsersInGroupRequest { user_pool_id: pool.clone(), group_name: group.into(), limit, next_token };
    let p1 = c.groups.list_users_in_group(c.admin.req(in_group("admins", 1, String::new()))).await.expect("members").into_inner();
    assert_eq!(p1.users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), vec!["alice"]);
    let p2 = c.groups.list_users_in_group(c.admin.req(in_group("admins", 1, p1.pagination_token))).await.expect("members").into_inner();
    assert_eq!(p2.users.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), vec!["bob"]);
    expect_error(c.groups.list_users_in_group(c.admin.req(in_group("nope", 0, String::new()))).await, "ResourceNotFoundException", Code::NotFound);
    let listed = c
        .users
        .admin_list_groups_for_user(c.admin.req(pb::AdminListGroupsForUserRequest {
            user_pool_id: pool.clone(),
            username: "alice".into(),
            ..Default::default()
        }))
        .await
        .expect("groups for user")
        .into_inner();
    assert_eq!(listed.groups.iter().map(|g| g.group_name.as_str()).collect::<Vec<_>>(), vec!["admins", "devs", "readers"]);

    // Tokens carry the groups by precedence (devs 1, admins 2, readers none).
    let t = sign_in(&server, &client_id, "alice", "Reset-Passw0rd").await.expect("sign in");
    assert_eq!(groups_claim(&t.id_token), vec!["devs", "admins", "readers"]);
    assert_eq!(groups_claim(&t.access_token), vec!["devs", "admins", "readers"]);

    // A deleted and re-created group has no members.
    c.groups.delete_group(c.admin.req(group_req(&pool, "admins"))).await.expect("delete group");
    expect_error(c.groups.delete_group(c.admin.req(group_req(&pool, "admins"))).await, "ResourceNotFoundException", Code::NotFound);
    c.groups.create_group(c.admin.req(group("admins", Some(0)))).await.expect("re-create");
    let members = c.groups.list_users_in_group(c.admin.req(in_group("admins", 0, String::new()))).await.expect("members").into_inner();
    assert!(members.users.is_empty(), "the old members are not inherited: {:?}", members.users);
    let t = sign_in(&server, &client_id, "alice", "Reset-Passw0rd").await.expect("sign in");
    assert_eq!(groups_claim(&t.id_token), vec!["devs", "readers"]);
    let got = c.users.admin_get_user(c.admin.req(user_req(&pool, "alice"))).await.expect("get").into_inner();
    assert_eq!(got.groups, vec!["devs", "readers"]);

    c.groups.admin_remove_user_from_group(c.admin.req(member(&pool, "alice", "devs"))).await.expect("remove");
    let t = sign_in(&server, &client_id, "alice", "Reset-Passw0rd").await.expect("sign in");
    assert_eq!(groups_claim(&t.id_token), vec!["readers"]);
    let members = c.groups.list_users_in_group(c.admin.req(in_group("devs", 0, String::new()))).await.expect("members").into_inner();
    assert!(members.users.is_empty());

    // --- AdminDeleteUser.
    c.users.admin_delete_user(c.admin.req(user_req(&pool, "bob"))).await.expect("delete bob");
    expect_error(c.users.admin_get_user(c.admin.req(user_req(&pool, "bob"))).await, "UserNotFoundException", Code::NotFound);
    expect_error(c.users.admin_delete_user(c.admin.req(user_req(&pool, "bob"))).await, "UserNotFoundException", Code::NotFound);

    // No temporary password in the log or the projections (only the dev outbox has it).
    server.kill9();
    let temporaries: Vec<String> =
        server.messages().iter().filter(|m| m["kind"] == "ADMIN_CREATE_USER").filter_map(|m| m["code"].as_str().map(str::to_string)).collect();
    assert_eq!(temporaries.len(), 2);
    for path in walk(dir.path()) {
        if path.ends_with("outbox.jsonl") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_default();
        for secret in temporaries.iter().map(String::as_str).chain(["Temp-Passw0rd!", "Reset-Passw0rd", "Other-Passw0rd"]) {
            assert!(!contains(&bytes, secret.as_bytes()), "{secret} found in {}", path.display());
        }
    }

    // Replay gives identical projections.
    let (before, after, _) = server.rebuild();
    assert_eq!(before.len(), 64);
    assert_eq!(before, after);
    server.restart().await;
    let t = sign_in(&server, &client_id, "alice", "Reset-Passw0rd").await.expect("sign in after rebuild");
    assert_eq!(groups_claim(&t.id_token), vec!["readers"]);
}
