//! Key encoding inside fjall: one keyspace per [`Table`](crate::Table), rows keyed so that
//! fjall's bytewise key order *is* the canonical (pk, ck) order.
//!
//! A row key is `escape(pk) ‖ 0x00 0x00 ‖ ck`, where `escape` writes every 0x00 byte of the pk
//! as 0x00 0x01. An escaped pk never contains 0x00 0x00, so:
//! - all rows of one pk share the prefix `escape(pk) ‖ 0x00 0x00` and no other pk's rows do
//!   (a partition scan is one contiguous range);
//! - comparing two keys compares the pks first, bytewise (a pk that is a proper prefix of
//!   another sorts first: its terminator 0x00 0x00 is below either 0x00 0x01 or any non-zero
//!   byte), then the cks bytewise.
//!
//! Export therefore walks each keyspace in key order with no merge.

use crate::StoreError;

/// `escape(pk) ‖ 0x00 0x00`: the prefix shared by every row of the partition.
pub(super) fn partition_prefix(pk: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(pk.len() + 2);
    push_partition_prefix(pk, &mut key);
    key
}

/// Appends `escape(pk) ‖ 0x00 0x00` to `out`.
fn push_partition_prefix(pk: &[u8], out: &mut Vec<u8>) {
    // Whole runs between zero bytes at a time (pks join their parts with 0x00).
    let mut parts = pk.split(|&b| b == 0);
    if let Some(first) = parts.next() {
        out.extend_from_slice(first);
    }
    for part in parts {
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&[0, 0]);
}

/// The full row key.
pub(super) fn row_key(pk: &[u8], ck: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(pk.len() + ck.len() + 2);
    push_row_key(pk, ck, &mut key);
    key
}

/// Appends the full row key to `out` (bulk loads encode every key into one buffer).
pub(crate) fn push_row_key(pk: &[u8], ck: &[u8], out: &mut Vec<u8>) {
    push_partition_prefix(pk, out);
    out.extend_from_slice(ck);
}

/// Splits a stored key into (pk, ck); the pk is unescaped into `pk`.
pub(crate) fn split_key<'k>(key: &'k [u8], pk: &mut Vec<u8>) -> Result<&'k [u8], StoreError> {
    pk.clear();
    let mut i = 0;
    while let Some(&b) = key.get(i) {
        if b != 0 {
            pk.push(b);
            i += 1;
            continue;
        }
        match key.get(i + 1) {
            Some(0) => return Ok(key.get(i + 2..).unwrap_or_default()),
            Some(1) => {
                pk.push(0);
                i += 2;
            }
            _ => break,
        }
    }
    Err(StoreError::Corrupt(format!("row key of {} bytes has no partition terminator", key.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(key: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut pk = Vec::new();
        let ck = split_key(key, &mut pk).unwrap().to_vec();
        (pk, ck)
    }

    #[test]
    fn split_is_the_inverse_of_row_key() {
        for (pk, ck) in [(&b""[..], &b""[..]), (b"a", b"bc"), (b"\0", b"\0\0"), (b"a\0b\0", b"\xff"), (b"\0\0\0", b"")] {
            assert_eq!(split(&row_key(pk, ck)), (pk.to_vec(), ck.to_vec()));
        }
    }

    #[test]
    fn key_order_is_pk_then_ck_bytewise() {
        // Every pair of (pk, ck) over a small alphabet that includes 0x00 and 0xff.
        let parts: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 0], vec![0, 1], vec![0, 0xff], vec![1], vec![1, 0], vec![0xff], vec![0xff, 0]];
        let mut tuples = Vec::new();
        for pk in &parts {
            for ck in &parts {
                tuples.push((pk.clone(), ck.clone()));
            }
        }
        for a in &tuples {
            for b in &tuples {
                let (ka, kb) = (row_key(&a.0, &a.1), row_key(&b.0, &b.1));
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} vs {b:?}");
                let in_partition = ka.starts_with(&partition_prefix(&b.0));
                assert_eq!(in_partition, a.0 == b.0, "{a:?} in partition {:?}", b.0);
            }
        }
    }

    #[test]
    fn split_rejects_keys_without_a_terminator() {
        let mut pk = Vec::new();
        assert!(matches!(split_key(b"abc", &mut pk), Err(StoreError::Corrupt(_))));
        assert!(matches!(split_key(&[1, 0], &mut pk), Err(StoreError::Corrupt(_))));
        assert!(matches!(split_key(&[0, 2], &mut pk), Err(StoreError::Corrupt(_))));
    }
}
