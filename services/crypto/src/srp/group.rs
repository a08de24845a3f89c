//! The SRP group (RFC 5054 / RFC 3526 3072-bit prime, g = 2) and its arithmetic.
//!
//! # Why crypto-bigint
//! The server's SRP work is three 3072-bit modular exponentiations per sign-in, two of them with
//! the secret exponent `b` (and one of the inputs, the verifier `v`, is password-equivalent).
//! `crypto-bigint`'s fixed-width Montgomery arithmetic is constant time: its exponentiation uses
//! a fixed 4-bit window whose table is read with constant-time selection, and the only thing it
//! leaks is the exponent *bound* we pass (the byte length of the secret, not its value).
//! It was also among the fastest options measured on this machine for a 256-bit exponent and a
//! 3072-bit modulus (release build, idle machine): crypto-bigint 0.5 1.39 ms, num-bigint-dig
//! 1.37 ms (not constant time), num-bigint 2.04 ms (fixed window but secret-indexed table
//! reads and conditional subtractions); crypto-bigint 0.7 was no faster. num-bigint stays in
//! the public API (`pad_hex`, the client) for convenient big numbers.
//!
//! g^e with a secret e of up to 256 bits (B's g^b, the verifier's g^x, the client's g^a) uses
//! a precomputed fixed-base table ([`pow_g_secret`]): 64 multiplications instead of 256
//! squarings + 64 multiplications. Per sign-in the server then does one table exponentiation
//! and two 256-bit exponentiations (v^u, then (A·v^u)^b).
//!
//! The Montgomery parameters are compile-time constants (`SrpModulus`): `R` and
//! `MOD_NEG_INV` are cheap `const` computations, `R2` and `R3` were computed offline (Python)
//! because evaluating them with crypto-bigint's `const fn`s exceeds rustc's const-eval budget.
//! A unit test checks them against the runtime parameter generation.

use crypto_bigint::modular::constant_mod::{Residue, ResidueParams};
use std::sync::OnceLock;

use crypto_bigint::{Encoding, Limb, Word, U256, U3072};
use num_bigint::BigUint;
use num_traits::Zero;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Hex of the group prime N (RFC 3526 group 15 / RFC 5054 3072-bit group).
pub(crate) const N_HEX: &str = "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3be39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6955817183995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e208e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff";

/// R^2 mod N with R = 2^3072 (computed offline, checked by a test).
const R2_HEX: &str = "5ac8b4fb51df35da44c4e4e431ad0295a332e8e3e0669e0f84895a7c5542f96c2ad479fe69695c75fae1cd10648bee54fa022336f28de7725caa69009fbf543f9875d4c167db7edcaa05da05c27fdd33af0ec45cdc3960862276cb40571f2c1c49cd9d705da184d57139d0ab24b7e495a5daf736bc8d5e9e109d099e16fd756877a5c747d85b0a838c6cbd34d5965134a73d01032c4b8e907ded489e670d9c6f19c2883eefc802af0672a33d61e37f747cda502ec043f99c9a678bf4439f12eb5a7795d86ecc498719cc8d59563706fbb41a05f078024208bfd961d538d6fcdd4f12768256e88b53785483c608108c0c3efef29dc3c0b3f41b9d01271d18f0c81caefc188a59bc7fb186424b83df2859af80d4b5443561c6fea5187fa77dedda1d93075aa993d1471ef22571e41a52b28aa61391abb0b76abc2b64cf26e335d7682aab9a15b17ffafc1187a5fa8406abae1284023c6ed6a34335aacb64894d9695823215b15ba5774f30b920e5c1db663587f06960e7f1382697ca9138d241cd";

