//! The real decision context: wall clock, OS randomness, Argon2id + SRP, deployment code keys.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use idp_crypto::codes::CodeKeys;
use idp_crypto::password::PasswordHasher;
use idp_crypto::srp;
use idp_domain::pb::PasswordRecord;
use idp_domain::{Ctx, NewCode};
use rand::rngs::OsRng;
use rand::RngCore;

pub struct RealCtx {
    pub now_ms: i64,
    pub hasher: Arc<PasswordHasher>,
    pub secrets: Arc<crate::Secrets>,
    pub dummy_phc: Arc<String>,
    /// The request's password-hashing counter ([`crate::scope::hashing_meter`]), if any.
    pub hashing_ns: Option<Arc<AtomicU64>>,
}

impl RealCtx {
    fn keys(&self) -> &CodeKeys {
        &self.secrets.codes
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Ctx for RealCtx {
    fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn new_uuid(&mut self) -> String {
        idp_crypto::ids::new_sub(&mut OsRng)
    }

    fn issue_code(&mut self) -> NewCode {
        match self.keys().issue(&mut OsRng) {
            Ok(code) => NewCode { salt: code.salt.to_vec(), hash: code.hash.to_vec(), sealed: code.sealed.clone() },
            // Sealing cannot fail with a valid 32-byte key; an unusable code (empty hash) can
            // never be matched, so the failure is safe and visible in the logs.
            Err(e) => {
                tracing::error!(error = %e, "issuing a code failed");
                NewCode { salt: vec![], hash: vec![], sealed: vec![] }
            }
        }
    }

    fn code_matches(&self, salt: &[u8], hash: &[u8], presented: &str) -> bool {
        let (Ok(salt), Ok(hash)) = (<[u8; 16]>::try_from(salt), <[u8; 32]>::try_from(hash)) else { return false };
        self.keys().verify(&salt, &hash, presented)
    }

    fn hash_password(&mut self, pool_name: &str, user_id_for_srp: &str, password: &str) -> PasswordRecord {
        let started = Instant::now();
        let phc = self.hasher.hash(password, &mut OsRng).unwrap_or_else(|e| {
            tracing::error!(error = %e, "password hashing failed");
            String::new()
        });
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let v = srp::make_verifier(pool_name, user_id_for_srp, password, &salt);
        if let Some(meter) = &self.hashing_ns {
            meter.fetch_add(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
        PasswordRecord { argon2_phc: phc, srp_salt: v.salt.into(), srp_verifier: v.verifier.into(), set_at_ms: self.now_ms, ..Default::default() }
    }

    fn temporary_password(&mut self, min_length: u32) -> String {
        idp_crypto::ids::temporary_password(&mut OsRng, min_length as usize).to_string()
    }

    fn seal(&mut self, secret: &str) -> Vec<u8> {
        // Sealing cannot fail with a valid key; an empty seal delivers nothing (logged).
        self.keys().seal(secret, &mut OsRng).unwrap_or_else(|e| {
            tracing::error!(error = %e, "sealing a secret failed");
            Vec::new()
        })
    }

    fn new_totp_secret(&mut self) -> Vec<u8> {
        let secret = idp_crypto::totp::new_secret(&mut OsRng);
        self.keys().seal(&secret, &mut OsRng).unwrap_or_else(|e| {
            // An empty sealed secret can never verify a code: safe, and visible in the logs.
            tracing::error!(error = %e, "sealing a TOTP secret failed");
            Vec::new()
        })
    }

    fn totp_step(&self, sealed_secret: &[u8], code: &str) -> Option<u64> {
        let secret = self.keys().open(sealed_secret).ok()?;
        idp_crypto::totp::matching_step(&secret, code, u64::try_from(self.now_ms / 1000).ok()?)
    }

    fn password_matches(&self, record: Option<&PasswordRecord>, password: &str) -> bool {
        match record {
            Some(r) if !r.argon2_phc.is_empty() => self.hasher.verify(&r.argon2_phc, password).unwrap_or(false),
            _ => {
                let _ = self.hasher.verify(&self.dummy_phc, password);
                false
            }
        }
    }
}
