//! An upgrade across a change of row layout: a store written in another layout (here: one
//! that recorded an older layout and still holds a row of the retired `UserIndex` table) is
//! rebuilt when `idp serve` starts, so it holds exactly what a replay of the log writes.

mod common;

use common::*;
use idp_api::pb::*;
use idp_projector::rows::LAYOUT;
use idp_store::{FjallStore, ProjectionStore, Table, Write};

async fn sign_up(server: &Server, cid: &str, user: &str) {
    let req = SignUpRequest {
        client_id: cid.into(),
        username: user.into(),
        password: "Correct-Horse-9".into(),
        user_attributes: attrs(&[("email", &format!("{user}@example.com"))]),
        ..Default::default()
    };
    server.users().await.sign_up(req).await.expect("sign up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_in_another_row_layout_is_rebuilt_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path(), Server::FAST_HASH).await;
    let (pool, cid) = pool_and_client(&server, false).await;
    for user in ["ann", "bob", "cat"] {
        sign_up(&server, &cid, user).await;
    }
    server.kill9();

    // What an older version left behind.
    let path = dir.path().join("projections");
    {
        let store = FjallStore::open(&path).expect("open the store");
        assert_eq!(store.layout().await.expect("layout"), Some(LAYOUT), "serve records its layout");
        let offset = store.offset(0).await.expect("offset").unwrap_or(0);
        let stale = Write::Put { table: Table::UserIndex, pk: pool.as_bytes().to_vec(), ck: b"ann".to_vec(), value: b"sub".to_vec().into() };
        store.commit(0, offset, vec![stale]).await.expect("commit");
        store.set_layout(LAYOUT - 1).await.expect("set layout");
    }

    server.restart().await;
    let mut admin = server.admin().await;
    let page = admin.client.list_users(admin.req(ListUsersRequest { user_pool_id: pool.clone(), ..Default::default() })).await.expect("list").into_inner();
    let names: Vec<_> = page.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ann", "bob", "cat"]);
    server.kill9();

    {
        let store = FjallStore::open(&path).expect("open the store");
        assert_eq!(store.layout().await.expect("layout"), Some(LAYOUT));
        assert_eq!(store.get(Table::UserIndex, pool.as_bytes(), b"ann").await.expect("get"), None, "the stale row survived the start");
    }
    let (before, after, _) = server.rebuild();
    assert!(!before.is_empty());
    assert_eq!(before, after, "the store after the start is not what a replay writes");
}
