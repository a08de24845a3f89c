//! The on-disk format of the embedded log (decision record: `docs/adr/0001-embedded-log-format.md`).
//!
//! ```text
//! <dir>/eventlog.meta                   text: format name, format version, partition count
//! <dir>/LOCK                            flock'ed by the process that has the log open
//! <dir>/partition-00003/                one directory per partition
//!     00000000000000000000.log          segment, named by the offset of its first record
//!     00000000000000000000.idx          sparse index of that segment (rebuildable)
//!     00000000000000812345.log          next segment ...
//!     checkpoint                        "every offset below N is durable" (written after fsync)
//! ```
//!
//! A segment is a sequence of frames `[len: u32 LE][crc: u32 LE][body: len bytes]` where `crc` is
//! CRC-32C over the 4 length bytes followed by the body, and the body (format version 1) is
//!
//! ```text
//! u8 version (=1) | u64 offset | u32 key_len, key | u32 header_count,
//!   { u32 name_len, name (UTF-8), u32 value_len, value } * header_count | u32 value_len, value
//! ```
//!
//! All integers are little-endian. An index entry is `[offset: u64 LE][byte position: u64 LE]`.

use std::io::{self, Read};

use crate::{LogError, Offset, Partition, Record};

/// Version byte at the start of every frame body written by this code.
pub const FORMAT_VERSION: u8 = 1;
/// `[len][crc]` in front of every body.
pub const FRAME_HEADER_LEN: usize = 8;
/// The smallest valid body: version, offset and three zero lengths/counts.
pub const MIN_BODY_LEN: usize = 1 + 8 + 4 + 4 + 4;
/// Hard format limit for one body (the configurable record limit must stay below it).
pub const MAX_BODY_LEN: usize = 1 << 30;
/// Size of one sparse-index entry.
pub const INDEX_ENTRY_LEN: usize = 16;

/// Name of the metadata file in the log directory.
pub const META_FILE_NAME: &str = "eventlog.meta";
/// Name of the lock file in the log directory.
pub const LOCK_FILE_NAME: &str = "LOCK";
/// Name of the per-partition durability checkpoint file.
pub const CHECKPOINT_FILE_NAME: &str = "checkpoint";
/// Size of the checkpoint file: magic (8) + end offset (8) + CRC-32C of the first 16 bytes (4).
pub const CHECKPOINT_LEN: usize = 20;
const CHECKPOINT_MAGIC: &[u8; 8] = b"IDPCKPT1";

/// Directory name of a partition, e.g. `partition-00003`.
pub fn partition_dir_name(partition: Partition) -> String {
    format!("partition-{partition:05}")
}

