//! Hostile test component: never returns (the host must stop it at the deadline).

use idp_trigger_sdk::pre_sign_up::*;

struct Spin;

impl Guest for Spin {
    fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
            if std::hint::black_box(n) == u64::MAX {
                return Ok(event.response);
            }
        }
    }
}

export!(Spin);
