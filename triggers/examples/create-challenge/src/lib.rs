//! CreateAuthChallenge for a question/answer CUSTOM_AUTH flow, configured with
//! `{"question": "...", "answer": "..."}`: the question is public (the client sees it in
//! `ChallengeParameters`), the answer private (it travels sealed in the session, for
//! VerifyAuthChallengeResponse; never shown to the client, never stored).

use idp_trigger_sdk::create_auth_challenge::*;

#[derive(serde::Deserialize)]
struct Config {
    question: String,
    answer: String,
}

struct Create;

impl Guest for Create {
    fn handle(event: CreateAuthChallengeEvent) -> Result<CreateAuthChallengeResponse, String> {
        let config: Config = config_json()?;
        if event.request.challenge_name != "CUSTOM_CHALLENGE" {
            return Err(format!("cannot create a {} challenge", event.request.challenge_name));
        }
        let round = event.request.session.len() + 1;
        Ok(CreateAuthChallengeResponse {
            public_challenge_parameters: vec![("question".into(), config.question)],
            private_challenge_parameters: vec![("answer".into(), config.answer)],
            challenge_metadata: format!("QUESTION-{round}"),
        })
    }
}

export!(Create);