/// Parses a partition directory name back to its number.
pub fn parse_partition_dir_name(name: &str) -> Option<Partition> {
    let digits = name.strip_prefix("partition-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// File name of the segment whose first record has offset `base`.
pub fn segment_file_name(base: Offset) -> String {
    format!("{base:020}.log")
}

/// File name of the sparse index of the segment starting at `base`.
pub fn index_file_name(base: Offset) -> String {
    format!("{base:020}.idx")
}

/// Parses a segment file name (`<20 digits>.log`) back to its base offset.
pub fn parse_segment_file_name(name: &str) -> Option<Offset> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Size of the body that [`encode_frame`] writes for `record` (saturating on absurd sizes).
pub fn body_len(record: &Record) -> usize {
    let headers = record.headers.iter().fold(0usize, |acc, (name, value)| acc.saturating_add(8).saturating_add(name.len()).saturating_add(value.len()));
    MIN_BODY_LEN.saturating_add(record.key.len()).saturating_add(headers).saturating_add(record.value.len())
}

/// Size of the whole frame (header + body) for `record`.
pub fn frame_len(record: &Record) -> usize {
    body_len(record).saturating_add(FRAME_HEADER_LEN)
}

fn push_u32(out: &mut Vec<u8>, v: usize) {
    // Callers checked that the whole body fits MAX_BODY_LEN (< u32::MAX), so every part fits.
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

/// Appends the frame of `record` stored at `offset` to `out`.
pub fn encode_frame(offset: Offset, record: &Record, out: &mut Vec<u8>) -> Result<(), LogError> {
    let len = body_len(record);
    if len > MAX_BODY_LEN {
        return Err(LogError::RecordTooLarge { size: len, max: MAX_BODY_LEN });
    }
    let start = out.len();
    out.reserve(FRAME_HEADER_LEN + len);
    push_u32(out, len);
    out.extend_from_slice(&[0; 4]); // crc, patched below
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&offset.to_le_bytes());
    push_u32(out, record.key.len());
    out.extend_from_slice(&record.key);
    push_u32(out, record.headers.len());
    for (name, value) in &record.headers {
        push_u32(out, name.len());
        out.extend_from_slice(name.as_bytes());
        push_u32(out, value.len());
        out.extend_from_slice(value);
    }
    push_u32(out, record.value.len());
    out.extend_from_slice(&record.value);

    let crc = frame_crc(&out[start..start + 4], &out[start + FRAME_HEADER_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// CRC-32C over the length bytes followed by the body.
pub fn frame_crc(len_bytes: &[u8], body: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(len_bytes), body)
}

/// Why a frame could not be read. At the tail of the active segment this means "torn write";
/// anywhere else it means corruption.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame truncated: {needed} bytes needed, {available} available")]
    Truncated { needed: u64, available: u64 },
    #[error("frame length {0} out of range")]
    BadLength(u32),
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum { stored: u32, computed: u32 },
    #[error("unknown frame format version {0}")]
    UnknownVersion(u8),
    #[error("malformed body: {0}")]
    Malformed(&'static str),
    #[error("frame holds offset {found}, expected {expected}")]
    OffsetMismatch { expected: Offset, found: Offset },
}

struct BodyCursor<'a> {
    rest: &'a [u8],
}

impl<'a> BodyCursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return Err(FrameError::Malformed(what));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self, what: &'static str) -> Result<usize, FrameError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], FrameError> {
        let n = self.u32(what)?;
        self.take(n, what)
    }
}

/// Decodes a (checksum-verified) body into its offset and record.
pub fn decode_body(body: &[u8]) -> Result<(Offset, Record), FrameError> {
    let mut cur = BodyCursor { rest: body };
    let version = cur.take(1, "version")?[0];
    if version != FORMAT_VERSION {
        return Err(FrameError::UnknownVersion(version));
    }
    let o = cur.take(8, "offset")?;
    let offset = u64::from_le_bytes([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]);
    let key = cur.bytes("key")?.to_vec();
    let count = cur.u32("header count")?;
    // Every header takes at least 8 bytes: refuse counts the body cannot hold before allocating.
    if count > cur.rest.len() / 8 {
        return Err(FrameError::Malformed("header count"));
    }
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        let name = std::str::from_utf8(cur.bytes("header name")?).map_err(|_| FrameError::Malformed("header name is not UTF-8"))?.to_owned();
        let value = cur.bytes("header value")?.to_vec();
        headers.push((name, value));
    }
    let value = cur.bytes("value")?.to_vec();
    if !cur.rest.is_empty() {
        return Err(FrameError::Malformed("trailing bytes"));
    }
    Ok((offset, Record { key, headers, value }))
}

/// Errors of [`FrameReader::next`]: either the OS failed, or the bytes are not a valid frame.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    Frame(FrameError),
}

/// Reads consecutive frames from a (buffered) reader, tracking the byte position.
///
/// The position only advances past frames that were read completely and verified, so after an
/// error [`FrameReader::position`] is the start of the bad frame (where a torn tail is cut).
pub struct FrameReader<R> {
    inner: R,
    pos: u64,
    body: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// `inner` must be positioned at byte `pos` of the segment.
    pub fn new(inner: R, pos: u64) -> Self {
        FrameReader { inner, pos, body: Vec::new() }
    }

