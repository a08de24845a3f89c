//! Network adapters over the command path in `idp-app`. No business rule lives here: each
//! handler converts wire shapes to `App` calls and `AppError`s to the wire.
//!
//! - [`pb`]: generated gRPC types (`proto/idp/v1/idp.proto`) and the reflection descriptor.
//! - [`status`]: the one mapping from error names to gRPC codes (+ `x-idp-error` metadata).
//! - [`admin`]: the `Admin` service (pools, app clients), guarded by the admin credential.
//! - [`admin_users`]: the `AdminUsers` (admin user operations, AddCustomAttributes) and `Groups`
//!   services, guarded by the admin credential.
//! - [`users`]: the `Users` service (sign-up … delete user).
//! - [`signin`]: the `SignIn` service (admin sign-in, software tokens, MFA settings).
//! - [`http`]: the HTTP listener: JWKS, OpenID discovery, `/healthz`, `/readyz`, and `POST /`.
//! - [`cognito`]: the Cognito JSON 1.1 protocol on `POST /` (SigV4 for admin operations).
//! - [`scope`]: runs each request in its own catch-up scope (one end-offset read per request).
//! - [`server`]: assembling the gRPC server (reflection, grpc.health.v1) and serving both.

pub mod admin;
pub mod admin_users;
pub mod cognito;
pub mod http;
pub mod scope;
pub mod server;
pub mod signin;
pub mod status;
pub mod users;

pub mod pb {
    //! Generated types of package `idp.v1`.
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("idp.v1");
    /// Encoded `FileDescriptorSet` for server reflection.
    pub const DESCRIPTOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/idp_descriptor.bin"));
}

/// Metadata keys of the gRPC API.
pub mod meta {
    pub const ERROR: &str = "x-idp-error";
    pub const ACCESS_KEY_ID: &str = "x-idp-access-key-id";
    pub const SECRET_ACCESS_KEY: &str = "x-idp-secret-access-key";
    pub const REQUEST_ID: &str = "x-idp-request-id";
}

/// The request id of a call (empty when none).
pub(crate) fn request_id<T>(req: &tonic::Request<T>) -> String {
    req.metadata().get(meta::REQUEST_ID).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(128).collect()).unwrap_or_default()
}