/// R^3 mod N (computed offline, checked by a test).
const R3_HEX: &str = "ceb59525ac499e3bb9e3a92a40e6e97acf7415c62b0c68c60e0075bcfb9d6f0de29c5e70c2a1e9f86da40484410d3d19fb6379eb3645f23cdff01db7a5129733593a9098bd4cc04d58548d5aa3f7d02dabe6c5c9922d6ceb45ef9402126d19973b3218ff43b2bb432741833bb8c2f57fa687ed004617fa3b8736732405a92e80699ad4e68ba18519789e190bd70da824e39dad61e9bbdcd2c079ba1205a13c9bdaefabefa618cf4930c86ff4b2c276fed55675e05f4be1a938b40a454d868c4f805b5621dc1e24dcb0b8acf2a8eb1a6a1ef91be74e0338b5df08f54924811cea44d078a2bec056bb39795b6efa71e686acce5b4d152cde06495c6d55d22421c3cc6049eef591ce50d840bd9cc462dae0f170c3cd09d18215077ebe44a27396a33a22ea32661194853cbccd394ba172dbb51be19ccae2ec0f1baf065b2d722cfe292e305bc437be2fa96d92fb135e532c4372908a2f7e7bc598aee6d0e832b02b6541c0f4bfa900821ea2888df5f29bf19ca5e45cf5923fb4b576e0df5f1c7d5b";

/// Number of bytes of a group element.
pub(crate) const BYTES: usize = 384;
/// Number of limbs of a group element (48 on 64-bit targets).
pub(crate) const LIMBS: usize = U3072::LIMBS;

/// The prime N. `from_be_hex` runs at compile time here, so a malformed constant is a build
/// error, never a runtime panic.
pub(crate) const N: U3072 = U3072::from_be_hex(N_HEX);

// N must be odd for Montgomery arithmetic; checked at compile time.
const _: () = assert!(N.as_limbs()[0].0 & 1 == 1);

/// Marker type carrying the Montgomery parameters of N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SrpModulus;

impl ResidueParams<LIMBS> for SrpModulus {
    const LIMBS: usize = LIMBS;
    const MODULUS: U3072 = N;
    // R = 2^3072 mod N = 2^3072 - N because 2^3071 < N < 2^3072.
    const R: U3072 = N.wrapping_neg();
    const R2: U3072 = U3072::from_be_hex(R2_HEX);
    const R3: U3072 = U3072::from_be_hex(R3_HEX);
    const MOD_NEG_INV: Limb = Limb(Word::MIN.wrapping_sub(N.inv_mod2k_vartime(Word::BITS as usize).as_limbs()[0].0));
}

/// An element of Z/NZ in Montgomery form.
pub(crate) type Fe = Residue<SrpModulus, LIMBS>;

/// The generator g = 2.
pub(crate) const G: u8 = 2;

/// g as a field element.
pub(crate) fn g() -> Fe {
    Fe::new(&U3072::from_u8(G))
}

/// `bytes` as a 384-byte big-endian array; leading zero bytes beyond 384 are allowed.
fn to_fixed(bytes: &[u8], what: &'static str) -> Result<Zeroizing<[u8; BYTES]>, CryptoError> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = &bytes[first..];
    if significant.len() > BYTES {
        return Err(CryptoError::ValueTooLarge(what));
    }
    let mut out = Zeroizing::new([0u8; BYTES]);
    out[BYTES - significant.len()..].copy_from_slice(significant);
    Ok(out)
}

/// A big-endian byte string (at most 3072 significant bits) as an integer.
pub(crate) fn uint_from_be(bytes: &[u8], what: &'static str) -> Result<U3072, CryptoError> {
    let fixed = to_fixed(bytes, what)?;
    Ok(U3072::from_be_slice(&fixed[..]))
}

/// Decodes hex that may have odd length (as JS clients send `SRP_A`) into bytes.
pub(crate) fn decode_hex_lenient(hex_str: &str, what: &'static str) -> Result<Vec<u8>, CryptoError> {
    let s = hex_str.trim();
    if s.is_empty() {
        return Err(CryptoError::InvalidHex(what));
    }
    let res = if s.len() % 2 == 1 {
        let mut padded = String::with_capacity(s.len() + 1);
        padded.push('0');
        padded.push_str(s);
        hex::decode(padded)
    } else {
        hex::decode(s)
    };
    res.map_err(|_| CryptoError::InvalidHex(what))
}

