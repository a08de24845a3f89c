//! Rules a trigger's answer must follow; a violation is `InvalidLambdaResponseException`.
//! (Anything the canonical ABI cannot even read is refused before these run.)

use crate::bindings::types as t;

/// Claims a pre-token-generation trigger may not add, override or suppress.
pub const RESERVED_CLAIMS: &[&str] = &[
    "acr",
    "amr",
    "aud",
    "auth_time",
    "azp",
    "exp",
    "iat",
    "identities",
    "iss",
    "sub",
    "token_use",
    "nonce",
    "at_hash",
    "cognito:username",
    "jti",
    "origin_jti",
    "event_id",
    "client_id",
    "scope",
    "username",
    "cognito:groups",
];
/// Longest claim or attribute name, and value.
pub const MAX_NAME_BYTES: usize = 128;
pub const MAX_VALUE_BYTES: usize = 2048;
/// Most claims / attributes / groups in one answer.
pub const MAX_ITEMS: usize = 100;
/// Cognito's limits on custom messages (characters).
pub const MAX_EMAIL_MESSAGE_CHARS: usize = 20_000;
pub const MAX_EMAIL_SUBJECT_CHARS: usize = 140;
pub const MAX_SMS_MESSAGE_CHARS: usize = 1600;

/// No answer to check.
pub fn none<E>(_event: &E, _out: &()) -> Result<(), String> {
    Ok(())
}

/// Checked by the caller.
pub fn any<E, R>(_event: &E, _out: &R) -> Result<(), String> {
    Ok(())
}

/// Longest challenge name and challenge metadata.
pub const MAX_CHALLENGE_NAME_BYTES: usize = 64;
pub const MAX_CHALLENGE_METADATA_BYTES: usize = 2048;

pub fn define_auth_challenge(_event: &t::DefineAuthChallengeEvent, out: &t::DefineAuthChallengeResponse) -> Result<(), String> {
    if out.issue_tokens && out.fail_authentication {
        return Err("issueTokens and failAuthentication are both set.".into());
    }
    if out.challenge_name.len() > MAX_CHALLENGE_NAME_BYTES || out.challenge_name.chars().any(char::is_control) {
        return Err("invalid challengeName.".into());
    }
    if !out.issue_tokens && !out.fail_authentication && out.challenge_name.is_empty() {
        return Err("neither a challengeName, nor issueTokens, nor failAuthentication.".into());
    }
    Ok(())
}

pub fn create_auth_challenge(_event: &t::CreateAuthChallengeEvent, out: &t::CreateAuthChallengeResponse) -> Result<(), String> {
    check_pairs("public challenge parameter", &out.public_challenge_parameters)?;
    check_pairs("private challenge parameter", &out.private_challenge_parameters)?;
    if out.challenge_metadata.len() > MAX_CHALLENGE_METADATA_BYTES {
        return Err(format!("challengeMetadata is longer than {MAX_CHALLENGE_METADATA_BYTES} bytes."));
    }
    Ok(())
}

fn has(attrs: &[(String, String)], name: &str) -> bool {
    attrs.iter().any(|(n, v)| n == name && !v.is_empty())
}

pub fn pre_sign_up(event: &t::PreSignUpEvent, out: &t::PreSignUpResponse) -> Result<(), String> {
    let attrs = &event.request.user_attributes;
    if out.auto_verify_email && !has(attrs, "email") {
        return Err("autoVerifyEmail is set but the user has no email.".into());
    }
    if out.auto_verify_phone && !has(attrs, "phone_number") {
        return Err("autoVerifyPhone is set but the user has no phone_number.".into());
    }
    Ok(())
}

fn check_pairs(what: &str, pairs: &[(String, String)]) -> Result<(), String> {
    if pairs.len() > MAX_ITEMS {
        return Err(format!("too many {what} ({} > {MAX_ITEMS}).", pairs.len()));
    }
    for (name, value) in pairs {
        if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
            return Err(format!("invalid {what} name {name:?}."));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!("the value of {what} {name} is longer than {MAX_VALUE_BYTES} bytes."));
        }
    }
    Ok(())
}