    /// Byte position of the next frame.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Reads the frame at the current position, which must hold `expected` offset, never reading
    /// at or past byte `limit`. `Ok(None)` exactly at `limit`.
    pub fn next(&mut self, limit: u64, expected: Offset) -> Result<Option<Record>, ReadError> {
        let available = limit.saturating_sub(self.pos);
        if available == 0 {
            return Ok(None);
        }
        if available < FRAME_HEADER_LEN as u64 {
            return Err(ReadError::Frame(FrameError::Truncated { needed: FRAME_HEADER_LEN as u64, available }));
        }
        let mut header = [0u8; FRAME_HEADER_LEN];
        self.read_exact(&mut header, available)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if (len as usize) < MIN_BODY_LEN || len as usize > MAX_BODY_LEN {
            return Err(ReadError::Frame(FrameError::BadLength(len)));
        }
        let needed = FRAME_HEADER_LEN as u64 + u64::from(len);
        if needed > available {
            return Err(ReadError::Frame(FrameError::Truncated { needed, available }));
        }
        self.body.resize(len as usize, 0);
        let mut body = std::mem::take(&mut self.body);
        let read = self.read_exact(&mut body, available);
        let result = read.and_then(|()| {
            let computed = frame_crc(&header[..4], &body);
            if computed != stored {
                return Err(ReadError::Frame(FrameError::Checksum { stored, computed }));
            }
            let (offset, record) = decode_body(&body).map_err(ReadError::Frame)?;
            if offset != expected {
                return Err(ReadError::Frame(FrameError::OffsetMismatch { expected, found: offset }));
            }
            Ok(record)
        });
        self.body = body;
        let record = result?;
        self.pos += needed;
        Ok(Some(record))
    }

    fn read_exact(&mut self, buf: &mut [u8], available: u64) -> Result<(), ReadError> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                // The file is shorter than the limit we were given: a truncated frame.
                ReadError::Frame(FrameError::Truncated { needed: buf.len() as u64, available })
            } else {
                ReadError::Io(e)
            }
        })
    }
}

/// One sparse-index entry: the record at `offset` starts at byte `position` of its segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub offset: Offset,
    pub position: u64,
}

/// Encodes one index entry.
pub fn encode_index_entry(entry: IndexEntry) -> [u8; INDEX_ENTRY_LEN] {
    let mut out = [0u8; INDEX_ENTRY_LEN];
    out[..8].copy_from_slice(&entry.offset.to_le_bytes());
    out[8..].copy_from_slice(&entry.position.to_le_bytes());
    out
}

/// Decodes an index file; `None` if its size or ordering shows it is not a valid index of a
/// segment starting at `base` with `segment_len` bytes.
pub fn decode_index(bytes: &[u8], base: Offset, segment_len: u64) -> Option<Vec<IndexEntry>> {
    if !bytes.len().is_multiple_of(INDEX_ENTRY_LEN) {
        return None;
    }
    let mut entries: Vec<IndexEntry> = Vec::with_capacity(bytes.len() / INDEX_ENTRY_LEN);
    for chunk in bytes.chunks_exact(INDEX_ENTRY_LEN) {
        let mut o = [0u8; 8];
        let mut p = [0u8; 8];
        o.copy_from_slice(&chunk[..8]);
        p.copy_from_slice(&chunk[8..]);
        let entry = IndexEntry { offset: u64::from_le_bytes(o), position: u64::from_le_bytes(p) };
        let ordered = match entries.last() {
            None => entry.offset == base && entry.position == 0,
            Some(prev) => entry.offset > prev.offset && entry.position > prev.position,
        };
        if !ordered || entry.position >= segment_len {
            return None;
        }
        entries.push(entry);
    }
    Some(entries)
}

/// The last entry at or before `offset` (entries sorted by offset).
pub fn index_floor(entries: &[IndexEntry], offset: Offset) -> Option<IndexEntry> {
    let after = entries.partition_point(|e| e.offset <= offset);
    after.checked_sub(1).and_then(|i| entries.get(i)).copied()
}