/// Parses a hex protocol value (odd length tolerated) into an integer < 2^3072.
pub(crate) fn uint_from_hex(hex_str: &str, what: &'static str) -> Result<U3072, CryptoError> {
    let bytes = Zeroizing::new(decode_hex_lenient(hex_str, what)?);
    uint_from_be(&bytes, what)
}

/// The minimal big-endian representation with a leading 0x00 when the top bit is set, i.e.
/// Java's `BigInteger.toByteArray()` for a non-negative number; `hex(java_bytes(x))` is
/// Cognito's `padHex(x)`. Zero is `[0]`.
pub(crate) fn java_bytes(be: &[u8]) -> Vec<u8> {
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let significant = &be[first..];
    let mut out = Vec::with_capacity(significant.len() + 1);
    if significant.first().is_none_or(|&b| b >= 0x80) {
        out.push(0);
    }
    out.extend_from_slice(significant);
    out
}

/// Minimal lowercase hex without padding (like Java's `BigInteger.toString(16)`); "0" for 0.
pub(crate) fn minimal_hex(be: &[u8]) -> String {
    let s = hex::encode(be);
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The canonical (reduced) big-endian bytes of a field element.
pub(crate) fn fe_to_be(fe: &Fe) -> Zeroizing<[u8; BYTES]> {
    Zeroizing::new(fe.retrieve().to_be_bytes())
}

/// k = H(padHex(N) || padHex(g)), Cognito's multiplier (not RFC 5054's, which pads g to |N|).
pub(crate) fn k_bytes() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(java_bytes(&N.to_be_bytes()));
    h.update(java_bytes(&[G]));
    h.finalize().into()
}

/// k as a field element.
pub(crate) fn k() -> Fe {
    let kb = k_bytes();
    let mut wide = [0u8; BYTES];
    wide[BYTES - 32..].copy_from_slice(&kb);
    Fe::new(&U3072::from_be_slice(&wide))
}

/// `base^exp mod N` where `exp` is a secret big-endian byte string of at most 384 bytes.
///
/// Constant time in the value of `exp`; the running time depends only on `exp.len()`, which
/// callers keep fixed (32 bytes for server and client secrets).
pub(crate) fn pow_secret(base: &Fe, exp: &[u8], what: &'static str) -> Result<Fe, CryptoError> {
    if exp.len() > BYTES {
        return Err(CryptoError::ValueTooLarge(what));
    }
    let mut wide = Zeroizing::new([0u8; BYTES]);
    wide[BYTES - exp.len()..].copy_from_slice(exp);
    let e = Zeroizing::new(U3072::from_be_slice(&wide[..]));
    Ok(base.pow_bounded_exp(&e, exp.len() * 8))
}

/// Number of 4-bit windows of the fixed-base table for g: exponents of up to 32 bytes.
const G_WINDOWS: usize = 64;
/// Largest exponent (bytes) that [`pow_g_secret`] handles with the fixed-base table.
pub(crate) const G_TABLE_EXP_BYTES: usize = G_WINDOWS / 2;

/// `G_TABLE[i][j]` = g^(j·16^i) in Montgomery form (64 × 16 × 384 bytes = 384 KiB), built on
/// first use (about 1000 multiplications).
static G_TABLE: OnceLock<Vec<[U3072; 16]>> = OnceLock::new();

fn g_table() -> &'static [[U3072; 16]] {
    G_TABLE.get_or_init(|| {
        let mut table = Vec::with_capacity(G_WINDOWS);
        let mut base = g(); // g^(16^i)
        for _ in 0..G_WINDOWS {
            let mut row = [U3072::ZERO; 16];
            let mut acc = Fe::ONE;
            for entry in row.iter_mut() {
                *entry = *acc.as_montgomery();
                acc *= base;
            }
            base = acc; // (g^(16^i))^16
            table.push(row);
        }
        table
    })
}