fn check_names(what: &str, names: &[String]) -> Result<(), String> {
    if names.len() > MAX_ITEMS {
        return Err(format!("too many {what} ({} > {MAX_ITEMS}).", names.len()));
    }
    match names.iter().find(|n| n.is_empty() || n.len() > MAX_NAME_BYTES || n.chars().any(char::is_control)) {
        Some(bad) => Err(format!("invalid {what} {bad:?}.")),
        None => Ok(()),
    }
}

pub fn pre_token_generation(_event: &t::PreTokenGenerationEvent, out: &t::PreTokenGenerationResponse) -> Result<(), String> {
    check_pairs("claim", &out.claims_to_add_or_override)?;
    check_names("claim to suppress", &out.claims_to_suppress)?;
    let touched = out.claims_to_add_or_override.iter().map(|(n, _)| n).chain(out.claims_to_suppress.iter());
    for name in touched {
        if RESERVED_CLAIMS.contains(&name.as_str()) {
            return Err(format!("claim {name} cannot be added, overridden or suppressed."));
        }
    }
    if let Some(g) = &out.group_override_details {
        check_names("group", &g.groups_to_override)?;
        check_names("IAM role", &g.iam_roles_to_override)?;
    }
    Ok(())
}

pub fn custom_message(event: &t::CustomMessageEvent, out: &t::CustomMessageResponse) -> Result<(), String> {
    let code = &event.request.code_parameter;
    let check = |what: &str, text: &Option<String>, max: usize, needs_code: bool| -> Result<(), String> {
        let Some(text) = text else { return Ok(()) };
        if text.chars().count() > max {
            return Err(format!("{what} is longer than {max} characters."));
        }
        if needs_code && !code.is_empty() && !text.contains(code.as_str()) {
            return Err(format!("{what} does not contain the code placeholder {code}."));
        }
        Ok(())
    };
    check("emailMessage", &out.email_message, MAX_EMAIL_MESSAGE_CHARS, true)?;
    check("smsMessage", &out.sms_message, MAX_SMS_MESSAGE_CHARS, true)?;
    check("emailSubject", &out.email_subject, MAX_EMAIL_SUBJECT_CHARS, false)?;
    if out.email_subject.as_deref().is_some_and(|s| s.contains(['\r', '\n'])) {
        return Err("emailSubject must be one line.".into());
    }
    Ok(())
}

pub fn user_migration(_event: &t::UserMigrationEvent, out: &t::UserMigrationResponse) -> Result<(), String> {
    check_pairs("attribute", &out.user_attributes)?;
    if let Some((name, _)) = out.user_attributes.iter().find(|(n, _)| n == "sub" || n == "username" || n == "cognito:username") {
        return Err(format!("attribute {name} cannot be set by a migration."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn pre_token_generation_refuses_reserved_and_oversized_claims() {
        let event = t::PreTokenGenerationEvent {
            version: "1".into(),
            trigger_source: "TokenGeneration_Authentication".into(),
            region: "r".into(),
            user_pool_id: "p".into(),
            user_name: "u".into(),
            caller_context: t::CallerContext { aws_sdk_version: String::new(), client_id: "c".into() },
            request: t::PreTokenGenerationRequest {
                user_attributes: vec![],
                group_configuration: t::GroupConfiguration { groups_to_override: vec![], iam_roles_to_override: vec![], preferred_role: None },
                client_metadata: vec![],
            },
            response: t::PreTokenGenerationResponse { claims_to_add_or_override: vec![], claims_to_suppress: vec![], group_override_details: None },
        };
        let mut out = event.response.clone();
        out.claims_to_add_or_override = pairs(&[("tenant", "acme")]);
        assert!(pre_token_generation(&event, &out).is_ok());
        out.claims_to_add_or_override = pairs(&[("sub", "someone-else")]);
        assert!(pre_token_generation(&event, &out).is_err());
        out.claims_to_add_or_override = vec![("big".into(), "x".repeat(MAX_VALUE_BYTES + 1))];
        assert!(pre_token_generation(&event, &out).is_err());
        out.claims_to_add_or_override = vec![];
        out.claims_to_suppress = vec!["iss".into()];
        assert!(pre_token_generation(&event, &out).is_err());
    }
}