/// Encodes a checkpoint stating that every offset below `end` is durable.
pub fn encode_checkpoint(end: Offset) -> [u8; CHECKPOINT_LEN] {
    let mut out = [0u8; CHECKPOINT_LEN];
    out[..8].copy_from_slice(CHECKPOINT_MAGIC);
    out[8..16].copy_from_slice(&end.to_le_bytes());
    let crc = crc32c::crc32c(&out[..16]);
    out[16..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a checkpoint; `None` if it is missing, torn or not a checkpoint.
pub fn decode_checkpoint(bytes: &[u8]) -> Option<Offset> {
    if bytes.len() != CHECKPOINT_LEN || &bytes[..8] != CHECKPOINT_MAGIC {
        return None;
    }
    let stored = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    if crc32c::crc32c(&bytes[..16]) != stored {
        return None;
    }
    let mut end = [0u8; 8];
    end.copy_from_slice(&bytes[8..16]);
    Some(u64::from_le_bytes(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record::new(b"key".to_vec(), b"value".to_vec()).with_header("a", b"1".to_vec()).with_header("ü", Vec::new())
    }

    #[test]
    fn frame_round_trip_and_len() {
        let rec = sample();
        let mut buf = Vec::new();
        encode_frame(42, &rec, &mut buf).unwrap();
        assert_eq!(buf.len(), frame_len(&rec));
        let mut r = FrameReader::new(&buf[..], 0);
        assert_eq!(r.next(buf.len() as u64, 42).unwrap(), Some(rec));
        assert_eq!(r.position(), buf.len() as u64);
        assert!(r.next(buf.len() as u64, 43).unwrap().is_none());
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let mut buf = Vec::new();
        encode_frame(7, &sample(), &mut buf).unwrap();
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x01;
            let mut r = FrameReader::new(&bad[..], 0);
            assert!(matches!(r.next(bad.len() as u64, 7), Err(ReadError::Frame(_))), "flip at byte {i} not detected");
            assert_eq!(r.position(), 0);
        }
    }

    #[test]
    fn truncation_and_offset_mismatch() {
        let mut buf = Vec::new();
        encode_frame(0, &sample(), &mut buf).unwrap();
        for cut in 1..buf.len() {
            let mut r = FrameReader::new(&buf[..cut], 0);
            assert!(matches!(r.next(cut as u64, 0), Err(ReadError::Frame(FrameError::Truncated { .. }))));
        }
        let mut r = FrameReader::new(&buf[..], 0);
        assert!(matches!(r.next(buf.len() as u64, 1), Err(ReadError::Frame(FrameError::OffsetMismatch { expected: 1, found: 0 }))));
    }

    #[test]
    fn names_and_index_and_checkpoint() {
        assert_eq!(segment_file_name(12), "00000000000000000012.log");
        assert_eq!(parse_segment_file_name("00000000000000000012.log"), Some(12));
        assert_eq!(parse_segment_file_name("12.log"), None);
        assert_eq!(parse_partition_dir_name(&partition_dir_name(7)), Some(7));

        let entries = [IndexEntry { offset: 10, position: 0 }, IndexEntry { offset: 20, position: 500 }];
        let bytes: Vec<u8> = entries.iter().flat_map(|e| encode_index_entry(*e)).collect();
        assert_eq!(decode_index(&bytes, 10, 1000), Some(entries.to_vec()));
        assert_eq!(decode_index(&bytes, 10, 500), None, "position past the segment end");
        assert_eq!(decode_index(&bytes[..20], 10, 1000), None, "torn entry");
        assert_eq!(index_floor(&entries, 15), Some(entries[0]));
        assert_eq!(index_floor(&entries, 20), Some(entries[1]));
        assert_eq!(index_floor(&entries, 9), None);

        assert_eq!(decode_checkpoint(&encode_checkpoint(99)), Some(99));
        let mut torn = encode_checkpoint(99);
        torn[9] ^= 1;
        assert_eq!(decode_checkpoint(&torn), None);
    }
}
