//! Hostile test component: panics (a trap for the host).

use idp_trigger_sdk::pre_sign_up::*;

struct Boom;

impl Guest for Boom {
    fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
        if std::hint::black_box(true) {
            panic!("trigger bug: index out of range");
        }
        Ok(event.response)
    }
}

export!(Boom);
