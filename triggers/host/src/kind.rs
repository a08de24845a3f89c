//! Trigger kinds: Cognito's Lambda trigger names, and the WIT world each one implements.

use std::fmt;

/// A trigger kind. `name()` is Cognito's `LambdaConfig` key; `world()` the WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    PreSignUp,
    PostConfirmation,
    PreAuthentication,
    PostAuthentication,
    PreTokenGeneration,
    CustomMessage,
    UserMigration,
    DefineAuthChallenge,
    CreateAuthChallenge,
    VerifyAuthChallengeResponse,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::PreSignUp,
        Kind::PostConfirmation,
        Kind::PreAuthentication,
        Kind::PostAuthentication,
        Kind::PreTokenGeneration,
        Kind::CustomMessage,
        Kind::UserMigration,
        Kind::DefineAuthChallenge,
        Kind::CreateAuthChallenge,
        Kind::VerifyAuthChallengeResponse,
    ];

    /// Cognito's name (`LambdaConfig` key), the stable name in the API and the log.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PreSignUp => "PreSignUp",
            Kind::PostConfirmation => "PostConfirmation",
            Kind::PreAuthentication => "PreAuthentication",
            Kind::PostAuthentication => "PostAuthentication",
            Kind::PreTokenGeneration => "PreTokenGeneration",
            Kind::CustomMessage => "CustomMessage",
            Kind::UserMigration => "UserMigration",
            Kind::DefineAuthChallenge => "DefineAuthChallenge",
            Kind::CreateAuthChallenge => "CreateAuthChallenge",
            Kind::VerifyAuthChallengeResponse => "VerifyAuthChallengeResponse",
        }
    }

    /// The WIT world (in `idp:triggers@1.0.0`) a component of this kind implements.
    pub fn world(self) -> &'static str {
        match self {
            Kind::PreSignUp => "pre-sign-up",
            Kind::PostConfirmation => "post-confirmation",
            Kind::PreAuthentication => "pre-authentication",
            Kind::PostAuthentication => "post-authentication",
            Kind::PreTokenGeneration => "pre-token-generation",
            Kind::CustomMessage => "custom-message",
            Kind::UserMigration => "user-migration",
            Kind::DefineAuthChallenge => "define-auth-challenge",
            Kind::CreateAuthChallenge => "create-auth-challenge",
            Kind::VerifyAuthChallengeResponse => "verify-auth-challenge",
        }
    }

    /// Accepts the Cognito name or the world name, case-insensitively, with `-`/`_` ignored
    /// (`PreSignUp`, `pre-sign-up`, `pre_sign_up`).
    pub fn parse(text: &str) -> Option<Kind> {
        let squash = |s: &str| s.chars().filter(|c| *c != '-' && *c != '_').collect::<String>().to_ascii_lowercase();
        let wanted = squash(text);
        Kind::ALL.into_iter().find(|k| squash(k.name()) == wanted || squash(k.world()) == wanted)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
            assert_eq!(Kind::parse(k.world()), Some(k));
        }
        assert_eq!(Kind::parse("pre_sign_up"), Some(Kind::PreSignUp));
        assert_eq!(Kind::parse("PreSignUps"), None);
    }
}
