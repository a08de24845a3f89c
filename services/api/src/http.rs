//! The HTTP listener: `/<poolId>/.well-known/jwks.json`, OpenID discovery, `/healthz`, `/readyz`,
//! and the Cognito JSON protocol on `POST /` ([`crate::cognito`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use axum::Router;
use idp_app::credentials::AdminCredentials;
use idp_app::App;

pub fn router(app: Arc<App>, credentials: AdminCredentials) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route("/{pool_id}/.well-known/openid-configuration", get(openid))
        .with_state(app.clone())
        .merge(crate::cognito::router(app, credentials))
        .layer(axum::middleware::from_fn(crate::scope::http_scope))
}

async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    if app.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

async fn known_pool(app: &App, pool_id: &str) -> bool {
    app.pool(pool_id).await.is_ok()
}

async fn jwks(State(app): State<Arc<App>>, Path(pool_id): Path<String>) -> impl IntoResponse {
    if !known_pool(&app, &pool_id).await {
        return (StatusCode::NOT_FOUND, Json(serde_json::json!({"message": "User pool not found"})));
    }
    (StatusCode::OK, Json(app.issuer().jwks()))
}

async fn openid(State(app): State<Arc<App>>, Path(pool_id): Path<String>) -> impl IntoResponse {
    if !known_pool(&app, &pool_id).await {
        return (StatusCode::NOT_FOUND, Json(serde_json::json!({"message": "User pool not found"})));
    }
    let iss = app.issuer().issuer_for(&pool_id);
    (
        StatusCode::OK,
        Json(serde_json::json!({
            "issuer": iss,
            "jwks_uri": format!("{iss}/.well-known/jwks.json"),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "claims_supported": ["sub", "email", "email_verified", "phone_number", "phone_number_verified", "cognito:username", "cognito:groups"],
        })),
    )
}
