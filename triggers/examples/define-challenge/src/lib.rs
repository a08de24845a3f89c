//! DefineAuthChallenge for a question/answer CUSTOM_AUTH flow: ask a CUSTOM_CHALLENGE, issue
//! tokens once one was answered right, fail after too many wrong answers. The configuration is
//! the number of answers allowed (default 3).

use idp_trigger_sdk::define_auth_challenge::*;

struct Define;

/// The decision, from the session so far (kept apart from `handle` so it unit-tests as Rust).
fn decide(session: &[ChallengeResult], user_not_found: bool, max_answers: usize, mut r: DefineAuthChallengeResponse) -> DefineAuthChallengeResponse {
    match session.last() {
        _ if user_not_found => r.fail_authentication = true,
        Some(last) if last.challenge_name == "CUSTOM_CHALLENGE" && last.challenge_result => r.issue_tokens = true,
        Some(_) if session.len() >= max_answers => r.fail_authentication = true,
        _ => r.challenge_name = "CUSTOM_CHALLENGE".into(),
    }
    r
}

impl Guest for Define {
    fn handle(event: DefineAuthChallengeEvent) -> Result<DefineAuthChallengeResponse, String> {
        let max = config().trim().parse::<usize>().unwrap_or(3).max(1);
        Ok(decide(&event.request.session, event.request.user_not_found, max, event.response))
    }
}

export!(Define);
