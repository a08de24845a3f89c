//! Pre-sign-up that changes nothing: the cheapest possible trigger (benchmarks measure the
//! host's per-call overhead with it).

use idp_trigger_sdk::pre_sign_up::*;

struct Passthrough;

impl Guest for Passthrough {
    fn handle(event: PreSignUpEvent) -> Result<PreSignUpResponse, String> {
        Ok(event.response)
    }
}

export!(Passthrough);