/// g^exp mod N for a secret exponent (big-endian bytes).
///
/// Up to 32 bytes: fixed-base windowed exponentiation with the precomputed [`G_TABLE`]: one
/// multiplication per 4-bit window and no squarings (about 4× faster than [`pow_secret`]),
/// each table row read whole with constant-time selection, so neither the time nor the memory
/// access pattern depends on the exponent's value. Longer exponents use [`pow_secret`].
pub(crate) fn pow_g_secret(exp: &[u8], what: &'static str) -> Result<Fe, CryptoError> {
    if exp.len() > G_TABLE_EXP_BYTES {
        return pow_secret(&g(), exp, what);
    }
    let mut wide = Zeroizing::new([0u8; G_TABLE_EXP_BYTES]);
    wide[G_TABLE_EXP_BYTES - exp.len()..].copy_from_slice(exp);
    Ok(pow_g_32(&wide))
}

/// g^exp mod N for a 32-byte big-endian exponent with the fixed-base table (see
/// [`pow_g_secret`]).
pub(crate) fn pow_g_32(exp: &[u8; G_TABLE_EXP_BYTES]) -> Fe {
    let mut acc = Fe::ONE;
    let mut selected = Zeroizing::new(U3072::ZERO);
    // Least significant byte first; each byte covers two consecutive rows (low nibble first).
    for (byte, rows) in exp.iter().rev().zip(g_table().chunks_exact(2)) {
        for (nibble, row) in [byte & 0x0f, byte >> 4].into_iter().zip(rows) {
            *selected = row[0];
            for (j, entry) in (0u8..).zip(row.iter()).skip(1) {
                selected.conditional_assign(entry, j.ct_eq(&nibble));
            }
            acc *= Fe::from_montgomery(*selected);
        }
    }
    acc
}

/// `base^exp mod N` for a 256-bit exponent (a hash output: x or u).
pub(crate) fn pow_256(base: &Fe, exp: &[u8; 32]) -> Fe {
    let e = Zeroizing::new(U256::from_be_slice(exp));
    base.pow_bounded_exp(&e, 256)
}

/// N as a num-bigint number (for the client and for `pad_hex` users).
pub(crate) fn n_biguint() -> BigUint {
    BigUint::from_bytes_be(&N.to_be_bytes())
}

/// `base^exp mod N` on num-bigint values, computed with the constant-time backend.
///
/// Used by the client; the exponent's byte length is visible in the timing. An exponent larger
/// than 3072 bits is reduced mod N-1 first (valid for any base coprime to the prime N).
pub(crate) fn modpow_biguint(base: &BigUint, exp: &BigUint) -> Result<BigUint, CryptoError> {
    let n = n_biguint();
    let base = base % &n;
    if base.is_zero() {
        return Ok(BigUint::zero());
    }
    let mut exp_bytes = Zeroizing::new(exp.to_bytes_be());
    if exp_bytes.len() > BYTES {
        let reduced = exp % (&n - 1u32);
        exp_bytes = Zeroizing::new(reduced.to_bytes_be());
    }
    let b = Fe::new(&uint_from_be(&base.to_bytes_be(), "base")?);
    let r = pow_secret(&b, &exp_bytes, "exponent")?;
    Ok(BigUint::from_bytes_be(&fe_to_be(&r)[..]))
}

