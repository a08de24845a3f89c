//! Host bindings generated from `triggers/wit` (one module per world). The shared types and the
//! `host` interface are generated once (world `host-shared`) and reused by every world.

#![allow(missing_docs, clippy::all)]

mod shared {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "host-shared",
    });
}

pub use shared::idp::triggers::host;
pub use shared::idp::triggers::types;

macro_rules! world {
    ($module:ident, $world:literal) => {
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../wit",
                world: $world,
                with: {
                    "idp:triggers/types": crate::bindings::types,
                    "idp:triggers/host": crate::bindings::host,
                },
            });
        }
    };
}

world!(pre_sign_up, "pre-sign-up");
world!(post_confirmation, "post-confirmation");
world!(pre_authentication, "pre-authentication");
world!(post_authentication, "post-authentication");
world!(pre_token_generation, "pre-token-generation");
world!(custom_message, "custom-message");
world!(user_migration, "user-migration");
world!(define_auth_challenge, "define-auth-challenge");
world!(create_auth_challenge, "create-auth-challenge");
world!(verify_auth_challenge, "verify-auth-challenge");
