//! Password hashing with Argon2id (PHC strings), the primary password verifier.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::{CryptoRng, RngCore};

use crate::CryptoError;

/// Argon2 cost parameters used for *new* hashes (verification reads them from the PHC string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl Default for Argon2Params {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self { m_cost_kib: 19_456, t_cost: 2, p_cost: 1 }
    }
}

/// Hashes and verifies passwords with Argon2id v1.3.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordHasher {
    /// Parameters for new hashes.
    pub params: Argon2Params,
}

impl PasswordHasher {
    /// A hasher with the given parameters.
    pub fn new(params: Argon2Params) -> Self {
        Self { params }
    }

    fn argon2(&self) -> Result<Argon2<'static>, CryptoError> {
        let p = &self.params;
        let params = Params::new(p.m_cost_kib, p.t_cost, p.p_cost, None).map_err(|e| CryptoError::PasswordHash(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` with a fresh 16-byte salt; returns the PHC string
    /// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    pub fn hash<R: RngCore + CryptoRng>(&self, password: &str, rng: &mut R) -> Result<String, CryptoError> {
        let salt = SaltString::generate(rng);
        let hash = self.argon2()?.hash_password(password.as_bytes(), &salt).map_err(|e| CryptoError::PasswordHash(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Checks `password` against a PHC string produced by [`hash`](Self::hash) (with any
    /// parameters: they are read from the string). `Ok(false)` for a wrong password; an error
    /// for a malformed or non-Argon2 PHC string. The comparison is argon2's constant-time one.
    pub fn verify(&self, phc: &str, password: &str) -> Result<bool, CryptoError> {
        let parsed = PasswordHash::new(phc).map_err(|e| CryptoError::MalformedPhc(e.to_string()))?;
        match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(CryptoError::MalformedPhc(e.to_string())),
        }
    }

    /// True when a stored hash was made with other parameters or algorithm than this hasher's
    /// (re-hash it at the next successful sign-in). Malformed strings need a re-hash too.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm != Algorithm::Argon2id.ident()
            || parsed.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.m_cost_kib
            || params.t_cost() != self.params.t_cost
            || params.p_cost() != self.params.p_cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(Argon2Params { m_cost_kib: 64, t_cost: 1, p_cost: 1 })
    }

    #[test]
    fn default_is_owasp_argon2id() {
        let mut rng = StdRng::seed_from_u64(1);
        let h = PasswordHasher::default();
        assert_eq!(h.params, Argon2Params { m_cost_kib: 19_456, t_cost: 2, p_cost: 1 });
        let phc = h.hash("Correct-Horse-1", &mut rng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify(&phc, "Correct-Horse-1").unwrap());
        assert!(!h.verify(&phc, "Correct-Horse-2").unwrap());
        assert!(!h.needs_rehash(&phc));
    }

    #[test]
    fn verify_uses_params_from_phc() {
        let mut rng = StdRng::seed_from_u64(2);
        let phc = cheap().hash("pw", &mut rng).unwrap();
        assert!(phc.contains("m=64,t=1,p=1"));
        // A hasher configured differently still verifies it, and wants a re-hash.
        assert!(PasswordHasher::default().verify(&phc, "pw").unwrap());
        assert!(PasswordHasher::default().needs_rehash(&phc));
        assert!(!cheap().needs_rehash(&phc));
    }

    #[test]
    fn salts_differ() {
        let mut rng = StdRng::seed_from_u64(3);
        let a = cheap().hash("pw", &mut rng).unwrap();
        let b = cheap().hash("pw", &mut rng).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn verifies_hashes_from_reference_implementation() {
        // Produced once with the argon2-cffi binding of the reference C implementation:
        // argon2.low_level.hash_secret(b"hunter2", b"0123456789abcdef", time_cost=1,
        // memory_cost=64, parallelism=1, hash_len=32, type=Type.ID), and the same for the
        // OWASP parameters.
        let h = PasswordHasher::default();
        let small = "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$VXym+zGcjiXyxj5UHzvtgmqe7HffFotdp2kWC3AztjI";
        assert!(h.verify(small, "hunter2").unwrap());
        assert!(!h.verify(small, "hunter3").unwrap());
        let owasp = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$ZoQPWiSC30sLC/o0ie5QWM6uAAjGfWucxK7gg/+XpbA";
        assert!(h.verify(owasp, "Correct-Horse-1").unwrap());
        assert!(!h.verify(owasp, "correct-Horse-1").unwrap());
    }

    #[test]
    fn malformed_phc_is_an_error() {
        let h = cheap();
        assert!(h.verify("", "pw").is_err());
        assert!(h.verify("not a phc string", "pw").is_err());
        assert!(h.verify("$argon2id$v=19$m=64,t=1,p=1$!!!$abc", "pw").is_err());
        assert!(h.needs_rehash("garbage"));
    }

    #[test]
    fn invalid_params_are_an_error() {
        let mut rng = StdRng::seed_from_u64(4);
        let h = PasswordHasher::new(Argon2Params { m_cost_kib: 1, t_cost: 0, p_cost: 0 });
        assert!(h.hash("pw", &mut rng).is_err());
    }
}
