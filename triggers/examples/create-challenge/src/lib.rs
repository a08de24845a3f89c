//! CreateAuthChallenge for a question/answer CUSTOM_AUTH flow, configured with
//! `{"question": "...", "answer": "..."}`: the question is public (the client sees it in
//! `ChallengeParameters`), the answer private (it travels sealed in the session, for
//! VerifyAuthChallengeResponse; never shown to the client, never stored). A `locale` in the
//! caller's ClientMetadata is echoed as a public parameter.

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
        let mut public = vec![("question".into(), config.question)];
        // The caller's ClientMetadata reaches the trigger: a `locale` is echoed to the client.
        if let Some((_, locale)) = event.request.client_metadata.iter().find(|(k, _)| k == "locale") {
            public.push(("locale".into(), locale.clone()));
        }
        Ok(CreateAuthChallengeResponse {
            public_challenge_parameters: public,
            private_challenge_parameters: vec![("answer".into(), config.answer)],
            challenge_metadata: format!("QUESTION-{round}"),
        })
    }
}

export!(Create);
