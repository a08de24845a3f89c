//! Admin subcommands: talk gRPC to a running server with the credential in admin.json.

use idp_api::meta;
use idp_api::pb::{admin_client::AdminClient, CreateUserPoolClientRequest, CreateUserPoolRequest, ListUserPoolClientsRequest, ListUserPoolsRequest};
use idp_app::credentials::AdminCredentials;
use tonic::Request;

use crate::config::{ClientCmd, ConnArgs, PoolCmd, UsersCmd};
use crate::serve::BoxError;

pub(crate) async fn connect(conn: &ConnArgs) -> Result<(AdminClient<tonic::transport::Channel>, AdminCredentials), BoxError> {
    let text = std::fs::read_to_string(conn.data_dir.join("admin.json"))
        .map_err(|e| format!("reading {}: {e} (start `idp serve` once to create it)", conn.data_dir.join("admin.json").display()))?;
    let creds: AdminCredentials = serde_json::from_str(&text)?;
    let client = AdminClient::connect(format!("http://{}", conn.grpc_addr)).await?;
    Ok((client, creds))
}

pub(crate) fn signed<T>(msg: T, creds: &AdminCredentials) -> Result<Request<T>, BoxError> {
    let mut req = Request::new(msg);
    req.metadata_mut().insert(meta::ACCESS_KEY_ID, creds.access_key_id.parse()?);
    req.metadata_mut().insert(meta::SECRET_ACCESS_KEY, creds.secret_access_key.parse()?);
    Ok(req)
}

fn print(value: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
}

pub async fn pool(cmd: PoolCmd) -> Result<(), BoxError> {
    match cmd {
        PoolCmd::Create { conn, name, auto_verify } => {
            let (mut c, creds) = connect(&conn).await?;
            let req = CreateUserPoolRequest { pool_name: name, auto_verified_attributes: auto_verify, ..Default::default() };
            let pool = c.create_user_pool(signed(req, &creds)?).await?.into_inner();
            print(serde_json::json!({"Id": pool.id, "Name": pool.name}));
        }
        PoolCmd::List { conn } => {
            let (mut c, creds) = connect(&conn).await?;
            let mut token = String::new();
            loop {
                let req = ListUserPoolsRequest { max_results: 60, next_token: token.clone() };
                let page = c.list_user_pools(signed(req, &creds)?).await?.into_inner();
                for p in page.user_pools {
                    println!("{}\t{}", p.id, p.name);
                }
                if page.next_token.is_empty() {
                    break;
                }
                token = page.next_token;
            }
        }
    }
    Ok(())
}

pub async fn client(cmd: ClientCmd) -> Result<(), BoxError> {
    match cmd {
        ClientCmd::Create { conn, pool, name, secret, flows } => {
            let (mut c, creds) = connect(&conn).await?;
            let flows =
                if flows.is_empty() { vec!["ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_USER_SRP_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()] } else { flows };
            let req = CreateUserPoolClientRequest {
                user_pool_id: pool,
                client_name: name,
                generate_secret: secret,
                explicit_auth_flows: flows,
                ..Default::default()
            };
            let cl = c.create_user_pool_client(signed(req, &creds)?).await?.into_inner();
            print(serde_json::json!({"ClientId": cl.client_id, "ClientSecret": cl.client_secret, "UserPoolId": cl.user_pool_id}));
        }
        ClientCmd::List { conn, pool } => {
            let (mut c, creds) = connect(&conn).await?;
            let req = ListUserPoolClientsRequest { user_pool_id: pool, max_results: 60, next_token: String::new() };
            for cl in c.list_user_pool_clients(signed(req, &creds)?).await?.into_inner().user_pool_clients {
                println!("{}\t{}", cl.client_id, cl.client_name);
            }
        }
    }
    Ok(())
}

pub async fn users(cmd: UsersCmd) -> Result<(), BoxError> {
    match cmd {
        UsersCmd::List { conn, pool, filter } => {
            let (mut c, creds) = connect(&conn).await?;
            let mut token = String::new();
            loop {
                let req = idp_api::pb::ListUsersRequest { user_pool_id: pool.clone(), limit: 60, pagination_token: token.clone(), filter: filter.clone() };
                let page = c.list_users(signed(req, &creds)?).await?.into_inner();
                for u in page.users {
                    let email = u.attributes.iter().find(|a| a.name == "email").map(|a| a.value.as_str()).unwrap_or("-");
                    println!("{}\t{}\t{}\t{}\t{}", u.username, u.user_status, if u.enabled { "enabled" } else { "disabled" }, u.sub, email);
                }
                if page.pagination_token.is_empty() {
                    break;
                }
                token = page.pagination_token;
            }
        }
    }
    Ok(())
}
