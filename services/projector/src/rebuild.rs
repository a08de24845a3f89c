//! Rebuild: clear every projection, then replay every partition from offset 0 to its current
//! end, with the same arbiter the live projector uses (so verdicts and row bytes are
//! identical: the rows come from the same [`rows`](crate::rows) code).
//!
//! What differs from the live path is only how rows reach the store. Partitions replay
//! concurrently (one task each, one arbiter each, states cached in memory), each arbitrating
//! its batches straight into [`LoadRows`] (rows with keys already encoded for the store, no
//! `Write` per row), and hand them to one loader, which buffers them and writes them with
//! [`ProjectionStore::load`]: one sorted transaction per [`RebuildOptions::memory_budget`]
//! bytes of rows instead of one commit per 4096 records, with the offsets of exactly the
//! records it holds. A crash mid-rebuild therefore leaves the store empty or at an earlier load
//! whose offsets match its rows; `idp rebuild` starts over, and `idp serve` would resume from
//! those offsets.
//!
//! An arbiter whose cache fills up forgets it and reads states from the store again; before it
//! does, its task asks the loader to write everything buffered, so the store is the truth.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use idp_eventlog::{EventLog, LogError};
use idp_store::{LoadRows, ProjectionStore};
use tokio::sync::{mpsc, oneshot};

use crate::{Arbiter, ProjectorError};

/// Progress reported while replaying (at least every 100 ms) and once at the end.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub records_done: u64,
    pub records_total: u64,
    pub accepted: u64,
    /// Events in the records done (a record is one envelope of one or more events).
    pub events_done: u64,
}

/// Knobs of a rebuild.
#[derive(Debug, Clone, Copy)]
pub struct RebuildOptions {
    /// Bytes of buffered rows (keys + values + per-row overhead) that trigger a load.
    pub memory_budget: usize,
    /// Records per poll of a partition (one arbitrated batch).
    pub batch: usize,
    /// States + request ids each partition's arbiter caches before forgetting them (see
    /// [`Arbiter::with_capacity`]); None keeps the live projector's default.
    pub state_cache: Option<usize>,
}

impl Default for RebuildOptions {
    fn default() -> Self {
        RebuildOptions { memory_budget: 1 << 30, batch: REPLAY_BATCH, state_cache: None }
    }
}

/// Records per arbitrated batch in a rebuild. Smaller than the live projector's
/// [`BATCH`](crate::runner::BATCH): a batch's states are encoded when it ends, and the states of
/// 256 records (decoded strings, attribute maps, about 0.5 MiB) are still in the CPU's cache
/// then, where 4096 records' are not. Measured on 200k sign-ups: 4096 → 256 records per batch
/// took replay from 197k to 211–219k events per CPU-second, and a lifecycle log from 305k to
/// 327k; 64–128 were no better for sign-ups and worse for the lifecycle log
/// (docs/benchmarks.md).
pub const REPLAY_BATCH: usize = 256;

/// What a partition task tells the loader.
enum Msg {
    /// Rows of one arbitrated batch, keys already encoded for the store; `next` is the
    /// partition's next offset after them.
    Batch { partition: u32, next: u64, records: u64, accepted: u64, events: u64, rows: LoadRows },
    /// Write out everything buffered, then answer (the sender's arbiter is about to evict).
    Flush(oneshot::Sender<()>),
}

/// Replays the log into an emptied store with the default options. Returns the final progress.
pub async fn rebuild(log: Arc<dyn EventLog>, store: Arc<dyn ProjectionStore>, on_progress: impl FnMut(Progress)) -> Result<Progress, ProjectorError> {
    rebuild_with(log, store, RebuildOptions::default(), on_progress).await
}

