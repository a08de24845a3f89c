//! Serving: the gRPC server (Admin, AdminUsers, Groups, Users, reflection, grpc.health.v1) and
//! the HTTP listener.

use std::net::SocketAddr;
use std::sync::Arc;

use idp_app::credentials::AdminCredentials;
use idp_app::App;
use tokio::net::TcpListener;

use crate::admin::AdminService;
use crate::admin_users::{AdminUsersService, GroupsService};
use crate::pb::{
    admin_server::AdminServer, admin_users_server::AdminUsersServer, groups_server::GroupsServer, sign_in_server::SignInServer, users_server::UsersServer,
    DESCRIPTOR,
};
use crate::signin::SignInService;
use crate::users::UsersService;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("gRPC server: {0}")]
    Grpc(String),
    #[error("HTTP server: {0}")]
    Http(String),
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })
}

/// Serves gRPC on `listener` until `shutdown` resolves.
/// The largest admin request accepted: a component of the allowed size, its configuration and
/// framing (at least tonic's default 4 MiB).
fn admin_message_limit(app: &App) -> usize {
    let component = usize::try_from(app.config().trigger_max_component_bytes).unwrap_or(usize::MAX);
    component.saturating_add(256 << 10).max(4 << 20)
}

pub async fn serve_grpc(
    listener: TcpListener,
    app: Arc<App>,
    credentials: AdminCredentials,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR)
        .build_v1()
        .map_err(|e| ServeError::Grpc(e.to_string()))?;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<AdminServer<AdminService>>().await;
    health_reporter.set_serving::<UsersServer<UsersService>>().await;
    health_reporter.set_serving::<AdminUsersServer<AdminUsersService>>().await;
    health_reporter.set_serving::<GroupsServer<GroupsService>>().await;
    health_reporter.set_serving::<SignInServer<SignInService>>().await;
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tonic::transport::Server::builder()
        .layer(crate::scope::RequestScopeLayer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(AdminUsersServer::new(AdminUsersService { app: app.clone(), credentials: credentials.clone() }))
        .add_service(GroupsServer::new(GroupsService { app: app.clone(), credentials: credentials.clone() }))
        // DeployTrigger carries a whole component: room for the largest allowed plus its config.
        .add_service(AdminServer::new(AdminService { app: app.clone(), credentials: credentials.clone() }).max_decoding_message_size(admin_message_limit(&app)))
        .add_service(SignInServer::new(SignInService { app: app.clone(), credentials }))
        .add_service(UsersServer::new(UsersService { app }))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| ServeError::Grpc(e.to_string()))
}

/// Serves HTTP on `listener` until `shutdown` resolves.
pub async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // Peer addresses reach the handlers (per-source throttling of the Cognito sign-in calls).
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServeError::Http(e.to_string()))
}
