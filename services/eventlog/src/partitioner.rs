//! Kafka's default partitioner, so that a key lands on the same partition whatever the backend.
//!
//! Kafka (`org.apache.kafka.common.utils.Utils.murmur2`, used by the default partitioner and by
//! librdkafka's `murmur2_random` partitioner) hashes the key bytes with 32-bit MurmurHash2, seed
//! `0x9747b28c`, and picks `(hash & 0x7fffffff) % partitions`.

use crate::Partition;

/// Kafka's 32-bit murmur2 of `data`, as the signed `int` Java returns.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java computes on `int` with wrapping arithmetic and `>>>`: u32 wrapping ops are identical.
    let length = data.len() as u32;
    let mut h: u32 = SEED ^ length;

    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's default partitioner (murmur2, positive, mod n), so that keys land on the same
/// partition in every implementation.
///
/// `partitions == 0` has no valid answer; it returns 0 rather than dividing by zero.
pub fn partition_for_key(key: &[u8], partitions: u32) -> Partition {
    if partitions == 0 {
        return 0;
    }
    let positive = (murmur2(key) as u32) & 0x7fff_ffff;
    positive % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from Kafka's own `UtilsTest.testMurmur2` (signed Java ints).
    #[test]
    fn matches_kafka_utils_test() {
        let cases: &[(&[u8], i32)] = &[
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), *want, "murmur2({:?})", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn empty_key_and_partition_formula() {
        assert_eq!(murmur2(b"") as u32, 0x106e_08d9);
        // "kafka" hashes to 0xd067cf64 (negative as i32): the sign bit is cleared before the mod.
        assert_eq!(murmur2(b"kafka") as u32, 0xd067_cf64);
        assert_eq!(partition_for_key(b"kafka", 16), (0xd067_cf64u32 & 0x7fff_ffff) % 16);
        assert_eq!(partition_for_key(b"anything", 1), 0);
        assert_eq!(partition_for_key(b"anything", 0), 0);
    }
}
