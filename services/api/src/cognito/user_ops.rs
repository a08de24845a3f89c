//! Unsigned (`noAuth`) operations: sign-up, sign-in, challenges, tokens and the signed-in user's
//! own calls, authenticated by ClientId (+ SECRET_HASH), an access token, a refresh token or a
//! SECRET_BLOCK. Each handler reads members, calls the `App` method the gRPC `Users` service
//! calls, and shapes Cognito's answer.

use idp_app::auth::{AuthResult, InitiateOutcome};
use idp_app::users::CodeDelivery;
use idp_app::App;
use serde_json::{json, Value};

use super::errors::CognitoError;
use super::input::{rules, Input};

pub(crate) const AUTH_FLOWS: &[&str] = &[
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
];

pub(crate) const CHALLENGES: &[&str] = &[
    "SMS_MFA",
    "EMAIL_OTP",
    "SOFTWARE_TOKEN_MFA",
    "SELECT_MFA_TYPE",
    "MFA_SETUP",
    "PASSWORD_VERIFIER",
    "CUSTOM_CHALLENGE",
    "SELECT_CHALLENGE",
    "DEVICE_SRP_AUTH",
    "DEVICE_PASSWORD_VERIFIER",
    "ADMIN_NO_SRP_AUTH",
    "NEW_PASSWORD_REQUIRED",
    "SMS_OTP",
    "PASSWORD",
    "WEB_AUTHN",
    "PASSWORD_SRP",
];

fn delivery(d: &CodeDelivery) -> Value {
    json!({"Destination": d.destination, "DeliveryMedium": d.delivery_medium, "AttributeName": d.attribute_name})
}

fn tokens(t: &AuthResult) -> Value {
    let mut v = json!({
        "AccessToken": t.access_token,
        "ExpiresIn": t.expires_in,
        "TokenType": t.token_type,
        "IdToken": t.id_token,
    });
    if let Some(r) = &t.refresh_token {
        v["RefreshToken"] = json!(r);
    }
    v
}

/// InitiateAuth / RespondToAuthChallenge answer.
pub(crate) fn outcome(o: &InitiateOutcome) -> Value {
    match o {
        InitiateOutcome::Authenticated(t) => json!({"ChallengeParameters": {}, "AuthenticationResult": tokens(t)}),
        InitiateOutcome::Challenge { name, parameters, session } => {
            let mut v = json!({"ChallengeName": name, "ChallengeParameters": parameters});
            if let Some(s) = session {
                v["Session"] = json!(s);
            }
            v
        }
    }
}

fn client_id<'a>(input: &Input<'a>) -> Result<&'a str, CognitoError> {
    input.str("ClientId", rules::CLIENT_ID)
}

fn secret_hash<'a>(input: &Input<'a>) -> Result<Option<&'a str>, CognitoError> {
    input.opt_str("SecretHash", rules::SECRET_HASH)
}

fn access_token<'a>(input: &Input<'a>) -> Result<&'a str, CognitoError> {
    input.str("AccessToken", rules::TOKEN)
}

pub async fn sign_up(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (cid, sh) = (client_id(input)?, secret_hash(input)?);
    let username = input.str("Username", rules::USERNAME)?;
    let password = input.str("Password", rules::PASSWORD)?;
    let attributes = input.attributes("UserAttributes")?;
    let validation_data = input.attributes("ValidationData")?;
    let client_metadata: Vec<(String, String)> = input.string_map("ClientMetadata")?.into_iter().collect();
    let out = app.sign_up_with_data(cid, sh, username, password, attributes, validation_data, client_metadata, rid).await?;
    let mut v = json!({"UserConfirmed": out.user_confirmed, "UserSub": out.user_sub});
    if let Some(d) = &out.delivery {
        v["CodeDeliveryDetails"] = delivery(d);
    }
    Ok(v)
}

pub async fn confirm_sign_up(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (cid, sh) = (client_id(input)?, secret_hash(input)?);
    let username = input.str("Username", rules::USERNAME)?;
    let code = input.str("ConfirmationCode", rules::CODE)?;
    input.opt_bool("ForceAliasCreation")?;
    input.string_map("ClientMetadata")?;
    app.confirm_sign_up(cid, sh, username, code, rid).await?;
    Ok(json!({}))
}

pub async fn resend_confirmation_code(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (cid, sh) = (client_id(input)?, secret_hash(input)?);
    let username = input.str("Username", rules::USERNAME)?;
    input.string_map("ClientMetadata")?;
    let d = app.resend_confirmation_code(cid, sh, username, rid).await?;
    Ok(json!({"CodeDeliveryDetails": delivery(&d)}))
}

pub async fn initiate_auth(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let flow = input.enumeration("AuthFlow", AUTH_FLOWS)?;
    let cid = client_id(input)?;
    let params = input.string_map("AuthParameters")?;
    input.string_map("ClientMetadata")?;
    input.opt_str("Session", rules::SESSION)?;
    let out = app.initiate_auth(cid, flow, &params).await?;
    Ok(outcome(&out))
}

