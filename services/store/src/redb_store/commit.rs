//! Group commit: the write path of [`RedbStore`](super::RedbStore).
//!
//! Every commit is durable (fsync) before it returns, and redb has one writer at a time, so
//! one fsync per commit would cap all projector tasks together at the disk's fsync rate.
//! Instead each commit is queued; a blocking drainer takes the writer lock, folds every batch
//! queued at that moment (up to [`MAX_GROUP_BATCHES`] / [`MAX_GROUP_WRITES`]) into one redb
//! transaction, commits it with one fsync and answers each caller. Batches that arrive during
//! that fsync form the next group.
//!
//! Each batch stays all-or-nothing: batches are validated before they are queued, and if a
//! group transaction still fails it is aborted and its batches are retried one transaction
//! each, so one bad batch cannot fail its neighbours. Batches apply in queue order, each one's
//! offset after its writes, which is the order a one-at-a-time writer would have used.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::{begin_durable_write, join_err, rerr, row_table, OFFSETS};
use crate::redb_store::keys::row_key;
use crate::{CommitStats, StoreError, Table, Write};

/// Most batches folded into one transaction.
pub(super) const MAX_GROUP_BATCHES: usize = 64;
/// Most writes folded into one transaction (a single larger batch still goes alone).
pub(super) const MAX_GROUP_WRITES: usize = 16_384;

/// A caller's reply channel and what to tell it.
type Answer = (oneshot::Sender<Result<(), StoreError>>, Result<(), StoreError>);

struct Pending {
    /// (log partition, next offset).
    offset: (u32, u64),
    writes: Vec<Write>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

impl CommitQueue {
    pub(super) fn lazy(interval: std::time::Duration) -> CommitQueue {
        CommitQueue { lazy: Some(interval), ..CommitQueue::default() }
    }
}

#[derive(Default)]
pub(super) struct CommitQueue {
    /// Lazy durability (projection stores rebuilt from a log): commits are made durable at most
    /// this long after they return, not before; None = every commit is durable.
    pub(super) lazy: Option<std::time::Duration>,
    last_durable: Mutex<Option<std::time::Instant>>,
    pending: Mutex<VecDeque<Pending>>,
    /// Held by the drainer building and committing a group.
    writer: Mutex<()>,
    batches: AtomicU64,
    transactions: AtomicU64,
}

/// A poisoned lock only means another drainer panicked; the queue itself is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl CommitQueue {
    pub(super) fn stats(&self) -> CommitStats {
        CommitStats { batches: self.batches.load(Ordering::Relaxed), transactions: self.transactions.load(Ordering::Relaxed) }
    }

    /// Queues a batch and waits until it is durable (or failed).
    pub(super) async fn submit(self: &Arc<Self>, db: &Arc<Database>, offset: (u32, u64), writes: Vec<Write>) -> Result<(), StoreError> {
        // A batch that breaks a limit never joins a group.
        for write in &writes {
            write.validate()?;
        }
        let (reply, answer) = oneshot::channel();
        lock(&self.pending).push_back(Pending { offset, writes, reply });
        // This drainer, or one already waiting for the writer lock, takes the batch: a drainer
        // empties the queue up to the group caps after it gets the lock, and ours was queued
        // before ours was spawned.
        // The drainer holds the database weakly: once every caller has its answer no drainer
        // keeps the file open, so dropping the store closes it at once.
        let queue = Arc::clone(self);
        let db = Arc::downgrade(db);
        let drainer = tokio::task::spawn_blocking(move || queue.drain(&db));
        match answer.await {
            Ok(result) => result,
            Err(_) => {
                drainer.await.map_err(join_err)?;
                Err(StoreError::Backend("commit was dropped without an answer".into()))
            }
        }
    }

    /// Commits one group, if anything is queued.
    fn drain(&self, db: &Weak<Database>) {
        let _writer = lock(&self.writer);
        let group = self.take_group();
        if group.is_empty() {
            return;
        }
        let Some(db) = db.upgrade() else {
            // Only reachable if every caller went away and the store was dropped.
            for p in group {
                let _ = p.reply.send(Err(StoreError::Unavailable("store closed".into())));
            }
            return;
        };
        let answers = self.commit_with_fallback(&db, group);
        // Let go of the database before anyone hears back (see `submit`).
        drop(db);
        for (reply, result) in answers {
            let _ = reply.send(result);
        }
    }

