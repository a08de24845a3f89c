//! Hostile components: each is stopped (deadline, memory cap, trap, malformed answer) with the
//! right error, promptly, and the runtime keeps serving well-behaved triggers afterwards.

mod common;

use std::time::{Duration, Instant};

use common::*;
use idp_triggers::{Kind, Runtime, RuntimeConfig, TriggerError};

fn healthy(rt: &Runtime) {
    let Some(spec) = deploy(rt, Kind::PreSignUp, "auto-confirm", r#"{"domains": ["example.com"]}"#) else { return };
    let out = rt.pre_sign_up(&spec, &pre_sign_up_event("ok", "ok@example.com")).expect("healthy call");
    assert!(out.auto_confirm_user);
}

/// Runs `f` (which must fail) and checks it returned within `deadline + 10 ms` (for a
/// timeout, as the runtime measured it from the call's start to its stop). Scheduling noise
/// from other tests on a small machine can delay a thread by a few milliseconds, so a late
/// attempt is retried (four times at most) before the test fails.
fn stopped_within(deadline: Duration, f: impl Fn() -> TriggerError) -> TriggerError {
    let mut late = Vec::new();
    for _ in 0..5 {
        let _quiet = QUIET.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let err = f();
        let took = match &err {
            TriggerError::Timeout { elapsed, .. } => *elapsed,
            _ => started.elapsed(),
        };
        eprintln!("deadline {deadline:?}: stopped after {took:?} (call returned after {:?})", started.elapsed());
        if took <= deadline + Duration::from_millis(10) {
            return err;
        }
        late.push(took);
    }
    panic!("stopped after {late:?}, past {deadline:?} + 10 ms every time");
}

/// Held while compiling and while timing, so one test's compile does not delay another's stop.
static QUIET: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn deploy_quietly(rt: &Runtime, kind: Kind, name: &str, config: &str) -> Option<idp_triggers::TriggerSpec> {
    let _quiet = QUIET.lock().unwrap_or_else(|p| p.into_inner());
    deploy(rt, kind, name, config)
}

#[test]
fn infinite_loop_is_stopped_at_the_deadline() {
    let rt = runtime();
    let Some(mut spec) = deploy_quietly(&rt, Kind::PreSignUp, "hostile-loop", "") else { return };
    for deadline in [Duration::from_millis(100), Duration::from_millis(300)] {
        spec.timeout = deadline;
        let err = stopped_within(deadline, || rt.pre_sign_up(&spec, &pre_sign_up_event("x", "x@example.com")).expect_err("timeout"));
        assert!(matches!(err, TriggerError::Timeout { .. }), "{err}");
        assert_eq!(err.name(), "UnexpectedLambdaException");
    }
    healthy(&rt);
}

#[test]
fn concurrent_runaway_calls_do_not_block_others() {
    let rt = runtime();
    let Some(mut spin) = deploy(&rt, Kind::PreSignUp, "hostile-loop", "") else { return };
    let Some(ok) = deploy(&rt, Kind::PreSignUp, "auto-confirm", r#"{"domains": ["example.com"]}"#) else { return };
    spin.timeout = Duration::from_millis(500);
    std::thread::scope(|s| {
        let runaway = s.spawn(|| rt.pre_sign_up(&spin, &pre_sign_up_event("x", "x@example.com")));
        for _ in 0..20 {
            assert!(rt.pre_sign_up(&ok, &pre_sign_up_event("ok", "ok@example.com")).expect("healthy").auto_confirm_user);
        }
        let err = runaway.join().expect("join").expect_err("timeout");
        assert!(matches!(err, TriggerError::Timeout { .. }), "{err}");
    });
}

#[test]
fn memory_growth_is_stopped_at_the_cap() {
    let rt = runtime();
    let Some(mut spec) = deploy_quietly(&rt, Kind::PreSignUp, "hostile-memory", "") else { return };
    spec.memory_limit_bytes = 16 << 20;
    let err = stopped_within(spec.timeout, || rt.pre_sign_up(&spec, &pre_sign_up_event("x", "x@example.com")).expect_err("memory"));
    assert!(matches!(err, TriggerError::MemoryLimit { limit_bytes, .. } if limit_bytes == 16 << 20), "{err}");
    assert_eq!(err.name(), "UnexpectedLambdaException");
    healthy(&rt);
}

#[test]
fn a_panic_is_a_trap() {
    let rt = runtime();
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "hostile-trap", "") else { return };
    let err = rt.pre_sign_up(&spec, &pre_sign_up_event("x", "x@example.com")).expect_err("trap");
    assert!(matches!(err, TriggerError::Trap { .. }), "{err}");
    assert_eq!(err.name(), "UnexpectedLambdaException");
    healthy(&rt);
}

#[test]
fn a_malformed_answer_is_an_invalid_response() {
    let rt = runtime();
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "hostile-malformed", "") else { return };
    let err = rt.pre_sign_up(&spec, &pre_sign_up_event("x", "x@example.com")).expect_err("malformed");
    assert!(matches!(err, TriggerError::InvalidResponse { .. }), "{err}");
    assert_eq!(err.name(), "InvalidLambdaResponseException");
    healthy(&rt);
}

#[test]
fn auto_verify_without_the_attribute_is_an_invalid_response() {
    let rt = runtime();
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "auto-confirm", r#"{"domains": ["example.com"]}"#) else { return };
    // auto-confirm sets autoVerifyEmail only when there is an email, so craft the case by hand:
    let mut event = pre_sign_up_event("x", "x@example.com");
    event.request.user_attributes = pairs(&[("email", "")]);
    assert!(rt.pre_sign_up(&spec, &event).is_ok());
    let check = idp_triggers::validate::pre_sign_up(
        &event,
        &idp_triggers::types::PreSignUpResponse { auto_confirm_user: true, auto_verify_email: true, auto_verify_phone: false },
    );
    assert!(check.is_err());
}

#[test]
fn fuel_bounds_a_loop_when_enabled() {
    let rt = Runtime::new(RuntimeConfig { max_concurrent_calls: 4, fuel: Some(50_000_000), ..RuntimeConfig::default() }).expect("runtime");
    let Some(spec) = deploy(&rt, Kind::PreSignUp, "hostile-loop", "") else { return };
    let err = rt.pre_sign_up(&spec, &pre_sign_up_event("x", "x@example.com")).expect_err("fuel");
    assert!(matches!(err, TriggerError::OutOfFuel { .. }), "{err}");
    healthy(&rt);
}
