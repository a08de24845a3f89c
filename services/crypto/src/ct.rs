//! Constant-time comparison.

use subtle::ConstantTimeEq;

/// Compares two byte strings in time independent of their content.
///
/// Only the lengths may leak (a length mismatch returns `false` at once); use it for every
/// comparison that involves a secret or a value derived from one (MACs, hashes, codes).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::ct_eq;

    #[test]
    fn equal_and_unequal() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"", b"a"));
        // First byte differs, last byte differs.
        assert!(!ct_eq(&[1, 0, 0, 0], &[0, 0, 0, 0]));
        assert!(!ct_eq(&[0, 0, 0, 1], &[0, 0, 0, 0]));
    }
}
