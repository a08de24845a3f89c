//! Admin sign-in and MFA operations: AdminInitiateAuth, AdminRespondToAuthChallenge (signed),
//! AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference (unsigned: access token or
//! challenge session), AdminSetUserMFAPreference, SetUserPoolMfaConfig and
//! GetUserPoolMfaConfig (signed). Each handler reads members, calls the `App` method the gRPC
//! services call, and shapes Cognito's answer.

use idp_app::signin::MfaConfig;
use idp_app::App;
use idp_domain::signin::MethodPreference;
use serde_json::{json, Value};

use super::errors::CognitoError;
use super::input::{rules, Input};
use super::user_ops::{outcome, AUTH_FLOWS, CHALLENGES};

const MFA_MODES: &[&str] = &["OFF", "ON", "OPTIONAL"];

fn pool_id<'a>(input: &Input<'a>) -> Result<&'a str, CognitoError> {
    input.str("UserPoolId", rules::POOL_ID)
}

pub async fn admin_initiate_auth(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool = pool_id(input)?;
    let cid = input.str("ClientId", rules::CLIENT_ID)?;
    let flow = input.enumeration("AuthFlow", AUTH_FLOWS)?;
    let params = input.string_map("AuthParameters")?;
    input.string_map("ClientMetadata")?;
    input.opt_object("AnalyticsMetadata")?;
    input.opt_object("ContextData")?;
    let out = app.admin_initiate_auth(pool, cid, flow, &params).await?;
    Ok(outcome(&out))
}

pub async fn admin_respond_to_auth_challenge(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool = pool_id(input)?;
    let cid = input.str("ClientId", rules::CLIENT_ID)?;
    let name = input.enumeration("ChallengeName", CHALLENGES)?;
    let session = input.opt_str("Session", rules::SESSION)?;
    let responses = input.string_map("ChallengeResponses")?;
    input.string_map("ClientMetadata")?;
    input.opt_object("AnalyticsMetadata")?;
    input.opt_object("ContextData")?;
    let out = app.admin_respond_to_auth_challenge(pool, cid, name, &responses, session).await?;
    Ok(outcome(&out))
}

pub async fn associate_software_token(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let token = input.opt_str("AccessToken", rules::TOKEN)?;
    let session = input.opt_str("Session", rules::SESSION)?;
    let (secret, next) = app.associate_software_token(token, session).await?;
    let mut v = json!({"SecretCode": secret});
    if let Some(s) = next {
        v["Session"] = json!(s);
    }
    Ok(v)
}

pub async fn verify_software_token(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let token = input.opt_str("AccessToken", rules::TOKEN)?;
    let session = input.opt_str("Session", rules::SESSION)?;
    let code = input.str("UserCode", rules::CODE)?;
    let name = input.opt_str("FriendlyDeviceName", rules::MAP_VALUE)?.unwrap_or("");
    let next = app.verify_software_token(token, session, code, name).await?;
    let mut v = json!({"Status": "SUCCESS"});
    if let Some(s) = next {
        v["Session"] = json!(s);
    }
    Ok(v)
}

fn preference(input: &Input<'_>, key: &str) -> Result<MethodPreference, CognitoError> {
    Ok(match input.opt_object(key)? {
        Some(o) => MethodPreference { enabled: o.opt_bool("Enabled")?, preferred: o.opt_bool("PreferredMfa")? },
        None => MethodPreference::default(),
    })
}

fn preferences(input: &Input<'_>) -> Result<(MethodPreference, MethodPreference, MethodPreference), CognitoError> {
    Ok((preference(input, "SMSMfaSettings")?, preference(input, "SoftwareTokenMfaSettings")?, preference(input, "EmailMfaSettings")?))
}

pub async fn set_user_mfa_preference(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let token = input.str("AccessToken", rules::TOKEN)?;
    let (sms, totp, email) = preferences(input)?;
    app.set_user_mfa_preference(token, sms, totp, email).await?;
    Ok(json!({}))
}

pub async fn admin_set_user_mfa_preference(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool = pool_id(input)?;
    let username = input.str("Username", rules::USERNAME)?;
    let (sms, totp, email) = preferences(input)?;
    app.admin_set_user_mfa_preference(pool, username, sms, totp, email).await?;
    Ok(json!({}))
}

fn mfa_config_out(c: &MfaConfig) -> Value {
    let mut v = json!({
        "MfaConfiguration": c.mfa_configuration,
        "SoftwareTokenMfaConfiguration": {"Enabled": c.software_token_enabled},
    });
    if c.sms_enabled {
        let mut sms = json!({});
        if !c.sms_message.is_empty() {
            sms["SmsAuthenticationMessage"] = json!(c.sms_message);
        }
        v["SmsMfaConfiguration"] = sms;
    }
    if c.email_enabled {
        let mut email = json!({});
        if !c.email_message.is_empty() {
            email["Message"] = json!(c.email_message);
        }
        if !c.email_subject.is_empty() {
            email["Subject"] = json!(c.email_subject);
        }
        v["EmailMfaConfiguration"] = email;
    }
    v
}

pub async fn set_user_pool_mfa_config(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let pool = pool_id(input)?;
    let current = app.get_user_pool_mfa_config(pool).await?;
    let mode = input.opt_enum("MfaConfiguration", MFA_MODES)?.unwrap_or(current.mfa_configuration.as_str()).to_string();
    let totp = match input.opt_object("SoftwareTokenMfaConfiguration")? {
        Some(o) => Some(o.opt_bool("Enabled")?.unwrap_or(false)),
        None => None,
    };
    // Cognito has no Enabled flag for SMS and email: a configuration present enables the
    // method, an absent one disables it.
    let sms = match input.opt_object("SmsMfaConfiguration")? {
        Some(o) => {
            o.opt_object("SmsConfiguration")?;
            Some((true, o.opt_str("SmsAuthenticationMessage", rules::MAP_VALUE)?.unwrap_or("").to_string()))
        }
        None => Some((false, String::new())),
    };
    let email = match input.opt_object("EmailMfaConfiguration")? {
        Some(o) => {
            Some((true, o.opt_str("Message", rules::MAP_VALUE)?.unwrap_or("").to_string(), o.opt_str("Subject", rules::MAP_VALUE)?.unwrap_or("").to_string()))
        }
        None => Some((false, String::new(), String::new())),
    };
    input.opt_object("WebAuthnConfiguration")?;
    let c = app.set_user_pool_mfa_config(pool, &mode, totp, sms, email, rid).await?;
    Ok(mfa_config_out(&c))
}

pub async fn get_user_pool_mfa_config(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let c = app.get_user_pool_mfa_config(pool_id(input)?).await?;
    Ok(mfa_config_out(&c))
}
