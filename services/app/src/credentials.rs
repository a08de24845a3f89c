//! The admin credential: an access key id and secret, created on first start in
//! `<data-dir>/admin.json` (mode 0600), or given by configuration so several processes share it.

use std::io::Write as _;
use std::path::Path;

use rand::rngs::OsRng;
use rand::RngCore;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct AdminCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCredentials").field("access_key_id", &self.access_key_id).field("secret_access_key", &"<redacted>").finish()
    }
}

const ALNUM_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl AdminCredentials {
    pub fn generate() -> AdminCredentials {
        let mut id = String::from("AKID");
        for _ in 0..16 {
            id.push(ALNUM_UPPER[(OsRng.next_u32() % ALNUM_UPPER.len() as u32) as usize] as char);
        }
        AdminCredentials { access_key_id: id, secret_access_key: idp_crypto::ids::random_token(&mut OsRng, 30) }
    }

    /// Loads `<dir>/admin.json`, creating it (0600, created exclusively) when missing.
    /// Returns the credentials and whether they were created now.
    pub fn load_or_create(dir: &Path) -> std::io::Result<(AdminCredentials, bool)> {
        let path = dir.join("admin.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let creds = serde_json::from_str(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
            return Ok((creds, false));
        }
        let creds = AdminCredentials::generate();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(&path) {
            Ok(mut f) => {
                let text = serde_json::to_string_pretty(&creds).map_err(std::io::Error::other)?;
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                Ok((creds, true))
            }
            // Another process won the race: use its file.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path)?;
                Ok((serde_json::from_str(&text).map_err(std::io::Error::other)?, false))
            }
            Err(e) => Err(e),
        }
    }

    /// Constant-time check of a presented pair.
    pub fn matches(&self, access_key_id: &str, secret: &str) -> bool {
        let a = idp_crypto::ct::ct_eq(access_key_id.as_bytes(), self.access_key_id.as_bytes());
        let b = idp_crypto::ct::ct_eq(secret.as_bytes(), self.secret_access_key.as_bytes());
        a & b
    }
}