    /// One transaction for the group; if it fails, one per batch so a bad batch fails alone.
    fn commit_with_fallback(&self, db: &Database, group: Vec<Pending>) -> Vec<Answer> {
        match self.commit_group(db, &group) {
            Ok(()) => group.into_iter().map(|p| (p.reply, Ok(()))).collect(),
            Err(e) if group.len() == 1 => group.into_iter().next().map(|p| (p.reply, Err(e))).into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, batches = group.len(), "group commit failed; retrying its batches one by one");
                group
                    .into_iter()
                    .map(|p| {
                        let result = self.commit_group(db, std::slice::from_ref(&p));
                        (p.reply, result)
                    })
                    .collect()
            }
        }
    }

    fn take_group(&self) -> Vec<Pending> {
        let mut pending = lock(&self.pending);
        let mut group = Vec::new();
        let mut writes = 0usize;
        while let Some(next) = pending.front() {
            let full = group.len() >= MAX_GROUP_BATCHES || writes + next.writes.len() > MAX_GROUP_WRITES;
            if full && !group.is_empty() {
                break;
            }
            writes += next.writes.len();
            match pending.pop_front() {
                Some(p) => group.push(p),
                None => break,
            }
        }
        group
    }

    /// One durable transaction for the whole group; aborted (nothing applied) on any error.
    fn commit_group(&self, db: &Database, group: &[Pending]) -> Result<(), StoreError> {
        let mut txn = begin_durable_write(db)?;
        if let Some(interval) = self.lazy {
            // Offsets commit atomically with their rows, so a crash only loses recent progress,
            // which the projector replays from the log. Still fsync at least every `interval`.
            let mut last = self.last_durable.lock().map_err(|_| StoreError::Backend("commit clock poisoned".into()))?;
            let now = std::time::Instant::now();
            if last.map(|t| now.duration_since(t) < interval).unwrap_or(false) {
                txn.set_durability(redb::Durability::None).map_err(rerr)?;
            } else {
                *last = Some(now);
            }
        }
        match apply_group(&txn, group) {
            Ok(()) => {
                txn.commit().map_err(rerr)?;
                self.transactions.fetch_add(1, Ordering::Relaxed);
                self.batches.fetch_add(group.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                txn.abort().map_err(rerr)?;
                Err(e)
            }
        }
    }
}

