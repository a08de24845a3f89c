//! Guest-side SDK for identity-service triggers: a trigger is a WebAssembly component built for
//! `wasm32-wasip2` that implements one world of the `idp:triggers@1.0.0` WIT package
//! (`triggers/wit/triggers.wit`).
//!
//! Enable the feature of the kind you write, implement its `Guest` trait and
//! export it:
//!
//! ```ignore
//! use idp_trigger_sdk::pre_sign_up::*;
//!
//! struct AutoConfirm;
//!
//! impl Guest for AutoConfirm {
//!     fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
//!         let mut response = event.response;
//!         response.auto_confirm_user = attr(&event.request.user_attributes, "email")
//!             .is_some_and(|e| e.ends_with("@example.com"));
//!         Ok(response)
//!     }
//! }
//!
//! export!(AutoConfirm);
//! ```
//!
//! Returning `Err(message)` rejects the operation: the caller gets
//! `UserLambdaValidationException` with the message. A panic, a trap, running past the deadline
//! or the memory cap fails the operation with `UnexpectedLambdaException`.
//!
//! Each kind's module re-exports its event and response types, and the host functions:
//! [`attr`], `config()` (the string given at deploy), `config_json()` (feature `json`), and
//! `log(level, message)` / `info(message)`.

/// The value of attribute `name` in a list of name/value pairs.
pub fn attr<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The domain part of an email address, lower-cased.
pub fn email_domain(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty())
}

/// Helpers placed in every kind's module (they call that world's host imports).
macro_rules! helpers {
    () => {
        pub use self::idp::triggers::host::Level;
        pub use self::idp::triggers::types::*;
        pub use $crate::{attr, email_domain};

        /// The configuration given when the trigger was deployed ("" when none).
        pub fn config() -> String {
            self::idp::triggers::host::config()
        }

        /// The configuration parsed as JSON.
        #[cfg(feature = "json")]
        pub fn config_json<T: serde::de::DeserializeOwned>() -> Result<T, String> {
            serde_json::from_str(&config()).map_err(|e| format!("trigger configuration: {e}"))
        }

        /// Writes a line to the service's log (tagged with pool, kind and trigger version).
        pub fn log(level: Level, message: &str) {
            self::idp::triggers::host::log(level, message)
        }

        pub fn info(message: &str) {
            log(Level::Info, message)
        }
    };
}

#[cfg(feature = "pre-sign-up")]
pub mod pre_sign_up {
    wit_bindgen::generate!({
        path: "../wit",
        world: "pre-sign-up",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::pre_sign_up",
    });
    helpers!();
}

#[cfg(feature = "post-confirmation")]
pub mod post_confirmation {
    wit_bindgen::generate!({
        path: "../wit",
        world: "post-confirmation",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::post_confirmation",
    });
    helpers!();
}

#[cfg(feature = "pre-authentication")]
pub mod pre_authentication {
    wit_bindgen::generate!({
        path: "../wit",
        world: "pre-authentication",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::pre_authentication",
    });
    helpers!();
}

#[cfg(feature = "post-authentication")]
pub mod post_authentication {
    wit_bindgen::generate!({
        path: "../wit",
        world: "post-authentication",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::post_authentication",
    });
    helpers!();
}

#[cfg(feature = "pre-token-generation")]
pub mod pre_token_generation {
    wit_bindgen::generate!({
        path: "../wit",
        world: "pre-token-generation",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::pre_token_generation",
    });
    helpers!();
}

#[cfg(feature = "custom-message")]
pub mod custom_message {
    wit_bindgen::generate!({
        path: "../wit",
        world: "custom-message",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::custom_message",
    });
    helpers!();
}

#[cfg(feature = "user-migration")]
pub mod user_migration {
    wit_bindgen::generate!({
        path: "../wit",
        world: "user-migration",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::user_migration",
    });
    helpers!();
}

#[cfg(feature = "define-auth-challenge")]
pub mod define_auth_challenge {
    wit_bindgen::generate!({
        path: "../wit",
        world: "define-auth-challenge",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::define_auth_challenge",
    });
    helpers!();
}

#[cfg(feature = "create-auth-challenge")]
pub mod create_auth_challenge {
    wit_bindgen::generate!({
        path: "../wit",
        world: "create-auth-challenge",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::create_auth_challenge",
    });
    helpers!();
}

#[cfg(feature = "verify-auth-challenge")]
pub mod verify_auth_challenge {
    wit_bindgen::generate!({
        path: "../wit",
        world: "verify-auth-challenge",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "idp_trigger_sdk::verify_auth_challenge",
    });
    helpers!();
}