pub async fn respond_to_auth_challenge(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let cid = client_id(input)?;
    let name = input.enumeration("ChallengeName", CHALLENGES)?;
    let session = input.opt_str("Session", rules::SESSION)?;
    let responses = input.string_map("ChallengeResponses")?;
    input.string_map("ClientMetadata")?;
    let out = app.respond_to_auth_challenge(cid, name, &responses, session).await?;
    Ok(outcome(&out))
}

pub async fn get_tokens_from_refresh_token(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let token = input.str("RefreshToken", rules::TOKEN)?;
    let cid = client_id(input)?;
    let secret = input.opt_str("ClientSecret", rules::CLIENT_SECRET)?;
    input.string_map("ClientMetadata")?;
    let t = app.get_tokens_from_refresh_token(cid, secret, token).await?;
    Ok(json!({"AuthenticationResult": tokens(&t)}))
}

pub async fn revoke_token(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let token = input.str("Token", rules::TOKEN)?;
    let cid = client_id(input)?;
    let secret = input.opt_str("ClientSecret", rules::CLIENT_SECRET)?;
    app.revoke_token(cid, secret, token, rid).await?;
    Ok(json!({}))
}

pub async fn get_user(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let u = app.get_user(access_token(input)?).await?;
    let attributes: Vec<Value> = u.attributes.iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect();
    let mut v = json!({"Username": u.username, "UserAttributes": attributes, "MFAOptions": []});
    if !u.mfa_enabled.is_empty() {
        v["UserMFASettingList"] = json!(u.mfa_enabled);
    }
    if let Some(p) = &u.preferred_mfa {
        v["PreferredMfaSetting"] = json!(p);
    }
    Ok(v)
}

pub async fn update_user_attributes(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let token = access_token(input)?;
    if input.opt_object_list("UserAttributes", 256)?.is_none() {
        return Err(CognitoError::invalid("1 validation error detected: Value null at 'userAttributes' failed to satisfy constraint: Member must not be null"));
    }
    let attributes = input.attributes("UserAttributes")?;
    input.string_map("ClientMetadata")?;
    let list = app.update_user_attributes(token, attributes, rid).await?;
    Ok(json!({"CodeDeliveryDetailsList": list.iter().map(delivery).collect::<Vec<_>>()}))
}

pub async fn get_user_attribute_verification_code(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let token = access_token(input)?;
    let attribute = input.str("AttributeName", rules::ATTRIBUTE_NAME)?;
    input.string_map("ClientMetadata")?;
    let d = app.get_user_attribute_verification_code(token, attribute, rid).await?;
    Ok(json!({"CodeDeliveryDetails": delivery(&d)}))
}

pub async fn verify_user_attribute(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let token = access_token(input)?;
    let attribute = input.str("AttributeName", rules::ATTRIBUTE_NAME)?;
    let code = input.str("Code", rules::CODE)?;
    app.verify_user_attribute(token, attribute, code, rid).await?;
    Ok(json!({}))
}

pub async fn change_password(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let previous = input.str("PreviousPassword", rules::PASSWORD)?;
    let proposed = input.str("ProposedPassword", rules::PASSWORD)?;
    let token = access_token(input)?;
    app.change_password(token, previous, proposed, rid).await?;
    Ok(json!({}))
}

pub async fn forgot_password(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (cid, sh) = (client_id(input)?, secret_hash(input)?);
    let username = input.str("Username", rules::USERNAME)?;
    input.string_map("ClientMetadata")?;
    let d = app.forgot_password(cid, sh, username, rid).await?;
    Ok(json!({"CodeDeliveryDetails": delivery(&d)}))
}

pub async fn confirm_forgot_password(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (cid, sh) = (client_id(input)?, secret_hash(input)?);
    let username = input.str("Username", rules::USERNAME)?;
    let code = input.str("ConfirmationCode", rules::CODE)?;
    let password = input.str("Password", rules::PASSWORD)?;
    input.string_map("ClientMetadata")?;
    app.confirm_forgot_password(cid, sh, username, code, password, rid).await?;
    Ok(json!({}))
}

pub async fn global_sign_out(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    app.global_sign_out(access_token(input)?, rid).await?;
    Ok(json!({}))
}

pub async fn delete_user(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    app.delete_user(access_token(input)?, rid).await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn outcome_shapes() {
        let t = AuthResult { access_token: "a".into(), id_token: "i".into(), refresh_token: None, expires_in: 3600, token_type: "Bearer".into() };
        let v = outcome(&InitiateOutcome::Authenticated(t));
        assert_eq!(v["AuthenticationResult"]["ExpiresIn"], 3600);
        assert!(v["AuthenticationResult"].get("RefreshToken").is_none());
        assert_eq!(v["ChallengeParameters"], json!({}));
        let c = InitiateOutcome::Challenge {
            name: "PASSWORD_VERIFIER".into(),
            parameters: BTreeMap::from([("SALT".to_string(), "ab".to_string())]),
            session: None,
        };
        let v = outcome(&c);
        assert_eq!(v["ChallengeName"], "PASSWORD_VERIFIER");
        assert_eq!(v["ChallengeParameters"]["SALT"], "ab");
        assert!(v.get("Session").is_none());
    }
}