/// Applies the batches in order inside `txn`, opening each table at most once. Writes are
/// validated again as they are applied: if one slipped through, earlier writes are already in
/// the transaction and only the abort keeps the batch atomic (tested below).
fn apply_group(txn: &WriteTransaction, group: &[Pending]) -> Result<(), StoreError> {
    let mut rows: Vec<Option<redb::Table<'_, &'static [u8], &'static [u8]>>> = Table::ALL.iter().map(|_| None).collect();
    let mut offsets = None;
    for batch in group {
        for write in &batch.writes {
            write.validate()?;
            let table = write.table();
            let slot = rows.get_mut(table.index()).ok_or_else(|| StoreError::Backend(format!("{table:?} is missing from Table::ALL")))?;
            if slot.is_none() {
                *slot = Some(txn.open_table(row_table(table)).map_err(rerr)?);
            }
            let Some(rows) = slot.as_mut() else {
                return Err(StoreError::Backend(format!("table {} did not open", table.name())));
            };
            match write {
                Write::Put { pk, ck, value, .. } => {
                    rows.insert(row_key(pk, ck)?.as_slice(), &value[..]).map_err(rerr)?;
                }
                Write::Delete { pk, ck, .. } => {
                    rows.remove(row_key(pk, ck)?.as_slice()).map_err(rerr)?;
                }
            }
        }
        let (log_partition, offset) = batch.offset;
        if offsets.is_none() {
            offsets = Some(txn.open_table(OFFSETS).map_err(rerr)?);
        }
        if let Some(offsets) = offsets.as_mut() {
            offsets.insert(log_partition, offset).map_err(rerr)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProjectionStore, RedbStore, MAX_KEY_LEN};

    fn put(pk: &[u8], ck: &[u8]) -> Write {
        Write::Put { table: Table::Users, pk: pk.to_vec(), ck: ck.to_vec(), value: bytes::Bytes::from_static(b"v") }
    }

    #[tokio::test]
    async fn a_bad_batch_in_a_group_fails_alone_and_leaves_nothing_behind() {
        let store = RedbStore::in_memory().unwrap();
        let queue = CommitQueue::default();
        let mut answers = Vec::new();
        let batches = vec![
            ((1, 10), vec![put(b"good", b"1")]),
            // Skips `submit`'s validation: the valid first write lands in the group transaction
            // before the bad one is seen.
            ((2, 20), vec![put(b"bad", b"1"), put(b"bad", &vec![0; MAX_KEY_LEN + 1])]),
            ((3, 30), vec![put(b"good", b"2")]),
        ];
        for (offset, writes) in batches {
            let (reply, answer) = oneshot::channel();
            lock(&queue.pending).push_back(Pending { offset, writes, reply });
            answers.push(answer);
        }
        queue.drain(&Arc::downgrade(&store.db));
        let results: Vec<_> = futures_results(answers).await;
        assert!(matches!(results[0], Ok(())), "{results:?}");
        assert!(matches!(results[1], Err(StoreError::InvalidWrite(_))), "{results:?}");
        assert!(matches!(results[2], Ok(())), "{results:?}");
        assert!(store.get(Table::Users, b"good", b"1").await.unwrap().is_some());
        assert!(store.get(Table::Users, b"good", b"2").await.unwrap().is_some());
        assert_eq!(store.get(Table::Users, b"bad", b"1").await.unwrap(), None, "partial batch leaked");
        assert_eq!(store.offset(1).await.unwrap(), Some(10));
        assert_eq!(store.offset(2).await.unwrap(), None, "offset of the failed batch leaked");
        // One failed group transaction, then one per batch: 2 good ones committed.
        assert_eq!(queue.stats(), CommitStats { batches: 2, transactions: 2 });
    }

    #[tokio::test]
    async fn queued_batches_share_one_transaction() {
        let store = RedbStore::in_memory().unwrap();
        let queue = CommitQueue::default();
        let mut answers = Vec::new();
        for i in 0u32..10 {
            let (reply, answer) = oneshot::channel();
            lock(&queue.pending).push_back(Pending { offset: (i, 1), writes: vec![put(b"p", &i.to_be_bytes())], reply });
            answers.push(answer);
        }
        queue.drain(&Arc::downgrade(&store.db));
        for r in futures_results(answers).await {
            r.unwrap();
        }
        assert_eq!(queue.stats(), CommitStats { batches: 10, transactions: 1 });
        assert_eq!(store.scan(Table::Users, b"p", None, 100).await.unwrap().len(), 10);
        queue.drain(&Arc::downgrade(&store.db)); // nothing queued: no empty transaction
        assert_eq!(queue.stats().transactions, 1);
    }

    #[test]
    fn groups_respect_the_caps_but_always_take_one() {
        let queue = CommitQueue::default();
        let big = vec![put(b"p", b"c"); MAX_GROUP_WRITES + 1];
        for writes in [big, vec![put(b"p", b"c")], vec![put(b"p", b"c")]] {
            let (reply, _answer) = oneshot::channel();
            lock(&queue.pending).push_back(Pending { offset: (0, 1), writes, reply });
        }
        assert_eq!(queue.take_group().len(), 1, "an oversized batch goes alone");
        assert_eq!(queue.take_group().len(), 2);
        for _ in 0..MAX_GROUP_BATCHES + 5 {
            let (reply, _answer) = oneshot::channel();
            lock(&queue.pending).push_back(Pending { offset: (0, 1), writes: vec![], reply });
        }
        assert_eq!(queue.take_group().len(), MAX_GROUP_BATCHES);
        assert_eq!(queue.take_group().len(), 5);
    }

    async fn futures_results(answers: Vec<oneshot::Receiver<Result<(), StoreError>>>) -> Vec<Result<(), StoreError>> {
        let mut out = Vec::new();
        for a in answers {
            out.push(a.await.unwrap());
        }
        out
    }
}
