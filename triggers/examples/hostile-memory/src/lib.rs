//! Hostile test component: allocates without bound (the host must stop it at its memory cap).

use idp_trigger_sdk::pre_sign_up::*;

struct Hog;

impl Guest for Hog {
    fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
            if std::hint::black_box(hoard.len()) == usize::MAX {
                return Ok(event.response);
            }
        }
    }
}

export!(Hog);
