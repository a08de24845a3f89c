//! ListUsers filters over gRPC and the CLI, paging under concurrent sign-ups, and the search
//! index surviving a restart and a rebuild.

mod common;

use std::collections::BTreeSet;

use common::*;
use idp_api::pb::*;
use tonic::Code;

async fn sign_up(server: &Server, cid: &str, username: &str, attributes: &[(&str, &str)]) -> String {
    let mut users = server.users().await;
    users
        .sign_up(SignUpRequest {
            client_id: cid.into(),
            username: username.into(),
            password: PASSWORD.into(),
            user_attributes: attrs(attributes),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("sign up {username}: {e:?}"))
        .into_inner()
        .user_sub
}

/// Every page of a listing, as (usernames per page).
async fn pages(admin: &mut Admin, pool: &str, filter: &str, limit: u32) -> Result<Vec<Vec<String>>, tonic::Status> {
    let (mut out, mut token) = (Vec::new(), String::new());
    loop {
        let page = admin
            .client
            .list_users(admin.req(ListUsersRequest { user_pool_id: pool.into(), limit, pagination_token: token.clone(), filter: filter.into() }))
            .await?
            .into_inner();
        assert!(page.users.len() <= limit as usize, "page of {} over limit {limit}", page.users.len());
        out.push(page.users.into_iter().map(|u| u.username).collect());
        if page.pagination_token.is_empty() {
            return Ok(out);
        }
        assert!(out.len() < 1000, "paging does not end");
        token = page.pagination_token;
    }
}

async fn list(admin: &mut Admin, pool: &str, filter: &str) -> Vec<String> {
    pages(admin, pool, filter, 60).await.unwrap_or_else(|e| panic!("{filter}: {e:?}")).concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_over_grpc_and_the_cli_survive_restart_and_rebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let mut subs = Vec::new();
    for i in 0..12 {
        let domain = if i % 2 == 0 { "even.example" } else { "odd.example" };
        let email = format!("user{i:02}@{domain}");
        let family = if i == 3 { "O\"Brien".to_string() } else { format!("Family{}", i % 3) };
        subs.push(sign_up(&server, &cid, &format!("User{i:02}"), &[("email", &email), ("family_name", &family)]).await);
    }
    // Confirm two users (status CONFIRMED), then change one's email.
    let mut users = server.users().await;
    for name in ["User01", "User02"] {
        let code = server.code_for(name, "SIGN_UP").await;
        users
            .confirm_sign_up(ConfirmSignUpRequest { client_id: cid.clone(), username: name.into(), confirmation_code: code, ..Default::default() })
            .await
            .expect("confirm");
    }
    let token = users
        .initiate_auth(InitiateAuthRequest {
            client_id: cid.clone(),
            auth_flow: "USER_PASSWORD_AUTH".into(),
            auth_parameters: params(&[("USERNAME", "User02"), ("PASSWORD", PASSWORD)]),
            ..Default::default()
        })
        .await
        .expect("sign in")
        .into_inner()
        .authentication_result
        .expect("tokens")
        .access_token;
    users
        .update_user_attributes(UpdateUserAttributesRequest { access_token: token, user_attributes: attrs(&[("given_name", "Zed")]), ..Default::default() })
        .await
        .expect("update attributes");

    let mut admin = server.admin().await;
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (r#"email = "user05@odd.example""#.into(), vec!["User05"], "exact"),
        (r#"email ^= "user1""#.into(), vec!["User10", "User11"], "prefix"),
        (
            r#"  email^="user0"  "#.into(),
            vec!["User00", "User01", "User02", "User03", "User04", "User05", "User06", "User07", "User08", "User09"],
            "prefix, no spaces, value order",
        ),
        (r#"family_name = "O\"Brien""#.into(), vec!["User03"], "escaped quote"),
        (r#"family_name = "Family1""#.into(), vec!["User01", "User04", "User07", "User10"], "ties in username order"),
        (r#"cognito:user_status = "confirmed""#.into(), vec!["User01", "User02"], "status, case-insensitive"),
        (r#"status = "enabled""#.into(), vec![], "status is case-sensitive"),
        (r#"status = "Disabled""#.into(), vec![], "nobody is disabled"),
        (r#"username = "User07""#.into(), vec!["User07"], "username"),
        (r#"username = "user07""#.into(), vec![], "username is case-sensitive"),
        (format!("sub = \"{}\"", subs[9]), vec!["User09"], "sub"),
        (r#"given_name = "Zed""#.into(), vec!["User02"], "attribute set later"),
        (r#"name ^= """#.into(), vec![], "nobody has a name"),
    ];
    for (filter, want, what) in cases {
        assert_eq!(list(&mut admin, &pool, &filter).await, names(&want), "{what}: {filter}");
    }
    assert_eq!(list(&mut admin, &pool, r#"cognito:user_status ^= "UNCONF""#).await.len(), 10, "unconfirmed");
    assert_eq!(list(&mut admin, &pool, r#"status = "Enabled""#).await.len(), 12, "enabled");
    assert_eq!(list(&mut admin, &pool, "   ").await.len(), 12, "blank filter: everyone");

    for (filter, message) in [
        ("email = foo", "Error while parsing filter"),
        (r#"email = "x" or name = "y""#, "Error while parsing filter"),
        (r#"custom:tier = "gold""#, "Invalid search attribute: custom:tier"),
        (r#"email_verified = "true""#, "Invalid search attribute: email_verified"),
    ] {
        let r = admin.client.list_users(admin.req(ListUsersRequest { user_pool_id: pool.clone(), filter: filter.into(), ..Default::default() })).await;
        match &r {
            Err(s) => assert_eq!(s.message(), message, "{filter}"),
            Ok(_) => panic!("{filter} accepted"),
        }
        expect_error(r, "InvalidParameterException", Code::InvalidArgument);
    }
    // A token belongs to its filter (and is opaque): another filter, or garbage, is refused.
    let first = admin
        .client
        .list_users(admin.req(ListUsersRequest { user_pool_id: pool.clone(), limit: 2, filter: r#"email ^= "user""#.into(), ..Default::default() }))
        .await
        .expect("first page")
        .into_inner();
    assert!(!first.pagination_token.is_empty());
    for (filter, token) in
        [(r#"email ^= "zzz""#, first.pagination_token.as_str()), ("", first.pagination_token.as_str()), (r#"email ^= "user""#, "not*a*token")]
    {
        let r = admin
            .client
            .list_users(admin.req(ListUsersRequest { user_pool_id: pool.clone(), limit: 2, filter: filter.into(), pagination_token: token.into() }))
            .await;
        expect_error(r, "InvalidParameterException", Code::InvalidArgument);
    }

    // Paging with a filter: several pages, nothing lost or repeated, in (value, username) order.
    let paged = pages(&mut admin, &pool, r#"email ^= "user""#, 5).await.expect("pages");
    assert_eq!(paged.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 5, 2]);
    let all: Vec<String> = (0..12).map(|i| format!("User{i:02}")).collect();
    assert_eq!(paged.concat(), all);
    let exact_pages = pages(&mut admin, &pool, r#"email = "user04@even.example""#, 1).await.expect("pages");
    assert_eq!(exact_pages, vec![vec!["User04".to_string()]], "a full last page has no token when nothing follows");

    // The CLI passes the filter through.
    let cli = |filter: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_idp"))
            .args(["users", "list", "--pool", &pool, "--grpc-addr", &format!("127.0.0.1:{}", server.grpc), "--filter", filter, "--data-dir"])
            .arg(dir.path())
            .output()
            .expect("idp users list");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| l.split('\t').next().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(cli(r#"email ^= "user1""#), names(&["User10", "User11"]));
    assert_eq!(cli(r#"cognito:user_status = "CONFIRMED""#), names(&["User01", "User02"]));

    // The index is a projection: it survives a restart, and a rebuild reproduces it.
    let before = list(&mut admin, &pool, r#"email ^= "user""#).await;
    server.kill9();
    let (fp_before, fp_after, out) = server.rebuild();
    assert_eq!(fp_before, fp_after, "rebuild changed the projections: {out}");
    server.restart().await;
    let mut admin = server.admin().await;
    assert_eq!(list(&mut admin, &pool, r#"email ^= "user""#).await, before);
    assert_eq!(list(&mut admin, &pool, r#"given_name = "Zed""#).await, names(&["User02"]));
}

/// Paging while others sign up: every user that existed when paging began is listed exactly
/// once, whether the page order is by username (no filter) or by value (filter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_under_concurrent_sign_ups_misses_and_repeats_nobody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    let mut initial = BTreeSet::new();
    for i in 0..40 {
        let name = format!("early{:02}", i * 2);
        sign_up(&server, &cid, &name, &[("email", &format!("m{:02}@example.com", i * 2))]).await;
        initial.insert(name);
    }
    // Writers: names and emails that sort between, before and after the existing ones.
    let mut writers = Vec::new();
    for w in 0..4 {
        let (users, cid) = (server.users().await, cid.clone());
        writers.push(tokio::spawn(async move {
            let mut users = users;
            for i in 0..20 {
                let n = w * 20 + i;
                let (name, email) = match n % 3 {
                    0 => (format!("early{:02}x", n % 80), format!("m{:02}x@example.com", n % 80)),
                    1 => (format!("aaa{n:02}"), format!("a{n:02}@example.com")),
                    _ => (format!("zzz{n:02}"), format!("z{n:02}@example.com")),
                };
                let r = users
                    .sign_up(SignUpRequest {
                        client_id: cid.clone(),
                        username: name,
                        password: PASSWORD.into(),
                        user_attributes: attrs(&[("email", &email)]),
                        ..Default::default()
                    })
                    .await;
                assert!(r.is_ok(), "{r:?}");
            }
        }));
    }
    let mut admin = server.admin().await;
    let mut rounds = 0;
    loop {
        rounds += 1;
        for filter in ["", r#"email ^= "m""#, r#"email ^= """#] {
            let listed = pages(&mut admin, &pool, filter, 3).await.expect("pages").concat();
            let unique: BTreeSet<_> = listed.iter().cloned().collect();
            assert_eq!(unique.len(), listed.len(), "{filter:?}: a user was listed twice");
            let missing: Vec<_> = initial.difference(&unique).collect();
            assert!(missing.is_empty(), "{filter:?}: missed {missing:?}");
        }
        if writers.iter().all(|w| w.is_finished()) || rounds >= 20 {
            break;
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    let everyone = list(&mut admin, &pool, r#"email ^= """#).await;
    assert_eq!(everyone.len(), 120);
}
