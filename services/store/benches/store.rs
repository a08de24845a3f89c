//! Projection store throughput, fjall (the default) next to redb: commits of 3-row batches
//! (durable, and lazily durable as `idp serve` opens them), and point gets.
//!
//! `cargo bench -p idp-store --bench store`. The stores live in a temp dir on the same disk as
//! `CARGO_TARGET_DIR`/`TMPDIR`, so durable commit numbers are fsync-bound and say as much about
//! the disk as about the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use idp_store::{FjallStore, ProjectionStore, RedbStore, Table, Write};
use tokio::runtime::Runtime;

fn batch(i: u64) -> Vec<Write> {
    let user = format!("user-{i:012}").into_bytes();
    let sub = format!("{i:032x}").into_bytes();
    vec![
        Write::Put { table: Table::Users, pk: b"pool-1".to_vec(), ck: user.clone(), value: vec![0x42; 300].into() },
        Write::Put { table: Table::UsersBySub, pk: sub, ck: Vec::new(), value: user.into() },
        Write::Put { table: Table::Meta, pk: b"pool-1".to_vec(), ck: b"user-count".to_vec(), value: i.to_be_bytes().to_vec().into() },
    ]
}

fn runtime() -> Runtime {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    }
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

fn commits(c: &mut Criterion) {
    let rt = runtime();
    let dir = must(tempfile::tempdir(), "tempdir");
    let file = must(RedbStore::open(&dir.path().join("bench.redb")), "open");
    let fjall = must(FjallStore::open(&dir.path().join("bench-fjall")), "open");
    let lazy = Duration::from_millis(250);
    let stores: [(&str, Arc<dyn ProjectionStore>); 5] = [
        ("fjall_durable", fjall.clone()),
        ("fjall_lazy", must(FjallStore::open_lazy(&dir.path().join("bench-fjall-lazy"), lazy), "open") as Arc<dyn ProjectionStore>),
        ("redb_file_durable", file.clone()),
        ("redb_file_lazy", must(RedbStore::open_lazy(&dir.path().join("bench-lazy.redb"), lazy), "open") as Arc<dyn ProjectionStore>),
        ("redb_in_memory", must(RedbStore::in_memory(), "in-memory") as Arc<dyn ProjectionStore>),
    ];
    let mut group = c.benchmark_group("commit_3_rows");
    group.throughput(Throughput::Elements(3)).sample_size(20).measurement_time(Duration::from_secs(8));
    for (name, store) in stores {
        let mut next = 0u64;
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        next += 1;
                        must(store.commit(0, next, batch(next)).await, "commit");
                    }
                    start.elapsed()
                })
            })
        });
    }
    // One projector task per log partition, all committing at once (group commit / group sync).
    let mut base = 1u64 << 40;
    for (name, concurrent) in [("fjall_durable_concurrent", fjall.clone() as Arc<dyn ProjectionStore>), ("redb_file_durable_concurrent", file.clone())] {
        for tasks in [2u64, 8] {
            group.throughput(Throughput::Elements(3 * tasks));
            group.bench_with_input(BenchmarkId::new(name, tasks), &tasks, |b, &tasks| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        let mut set = tokio::task::JoinSet::new();
                        for t in 0..tasks {
                            let store = Arc::clone(&concurrent);
                            let first = base + t * iters;
                            set.spawn(async move {
                                for k in 0..iters {
                                    must(store.commit(t as u32 + 1, k + 1, batch(first + k)).await, "commit");
                                }
                            });
                        }
                        while let Some(r) = set.join_next().await {
                            must(r, "join");
                        }
                        base += tasks * iters;
                        start.elapsed()
                    })
                })
            });
        }
    }
    group.finish();
    for (name, stats) in [("redb", file.commit_stats()), ("fjall", fjall.commit_stats())] {
        eprintln!(
            "{name} durable store: {} batches in {} fsyncs ({:.2} batches per fsync, sequential and concurrent runs together)",
            stats.batches,
            stats.transactions,
            stats.batches as f64 / stats.transactions.max(1) as f64
        );
    }
}

const USERS: u64 = 100_000;

fn gets(c: &mut Criterion) {
    let rt = runtime();
    let dir = must(tempfile::tempdir(), "tempdir");
    let stores: [(&str, Arc<dyn ProjectionStore>); 2] = [
        ("fjall", must(FjallStore::open(&dir.path().join("bench-fjall")), "open") as Arc<dyn ProjectionStore>),
        ("redb_file", must(RedbStore::open(&dir.path().join("bench.redb")), "open") as Arc<dyn ProjectionStore>),
    ];
    let mut group = c.benchmark_group("get");
    for (name, store) in stores {
        // As after `idp rebuild` (bulk load), then 1000 live commits on top.
        rt.block_on(async {
            must(
                store
                    .load(
                        vec![(0, 1)],
                        (0..USERS - 1000)
                            .map(|i| {
                                let mut rows = store.load_rows();
                                rows.extend(batch(i));
                                rows
                            })
                            .collect(),
                        true,
                    )
                    .await,
                "prefill",
            );
            for i in USERS - 1000..USERS {
                must(store.commit(0, i + 2, batch(i)).await, "prefill");
            }
        });
        group.throughput(Throughput::Elements(1)).sample_size(20).measurement_time(Duration::from_secs(5));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut key = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("user-{:012}", x % USERS).into_bytes()
        };
        group.bench_function(format!("{name}_point_get"), |b| {
            b.iter_custom(|iters| {
                let keys: Vec<Vec<u8>> = (0..iters).map(|_| key()).collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for k in &keys {
                        let v = must(store.get(Table::Users, b"pool-1", k).await, "get");
                        assert!(v.is_some());
                    }
                    start.elapsed()
                })
            })
        });
        group.throughput(Throughput::Elements(64));
        group.bench_function(format!("{name}_point_get_64_concurrent"), |b| {
            b.iter_custom(|iters| {
                let keys: Vec<Vec<Vec<u8>>> = (0..iters).map(|_| (0..64).map(|_| key()).collect()).collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for round in keys {
                        let mut set = tokio::task::JoinSet::new();
                        for k in round {
                            let store = Arc::clone(&store);
                            set.spawn(async move { must(store.get(Table::Users, b"pool-1", &k).await, "get") });
                        }
                        while let Some(r) = set.join_next().await {
                            assert!(must(r, "join").is_some());
                        }
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, commits, gets);
criterion_main!(benches);
