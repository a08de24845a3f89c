//! Hostile test component for CUSTOM_AUTH: a CreateAuthChallenge that misbehaves as its
//! configuration says: `loop` (never returns), `memory` (allocates without bound), `trap`
//! (panics), `huge` (answers a parameter larger than the host accepts).

use idp_trigger_sdk::create_auth_challenge::*;

struct Hostile;

impl Guest for Hostile {
    fn handle(event: CreateAuthChallengeEvent) -> Result<CreateAuthChallengeResponse, String> {
        match config().trim() {
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    if std::hint::black_box(hoard.len()) == usize::MAX {
                        return Ok(event.response);
                    }
                }
            }
            "trap" => panic!("hostile trigger panics"),
            "huge" => Ok(CreateAuthChallengeResponse {
                public_challenge_parameters: vec![("question".into(), "x".repeat(1 << 20))],
                private_challenge_parameters: vec![],
                challenge_metadata: String::new(),
            }),
            _ => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                    if std::hint::black_box(n) == u64::MAX {
                        return Ok(event.response);
                    }
                }
            }
        }
    }
}

export!(Hostile);
