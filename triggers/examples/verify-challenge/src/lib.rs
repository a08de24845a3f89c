//! VerifyAuthChallengeResponse for a question/answer CUSTOM_AUTH flow: the answer is right when
//! it equals the private `answer` CreateAuthChallenge set (surrounding spaces ignored).

use idp_trigger_sdk::verify_auth_challenge::*;

struct Verify;

impl Guest for Verify {
    fn handle(event: VerifyAuthChallengeEvent) -> Result<VerifyAuthChallengeResponse, String> {
        let expected = attr(&event.request.private_challenge_parameters, "answer");
        let given = event.request.challenge_answer.trim();
        Ok(VerifyAuthChallengeResponse { answer_correct: expected.is_some_and(|a| !a.is_empty() && a == given) })
    }
}

export!(Verify);
