//! Group commit: one writer thread per partition.
//!
//! `append` queues the record on the partition's channel and waits for its ack. The writer takes
//! everything queued (up to `max_batch` records / `max_batch_bytes`), encodes it into one
//! buffer, does one `write`, one `fdatasync`, updates the durability checkpoint, publishes the new
//! end to readers and acks every record. While one fsync runs, the next batch accumulates, so
//! the number of fsyncs per second is bounded by the disk, not by the number of appenders.
//!
//! After any I/O error the partition refuses further appends ([`LogError::Unavailable`]) until
//! the log is reopened: after a failed fsync the state of the page cache is unknown, and
//! recovery on the next open is the only safe way back.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::embedded::dir::sync_dir;
use crate::embedded::recovery::{create_segment, Recovered};
use crate::embedded::{EmbeddedOptions, PartitionShared};
use crate::format::{self, IndexEntry};
use crate::{LogError, Offset, Record};

pub(crate) type Ack = oneshot::Sender<Result<Offset, LogError>>;

pub(crate) enum WriterMsg {
    Append {
        record: Record,
        ack: Ack,
    },
    /// Finish what is queued, refuse new appends, exit, then signal `done`.
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

pub(crate) struct PartitionWriter {
    shared: Arc<PartitionShared>,
    opts: EmbeddedOptions,
    segment: File,
    segment_base: Offset,
    segment_len: u64,
    index: File,
    last_index_pos: Option<u64>,
    checkpoint: File,
    next: Offset,
    buf: Vec<u8>,
    failed: Option<String>,
}

impl PartitionWriter {
    pub fn new(shared: Arc<PartitionShared>, rec: Recovered, opts: EmbeddedOptions) -> Self {
        PartitionWriter {
            shared,
            opts,
            segment: rec.segment,
            segment_base: rec.active_base,
            segment_len: rec.active_len,
            index: rec.index,
            last_index_pos: rec.active_index.last().map(|e| e.position),
            checkpoint: rec.checkpoint,
            next: rec.end,
            buf: Vec::new(),
            failed: None,
        }
    }

    pub fn spawn(self, rx: mpsc::Receiver<WriterMsg>) -> Result<JoinHandle<()>, LogError> {
        let name = format!("eventlog-w{}", self.shared.partition);
        std::thread::Builder::new().name(name).spawn(move || self.run(rx)).map_err(LogError::Io)
    }

    fn run(mut self, mut rx: mpsc::Receiver<WriterMsg>) {
        let mut records: Vec<Record> = Vec::new();
        let mut acks: Vec<Ack> = Vec::new();
        let mut shutdown: Vec<oneshot::Sender<()>> = Vec::new();

        // `blocking_recv` returns None once every sender is gone (log dropped) or, after a
        // Shutdown closed the channel, once the queue is drained.
        while let Some(first) = rx.blocking_recv() {
            let mut bytes = 0usize;
            let mut msg = Some(first);
            while let Some(m) = msg.take() {
                match m {
                    WriterMsg::Append { record, ack } => {
                        bytes = bytes.saturating_add(format::frame_len(&record));
                        records.push(record);
                        acks.push(ack);
                    }
                    WriterMsg::Shutdown { done } => {
                        rx.close();
                        shutdown.push(done);
                    }
                }
                if records.len() < self.opts.max_batch && bytes < self.opts.max_batch_bytes {
                    msg = rx.try_recv().ok();
                }
            }
            if !records.is_empty() {
                self.commit(&records, &mut acks);
                records.clear();
            }
        }

        self.shared.progress.send_modify(|p| p.closed = true);
        drop(self); // close the files before telling anyone we are done
        for done in shutdown {
            let _ = done.send(());
        }
    }

