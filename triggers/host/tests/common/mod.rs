//! Shared test helpers: the example components and ready-made events.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use idp_triggers::types as t;
use idp_triggers::{Kind, Runtime, RuntimeConfig, TriggerSpec};

/// The bytes of an example component; `None` (skip) when the wasm32-wasip2 target is missing
/// outside CI.
pub fn component(name: &str) -> Option<Vec<u8>> {
    match idp_triggers::testing::example(name) {
        Ok(bytes) => bytes,
        Err(e) => panic!("building the example triggers: {e}"),
    }
}

pub fn runtime() -> Arc<Runtime> {
    Runtime::new(RuntimeConfig { max_concurrent_calls: 16, ..RuntimeConfig::default() }).expect("runtime")
}

/// Prepares `name` as `kind` and returns a spec with the given config.
pub fn deploy(rt: &Runtime, kind: Kind, name: &str, config: &str) -> Option<TriggerSpec> {
    let bytes = component(name)?;
    let sha256 = rt.prepare(kind, &bytes).expect("prepare");
    Some(TriggerSpec {
        pool_id: "us-east-1_test".into(),
        kind,
        sha256,
        version: 1,
        config: config.into(),
        timeout: Duration::from_secs(5),
        memory_limit_bytes: 64 << 20,
    })
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

pub fn caller() -> t::CallerContext {
    t::CallerContext { aws_sdk_version: "idp".into(), client_id: "client1".into() }
}

pub fn pre_sign_up_event(user: &str, email: &str) -> t::PreSignUpEvent {
    t::PreSignUpEvent {
        version: "1".into(),
        trigger_source: "PreSignUp_SignUp".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_test".into(),
        user_name: user.into(),
        caller_context: caller(),
        request: t::PreSignUpRequest { user_attributes: pairs(&[("email", email)]), validation_data: vec![], client_metadata: vec![] },
        response: t::PreSignUpResponse { auto_confirm_user: false, auto_verify_email: false, auto_verify_phone: false },
    }
}