/// `g^exp mod N` on num-bigint values (fixed-base table for exponents up to 256 bits).
pub(crate) fn modpow_g_biguint(exp: &BigUint) -> Result<BigUint, CryptoError> {
    let exp_bytes = Zeroizing::new(exp.to_bytes_be());
    if exp_bytes.len() > G_TABLE_EXP_BYTES {
        return modpow_biguint(&BigUint::from(G), exp);
    }
    let r = pow_g_secret(&exp_bytes, "exponent")?;
    Ok(BigUint::from_bytes_be(&fe_to_be(&r)[..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
    use proptest::prelude::*;

    #[test]
    fn montgomery_constants_match_runtime_generation() {
        let params = DynResidueParams::new(&N);
        let x = U3072::from_be_hex(&"1234567890abcdef".repeat(48));
        let dynamic = DynResidue::new(&x, params);
        let constant = Fe::new(&x);
        assert_eq!(dynamic.as_montgomery(), constant.as_montgomery());
        // Inversion uses R3.
        let inv_d = dynamic.invert().0.retrieve();
        let inv_c = constant.invert().0.retrieve();
        assert_eq!(inv_d, inv_c);
        assert_eq!((constant * constant.invert().0).retrieve(), U3072::ONE);
    }

    #[test]
    fn java_bytes_matches_pad_hex_rules() {
        assert_eq!(hex::encode(java_bytes(&[])), "00");
        assert_eq!(hex::encode(java_bytes(&[0, 0])), "00");
        assert_eq!(hex::encode(java_bytes(&[0x7f])), "7f");
        assert_eq!(hex::encode(java_bytes(&[0x80])), "0080");
        assert_eq!(hex::encode(java_bytes(&[0, 0x0a, 0xbc])), "0abc");
        assert_eq!(hex::encode(java_bytes(&[0xff, 0x01])), "00ff01");
    }

    #[test]
    fn minimal_hex_strips() {
        assert_eq!(minimal_hex(&[0, 0]), "0");
        assert_eq!(minimal_hex(&[0x0a, 0xbc]), "abc");
        assert_eq!(minimal_hex(&[0xab]), "ab");
    }

    #[test]
    fn lenient_hex() {
        assert_eq!(decode_hex_lenient("abc", "t").ok(), Some(vec![0x0a, 0xbc]));
        assert_eq!(decode_hex_lenient("ABCD", "t").ok(), Some(vec![0xab, 0xcd]));
        assert!(decode_hex_lenient("", "t").is_err());
        assert!(decode_hex_lenient("xyz", "t").is_err());
        // Longer than 3072 bits after stripping leading zeros: too large; leading zeros are fine.
        assert!(uint_from_hex(&"1".repeat(769), "t").is_err());
        assert!(uint_from_hex(&format!("000{}", "1".repeat(768)), "t").is_ok());
    }

    #[test]
    fn fixed_base_table_matches_generic_pow() {
        let mut cases: Vec<Vec<u8>> = vec![vec![], vec![0], vec![1], vec![2], vec![0x10], vec![0xff; 32], vec![0; 32]];
        cases.push((1..=32).collect());
        cases.push(vec![0x80; 31]);
        for exp in cases {
            let fast = pow_g_secret(&exp, "e").unwrap();
            let generic = pow_secret(&g(), &exp, "e").unwrap();
            assert_eq!(fast.retrieve(), generic.retrieve(), "{}", hex::encode(&exp));
        }
        // 33 bytes and more take the generic path.
        let long = vec![0xab; 40];
        assert_eq!(pow_g_secret(&long, "e").unwrap().retrieve(), pow_secret(&g(), &long, "e").unwrap().retrieve());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn fixed_base_agrees_with_num_bigint(exp in proptest::collection::vec(any::<u8>(), 0..=32)) {
            let expected = BigUint::from(2u32).modpow(&BigUint::from_bytes_be(&exp), &n_biguint());
            let ours = pow_g_secret(&exp, "e").map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(BigUint::from_bytes_be(&fe_to_be(&ours)[..]), expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn constant_time_pow_agrees_with_num_bigint(
            base in proptest::collection::vec(any::<u8>(), 1..384),
            exp in proptest::collection::vec(any::<u8>(), 1..64),
        ) {
            let n = n_biguint();
            let b = BigUint::from_bytes_be(&base);
            let e = BigUint::from_bytes_be(&exp);
            let ours = modpow_biguint(&b, &e).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(ours, b.modpow(&e, &n));
        }
    }
}