    /// Writes `records` as one batch and answers every ack.
    fn commit(&mut self, records: &[Record], acks: &mut Vec<Ack>) {
        let result = match &self.failed {
            Some(reason) => Err(LogError::Unavailable(format!(
                "partition {} stopped accepting appends after an I/O error ({reason}); \
                 reopen the log",
                self.shared.partition
            ))),
            None => self.write_batch(records),
        };
        match result {
            Ok(base) => {
                for (i, ack) in acks.drain(..).enumerate() {
                    // A dropped receiver means the caller stopped waiting; nothing to do.
                    let _ = ack.send(Ok(base + i as u64));
                }
            }
            Err(err) => {
                if self.failed.is_none() {
                    tracing::error!(partition = self.shared.partition, error = %err, "event log write failed; partition is now read-only");
                    self.failed = Some(err.to_string());
                }
                for ack in acks.drain(..) {
                    let _ = ack.send(Err(err.duplicate()));
                }
            }
        }
    }

    fn write_batch(&mut self, records: &[Record]) -> Result<Offset, LogError> {
        if self.segment_len >= self.opts.segment_bytes {
            self.roll()?;
        }
        let base = self.next;
        self.buf.clear();
        let mut new_entries: Vec<IndexEntry> = Vec::new();
        let mut last_index_pos = self.last_index_pos;
        for (i, record) in records.iter().enumerate() {
            let position = self.segment_len + self.buf.len() as u64;
            let offset = base + i as u64;
            if last_index_pos.is_none_or(|l| position - l >= self.opts.index_interval_bytes) {
                new_entries.push(IndexEntry { offset, position });
                last_index_pos = Some(position);
            }
            format::encode_frame(offset, record, &mut self.buf)?;
        }

        let dir = &self.shared.dir;
        let seg_err = |e| LogError::file(dir.join(format::segment_file_name(self.segment_base)), e);
        self.segment.write_all(&self.buf).map_err(seg_err)?;
        if !new_entries.is_empty() {
            let bytes: Vec<u8> = new_entries.iter().flat_map(|e| format::encode_index_entry(*e)).collect();
            self.index.write_all(&bytes).map_err(|e| LogError::file(dir.join(format::index_file_name(self.segment_base)), e))?;
        }
        let end = base + records.len() as u64;
        if self.opts.fsync {
            self.segment.sync_data().map_err(seg_err)?;
            // Written only after the data is durable, so it is always a lower bound of what is.
            self.checkpoint.write_all_at(&format::encode_checkpoint(end), 0).map_err(|e| LogError::file(dir.join(format::CHECKPOINT_FILE_NAME), e))?;
        }

        self.segment_len += self.buf.len() as u64;
        self.last_index_pos = last_index_pos;
        self.next = end;
        {
            let mut state = self.shared.state.write().unwrap_or_else(PoisonError::into_inner);
            state.active_len = self.segment_len;
            state.active_index.extend_from_slice(&new_entries);
        }
        self.shared.progress.send_modify(|p| p.end = end);
        self.shared.appended.fetch_add(records.len() as u64, Ordering::Relaxed);
        self.shared.batches.fetch_add(1, Ordering::Relaxed);
        Ok(base)
    }

    /// Seals the active segment and starts a new one at the next offset.
    fn roll(&mut self) -> Result<(), LogError> {
        let dir = self.shared.dir.clone();
        if self.opts.fsync {
            // The data was fsynced batch by batch; the index of a sealed segment is trusted
            // from now on, so make it durable too.
            self.index.sync_data().map_err(|e| LogError::file(dir.join(format::index_file_name(self.segment_base)), e))?;
        }
        let base = self.next;
        let (segment, index) = create_segment(&dir, base)?;
        if self.opts.fsync {
            sync_dir(&dir)?;
        }
        {
            let mut state = self.shared.state.write().unwrap_or_else(PoisonError::into_inner);
            state.sealed.push(self.segment_base);
            state.active_base = base;
            state.active_len = 0;
            state.active_index.clear();
        }
        self.segment = segment;
        self.index = index;
        self.segment_base = base;
        self.segment_len = 0;
        self.last_index_pos = None;
        Ok(())
    }
}
