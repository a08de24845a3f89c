//! Per-call overhead of a trivial PreSignUp trigger (fresh store + instance per call, from the
//! pre-instantiated component): criterion's estimate, then p50/p99/p999 over many calls.
//!
//! `cargo bench -p idp-triggers --bench pre_sign_up`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use idp_triggers::types as t;
use idp_triggers::{Kind, Runtime, RuntimeConfig, TriggerSpec};

fn setup() -> Option<(std::sync::Arc<Runtime>, TriggerSpec, t::PreSignUpEvent)> {
    let bytes = match idp_triggers::testing::example("passthrough") {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => panic!("building the example triggers: {e}"),
    };
    let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let sha256 = rt.prepare(Kind::PreSignUp, &bytes).expect("prepare");
    let spec = TriggerSpec {
        pool_id: "us-east-1_bench".into(),
        kind: Kind::PreSignUp,
        sha256,
        version: 1,
        config: "".into(),
        timeout: Duration::from_secs(5),
        memory_limit_bytes: 64 << 20,
    };
    let pairs = |p: &[(&str, &str)]| p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    let event = t::PreSignUpEvent {
        version: "1".into(),
        trigger_source: "PreSignUp_SignUp".into(),
        region: "us-east-1".into(),
        user_pool_id: "us-east-1_bench".into(),
        user_name: "alice".into(),
        caller_context: t::CallerContext { aws_sdk_version: String::new(), client_id: "client".into() },
        request: t::PreSignUpRequest {
            user_attributes: pairs(&[("email", "alice@example.com"), ("name", "Alice")]),
            validation_data: vec![],
            client_metadata: vec![],
        },
        response: t::PreSignUpResponse { auto_confirm_user: false, auto_verify_email: false, auto_verify_phone: false },
    };
    Some((rt, spec, event))
}

fn bench(c: &mut Criterion) {
    let Some((rt, spec, event)) = setup() else {
        eprintln!("skipped: wasm32-wasip2 target missing");
        return;
    };
    c.bench_function("pre_sign_up_trivial_call", |b| b.iter(|| rt.pre_sign_up(&spec, &event).expect("call")));

    // Latency distribution (one thread, warm): wall clock, and the calling thread's CPU time
    // (user + kernel: page faults and madvise included), which a loaded machine does not inflate.
    let mut wall = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
    let mut cpu = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..2_000 {
        rt.pre_sign_up(&spec, &event).expect("call");
    }
    for _ in 0..50_000 {
        let (c0, started) = (thread_cpu_ns(), Instant::now());
        rt.pre_sign_up(&spec, &event).expect("call");
        let took = started.elapsed().as_nanos() as u64;
        wall.record(took).expect("record");
        cpu.record(thread_cpu_ns().saturating_sub(c0)).expect("record");
    }
    for (what, h) in [("wall", &wall), ("thread CPU", &cpu)] {
        let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "pre_sign_up trivial call, {what}, {} calls: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
            h.len(),
            us(0.5),
            us(0.9),
            us(0.99),
            us(0.999),
            h.max() as f64 / 1000.0
        );
    }
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID needs nothing else.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