/// Replays the log into an emptied store. Returns the final progress.
pub async fn rebuild_with(
    log: Arc<dyn EventLog>,
    store: Arc<dyn ProjectionStore>,
    options: RebuildOptions,
    mut on_progress: impl FnMut(Progress),
) -> Result<Progress, ProjectorError> {
    store.clear().await?;
    let mut ends = Vec::new();
    for p in 0..log.partition_count() {
        ends.push(log.end_offset(p).await?);
    }
    let mut progress = Progress { records_done: 0, records_total: ends.iter().sum(), accepted: 0, events_done: 0 };
    on_progress(progress);
    // Every partition replays at once (the runtime's workers share them out), so they advance
    // together through the log: a load then holds a slice of each partition's history, and
    // keys that grow with the log (generated ids, time-ordered names) are appended to the
    // B-trees instead of scattered through leaves written by earlier loads.
    let (tx, mut rx) = mpsc::channel::<Msg>(ends.len().max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for (p, end) in ends.into_iter().enumerate() {
        if end == 0 {
            continue;
        }
        let (log, store, tx) = (log.clone(), store.clone(), tx.clone());
        tasks.spawn(async move { replay_partition(log.as_ref(), store.as_ref(), p as u32, end, &options, &tx).await });
    }
    drop(tx);

    let mut pending = Pending::default();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                None => break,
                Some(Msg::Batch { partition, next, records, accepted, events, rows }) => {
                    progress.records_done += records;
                    progress.accepted += accepted;
                    progress.events_done += events;
                    pending.add(partition, next, rows);
                    if pending.bytes >= options.memory_budget {
                        pending.load(store.as_ref()).await?;
                    }
                }
                Some(Msg::Flush(done)) => {
                    pending.load(store.as_ref()).await?;
                    let _ = done.send(());
                }
            },
            _ = ticker.tick() => on_progress(progress),
        }
    }
    // Every sender is gone: each task either finished or failed.
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(ProjectorError::Log(LogError::Unavailable(format!("replay task: {e}")))),
        }
    }
    pending.load(store.as_ref()).await?;
    on_progress(progress);
    Ok(progress)
}

/// Rows received but not yet loaded, and the offsets they bring each partition to.
#[derive(Default)]
struct Pending {
    /// The batches as the partition tasks sent them (each task arbitrates its batch straight
    /// into rows encoded for the store).
    batches: Vec<LoadRows>,
    offsets: BTreeMap<u32, u64>,
    bytes: usize,
}

impl Pending {
    fn add(&mut self, partition: u32, next: u64, rows: LoadRows) {
        self.bytes += rows.bytes();
        self.batches.push(rows);
        self.offsets.insert(partition, next);
    }

    /// Loads everything buffered with the offsets it reaches, durably.
    ///
    /// Every load is durable: one fsync per memory budget of rows (a handful per million
    /// events) buys a crash mid-rebuild that keeps every finished load, so `idp serve` resumes
    /// from its offsets instead of replaying from 0 (non-durable loads measured no cheaper in
    /// CPU; docs/benchmarks.md).
    async fn load(&mut self, store: &dyn ProjectionStore) -> Result<(), ProjectorError> {
        if self.offsets.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.batches);
        let offsets = std::mem::take(&mut self.offsets).into_iter().collect();
        self.bytes = 0;
        store.load(offsets, batches, true).await?;
        Ok(())
    }
}

async fn replay_partition(
    log: &dyn EventLog,
    store: &dyn ProjectionStore,
    p: u32,
    end: u64,
    options: &RebuildOptions,
    tx: &mpsc::Sender<Msg>,
) -> Result<(), ProjectorError> {
    let closed = || ProjectorError::Log(LogError::Unavailable("rebuild loader stopped".into()));
    let mut sub = log.subscribe(&[(p, 0)]).await?;
    let mut arbiter = Arbiter::over_empty_store();
    if let Some(entries) = options.state_cache {
        arbiter = arbiter.with_capacity(entries);
    }
    let mut next = 0u64;
    // The buffer the next batch's rows go to, sized like the last batch's.
    let mut next_rows = store.load_rows();
    while next < end {
        let mut records = sub.poll(options.batch.max(1), Duration::from_secs(5)).await?;
        records.retain(|r| r.offset < end);
        let Some(last) = records.last().map(|r| r.offset + 1) else { continue };
        if arbiter.is_full() {
            // It will forget its cache and read the store: everything it wrote must be there.
            let (done, flushed) = oneshot::channel();
            tx.send(Msg::Flush(done)).await.map_err(|_| closed())?;
            flushed.await.map_err(|_| closed())?;
        }
        let mut rows = std::mem::replace(&mut next_rows, store.load_rows());
        let outcome = arbiter.arbitrate_into(store, &records, &mut rows).await?;
        next_rows = rows.empty_like();
        let msg = Msg::Batch { partition: p, next: last, records: last - next, accepted: outcome.accepted as u64, events: outcome.events as u64, rows };
        tx.send(msg).await.map_err(|_| closed())?;
        next = last;
    }
    Ok(())
}
