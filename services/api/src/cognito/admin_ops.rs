//! Signed operations: user pools and app clients, in Cognito's request and response shapes.
//! Each handler reads members, calls the `App` method the gRPC `Admin` service calls, and
//! shapes the answer; rules (defaults, bounds, existence) stay in the command path.

use idp_app::admin::{ClientSpec, ClientView, PoolPatch, PoolSpec};
use idp_app::App;
use idp_domain::pb::{PasswordPolicy, PoolSettings, PoolState, SchemaAttribute, TokenValidity};
use idp_domain::pool::{default_password_policy, effective_validity};
use serde_json::{json, Value};

use super::errors::CognitoError;
use super::input::{rules, Chars, Input, Rule};

/// The account id in ARNs (a self-hosted deployment has no AWS account).
pub const ACCOUNT_ID: &str = "000000000000";

const DATA_TYPES: &[&str] = &["String", "Number", "DateTime", "Boolean"];
const VERIFIABLE: &[&str] = &["email", "phone_number"];
const UNITS: &[&str] = &["seconds", "minutes", "hours", "days"];
const PREVENT: &[&str] = &["LEGACY", "ENABLED"];

/// Epoch seconds as Cognito's timestamps (a JSON number with a fraction).
pub fn epoch(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn region_of(pool_id: &str) -> &str {
    pool_id.split_once('_').map(|(r, _)| r).unwrap_or("")
}

fn password_policy_in(p: &Input<'_>) -> Result<PasswordPolicy, CognitoError> {
    let d = idp_domain::pool::default_password_policy();
    Ok(PasswordPolicy {
        minimum_length: p.opt_int("MinimumLength", 6, 99)?.map(|n| n as u32).unwrap_or(d.minimum_length),
        require_uppercase: p.opt_bool("RequireUppercase")?.unwrap_or(false),
        require_lowercase: p.opt_bool("RequireLowercase")?.unwrap_or(false),
        require_numbers: p.opt_bool("RequireNumbers")?.unwrap_or(false),
        require_symbols: p.opt_bool("RequireSymbols")?.unwrap_or(false),
        temporary_password_validity_days: p.opt_int("TemporaryPasswordValidityDays", 0, 365)?.map(|n| n as u32).unwrap_or(d.temporary_password_validity_days),
    })
}

/// `Policies.PasswordPolicy`, when given.
fn policies_in(input: &Input<'_>) -> Result<Option<PasswordPolicy>, CognitoError> {
    match input.opt_object("Policies")? {
        Some(p) => match p.opt_object("PasswordPolicy")? {
            Some(pp) => password_policy_in(&pp).map(Some),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

fn length_constraint(c: &Input<'_>, key: &str) -> Result<u32, CognitoError> {
    match c.opt_str(key, Rule::new(1, 10, Chars::NonSpace))? {
        None => Ok(0),
        Some(s) => s.parse::<u32>().map_err(|_| CognitoError::invalid(format!("StringAttributeConstraints.{key} must be a number."))),
    }
}

fn number_constraint(c: &Input<'_>, key: &str) -> Result<Option<i64>, CognitoError> {
    match c.opt_str(key, Rule::new(1, 20, Chars::NonSpace))? {
        None => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).map_err(|_| CognitoError::invalid(format!("NumberAttributeConstraints.{key} must be an integer."))),
    }
}

/// Schema attributes (`SchemaAttributeType`) under `key` (`Schema`, `CustomAttributes`).
pub(crate) fn schema_in(input: &Input<'_>, key: &str) -> Result<Vec<SchemaAttribute>, CognitoError> {
    let mut out = Vec::new();
    for a in input.opt_object_list(key, 50)?.unwrap_or_default() {
        let (min_length, max_length) = match a.opt_object("StringAttributeConstraints")? {
            Some(c) => (length_constraint(&c, "MinLength")?, length_constraint(&c, "MaxLength")?),
            None => (0, 0),
        };
        let (min_value, max_value) = match a.opt_object("NumberAttributeConstraints")? {
            Some(c) => (number_constraint(&c, "MinValue")?, number_constraint(&c, "MaxValue")?),
            None => (None, None),
        };
        out.push(SchemaAttribute {
            name: a.str("Name", Rule::new(1, 20, Chars::Visible))?.to_string(),
            data_type: a.opt_enum("AttributeDataType", DATA_TYPES)?.unwrap_or("String").to_string(),
            required: a.opt_bool("Required")?.unwrap_or(false),
            mutable: a.opt_bool("Mutable")?.unwrap_or(true),
            min_length,
            max_length,
            developer_only: a.opt_bool("DeveloperOnlyAttribute")?.unwrap_or(false),
            min_value,
            max_value,
        });
    }
    Ok(out)
}

fn policy_out(p: &PasswordPolicy) -> Value {
    json!({
        "MinimumLength": p.minimum_length,
        "RequireUppercase": p.require_uppercase,
        "RequireLowercase": p.require_lowercase,
        "RequireNumbers": p.require_numbers,
        "RequireSymbols": p.require_symbols,
        "TemporaryPasswordValidityDays": p.temporary_password_validity_days,
    })
}

fn schema_out(a: &SchemaAttribute) -> Value {
    let mut v = json!({
        "Name": a.name,
        "AttributeDataType": a.data_type,
        "DeveloperOnlyAttribute": a.developer_only,
        "Mutable": a.mutable,
        "Required": a.required,
    });
    if a.data_type == "String" {
        let max = if a.max_length == 0 { 2048 } else { a.max_length };
        v["StringAttributeConstraints"] = json!({"MinLength": a.min_length.to_string(), "MaxLength": max.to_string()});
    } else if a.data_type == "Number" {
        let mut c = json!({});
        if let Some(min) = a.min_value {
            c["MinValue"] = json!(min.to_string());
        }
        if let Some(max) = a.max_value {
            c["MaxValue"] = json!(max.to_string());
        }
        v["NumberAttributeConstraints"] = c;
    }
    v
}

/// A pool as Cognito's `UserPoolType`.
pub fn user_pool_out(p: &PoolState) -> Value {
    let s: PoolSettings = p.settings.clone().unwrap_or_default();
    let updated = if p.updated_at_ms > 0 { p.updated_at_ms } else { p.created_at_ms };
    json!({
        "Id": p.pool_id,
        "Name": s.name,
        "Arn": format!("arn:aws:cognito-idp:{}:{ACCOUNT_ID}:userpool/{}", region_of(&p.pool_id), p.pool_id),
        "Policies": {
            "PasswordPolicy": policy_out(&s.password_policy.unwrap_or_default()),
            "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]},
        },
        "DeletionProtection": "INACTIVE",
        "LambdaConfig": {},
        "LastModifiedDate": epoch(updated),
        "CreationDate": epoch(p.created_at_ms),
        "SchemaAttributes": s.schema.iter().map(schema_out).collect::<Vec<_>>(),
        "AutoVerifiedAttributes": s.auto_verified_attributes,
        "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"},
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": []},
        "MfaConfiguration": if s.mfa_configuration.is_empty() { "OFF".to_string() } else { s.mfa_configuration.clone() },
        "EstimatedNumberOfUsers": 0,
        "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": false, "UnusedAccountValidityDays": s.password_policy.as_ref().map(|p| p.temporary_password_validity_days).unwrap_or(7)},
        "UsernameConfiguration": {"CaseSensitive": s.username_case_sensitive},
        "AccountRecoverySetting": {"RecoveryMechanisms": [
            {"Priority": 1, "Name": "verified_email"},
            {"Priority": 2, "Name": "verified_phone_number"},
        ]},
    })
}

/// Seconds per validity unit.
fn unit_secs(unit: &str) -> u64 {
    match unit {
        "seconds" => 1,
        "minutes" => 60,
        "days" => 86_400,
        _ => 3600,
    }
}

/// The largest unit that expresses `secs` exactly.
fn unit_of(secs: u64) -> (&'static str, u64) {
    for (name, n) in [("days", 86_400), ("hours", 3600), ("minutes", 60)] {
        if secs > 0 && secs.checked_rem(n) == Some(0) {
            return (name, secs / n);
        }
    }
    ("seconds", secs)
}

/// `AccessTokenValidity`/`IdTokenValidity`/`RefreshTokenValidity` + `TokenValidityUnits` → seconds
/// (0 = not given: the pool default applies).
fn validity_in(input: &Input<'_>) -> Result<Option<TokenValidity>, CognitoError> {
    let access = input.opt_int("AccessTokenValidity", 1, 86_400)?;
    let id = input.opt_int("IdTokenValidity", 1, 86_400)?;
    let refresh = input.opt_int("RefreshTokenValidity", 0, 315_360_000)?;
    if access.is_none() && id.is_none() && refresh.is_none() {
        return Ok(None);
    }
    let units = input.opt_object("TokenValidityUnits")?;
    let unit = |key: &str, default: &str| -> Result<u64, CognitoError> {
        let u = match &units {
            Some(u) => u.opt_enum(key, UNITS)?,
            None => None,
        };
        Ok(unit_secs(u.unwrap_or(default)))
    };
    let secs = |v: Option<i64>, per: u64| v.map(|v| v.max(0) as u64 * per).unwrap_or(0);
    Ok(Some(TokenValidity {
        access_token_secs: secs(access, unit("AccessToken", "hours")?),
        id_token_secs: secs(id, unit("IdToken", "hours")?),
        refresh_token_secs: secs(refresh, unit("RefreshToken", "days")?),
    }))
}

/// An app client as Cognito's `UserPoolClientType`.
pub fn client_out(v: &ClientView) -> Value {
    let s = v.state.settings.clone().unwrap_or_default();
    let t = effective_validity(&PoolSettings::default(), s.token_validity.as_ref());
    let (a_unit, a) = unit_of(t.access_token_secs);
    let (i_unit, i) = unit_of(t.id_token_secs);
    let (r_unit, r) = unit_of(t.refresh_token_secs);
    let mut out = json!({
        "UserPoolId": v.state.pool_id,
        "ClientName": s.name,
        "ClientId": v.state.client_id,
        "LastModifiedDate": epoch(v.state.created_at_ms),
        "CreationDate": epoch(v.state.created_at_ms),
        "RefreshTokenValidity": r,
        "AccessTokenValidity": a,
        "IdTokenValidity": i,
        "TokenValidityUnits": {"AccessToken": a_unit, "IdToken": i_unit, "RefreshToken": r_unit},
        "ExplicitAuthFlows": s.explicit_auth_flows,
        "PreventUserExistenceErrors": if s.prevent_user_existence_errors == Some(true) { "ENABLED" } else { "LEGACY" },
        "EnableTokenRevocation": true,
        "EnablePropagateAdditionalUserContextData": false,
        "AllowedOAuthFlowsUserPoolClient": false,
        "AuthSessionValidity": 3,
    });
    if let Some(secret) = &v.secret {
        out["ClientSecret"] = json!(secret);
    }
    out
}

fn page_token(items: &[(String, String)], limit: usize) -> Option<String> {
    (items.len() == limit).then(|| items.last().map(|i| i.0.clone())).flatten()
}

pub async fn create_user_pool(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let spec = PoolSpec {
        name: input.str("PoolName", rules::NAME)?.to_string(),
        password_policy: policies_in(input)?,
        schema: schema_in(input, "Schema")?,
        auto_verified_attributes: verifiable_list(input)?.unwrap_or_default(),
        username_case_sensitive: match input.opt_object("UsernameConfiguration")? {
            Some(u) => u.opt_bool("CaseSensitive")?,
            None => None,
        },
        token_validity: None,
        prevent_user_existence_errors: None,
    };
    let pool = app.create_user_pool(spec, rid).await?;
    Ok(json!({ "UserPool": user_pool_out(&pool) }))
}

fn verifiable_list(input: &Input<'_>) -> Result<Option<Vec<String>>, CognitoError> {
    let list = input.opt_str_list("AutoVerifiedAttributes", Rule::new(1, 32, Chars::Visible), 2)?;
    if let Some(items) = &list {
        if items.iter().any(|a| !VERIFIABLE.contains(&a.as_str())) {
            return Err(CognitoError::invalid(
                "1 validation error detected: Value at 'autoVerifiedAttributes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [phone_number, email]]",
            ));
        }
    }
    Ok(list)
}

pub async fn describe_user_pool(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool = app.describe_user_pool(input.str("UserPoolId", rules::POOL_ID)?).await?;
    Ok(json!({ "UserPool": user_pool_out(&pool) }))
}

/// UpdateUserPool with Cognito's semantics: a member left out is set to its default, not kept
/// (no Policies → the default password policy, no AutoVerifiedAttributes → none). Only
/// MfaConfiguration, when present, goes through SetUserPoolMfaConfig's path (methods kept);
/// when absent the mode is left as it is (Cognito would reset it to OFF).
pub async fn update_user_pool(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let pool_id = input.str("UserPoolId", rules::POOL_ID)?;
    let patch = PoolPatch {
        password_policy: Some(policies_in(input)?.unwrap_or_else(default_password_policy)),
        auto_verified_attributes: Some(verifiable_list(input)?.unwrap_or_default()),
        token_validity: None,
        prevent_user_existence_errors: None,
    };
    let mfa = input.opt_enum("MfaConfiguration", &["OFF", "ON", "OPTIONAL"])?;
    if let Some(lambda) = input.opt_object("LambdaConfig")? {
        if lambda.has_members() {
            return Err(CognitoError::invalid(
                "LambdaConfig is not supported: triggers are WebAssembly components deployed with DeployTrigger (docs/triggers.md).",
            ));
        }
    }
    // The MFA mode first: it is the change the domain may refuse (ON with no method enabled),
    // and a refusal must leave the policy untouched too.
    // Request ids are deduplicated per aggregate, and both writes go to the pool: the MFA write
    // gets a key of its own derived from the caller's, so a retry skips each write once.
    if let Some(mode) = mfa {
        let mfa_rid = if rid.is_empty() { String::new() } else { format!("{rid}/mfa") };
        app.set_user_pool_mfa_config(pool_id, mode, None, None, None, &mfa_rid).await?;
    }
    app.update_user_pool(pool_id, patch, rid).await?;
    Ok(json!({}))
}

pub async fn delete_user_pool(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    app.delete_user_pool(input.str("UserPoolId", rules::POOL_ID)?, rid).await?;
    Ok(json!({}))
}

pub async fn list_user_pools(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let limit = input
        .opt_int("MaxResults", 1, 60)?
        .ok_or_else(|| CognitoError::invalid("1 validation error detected: Value null at 'maxResults' failed to satisfy constraint: Member must not be null"))?
        as usize;
    let after = input.opt_str("NextToken", rules::NEXT_TOKEN)?;
    let pools = app.list_pools(after, limit).await?;
    let mut out = json!({
        "UserPools": pools.iter().map(|(id, name)| json!({"Id": id, "Name": name, "LambdaConfig": {}})).collect::<Vec<_>>(),
    });
    if let Some(next) = page_token(&pools, limit) {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

pub async fn create_user_pool_client(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let spec = ClientSpec {
        pool_id: input.str("UserPoolId", rules::POOL_ID)?.to_string(),
        name: input.str("ClientName", rules::NAME)?.to_string(),
        generate_secret: input.opt_bool("GenerateSecret")?.unwrap_or(false),
        explicit_auth_flows: input.opt_str_list("ExplicitAuthFlows", Rule::new(1, 64, Chars::Visible), 8)?.unwrap_or_default(),
        token_validity: validity_in(input)?,
        prevent_user_existence_errors: input.opt_enum("PreventUserExistenceErrors", PREVENT)?.map(|v| v == "ENABLED"),
    };
    let client = app.create_user_pool_client(spec, rid).await?;
    Ok(json!({ "UserPoolClient": client_out(&client) }))
}

pub async fn describe_user_pool_client(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool_id = input.str("UserPoolId", rules::POOL_ID)?;
    let client_id = input.str("ClientId", rules::CLIENT_ID)?;
    let client = app.describe_user_pool_client(pool_id, client_id).await?;
    Ok(json!({ "UserPoolClient": client_out(&client) }))
}

pub async fn list_user_pool_clients(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool_id = input.str("UserPoolId", rules::POOL_ID)?;
    let limit = input.opt_int("MaxResults", 1, 60)?.unwrap_or(60) as usize;
    let after = input.opt_str("NextToken", rules::NEXT_TOKEN)?;
    app.describe_user_pool(pool_id).await?;
    let clients = app.list_clients(pool_id, after, limit).await?;
    let mut out = json!({
        "UserPoolClients": clients
            .iter()
            .map(|(id, name)| json!({"ClientId": id, "UserPoolId": pool_id, "ClientName": name}))
            .collect::<Vec<_>>(),
    });
    if let Some(next) = page_token(&clients, limit) {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

pub async fn delete_user_pool_client(app: &App, input: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let pool_id = input.str("UserPoolId", rules::POOL_ID)?;
    let client_id = input.str("ClientId", rules::CLIENT_ID)?;
    app.delete_user_pool_client(pool_id, client_id, rid).await?;
    Ok(json!({}))
}

/// ListUsers: `Filter` (Cognito's grammar, parsed and served from the search index by the
/// command path), `AttributesToGet`, `Limit` (1..=60, default 60), `PaginationToken`.
pub async fn list_users(app: &App, input: &Input<'_>) -> Result<Value, CognitoError> {
    let pool_id = input.str("UserPoolId", rules::POOL_ID)?;
    let limit = input.opt_int("Limit", 1, 60)?.unwrap_or(60) as usize;
    let after = input.opt_str("PaginationToken", rules::NEXT_TOKEN)?;
    let filter = input.opt_str("Filter", rules::FILTER)?.unwrap_or("");
    let wanted = input.opt_str_list("AttributesToGet", rules::ATTRIBUTE_NAME, 64)?;
    let page = app.list_users(pool_id, filter, after, limit).await?;
    let mut out = json!({
        "Users": page
            .users
            .into_iter()
            .map(|u| {
                let mut attrs: Vec<(String, String)> = u.attributes.clone().into_iter().collect();
                attrs.insert(0, ("sub".to_string(), u.sub.clone()));
                if let Some(w) = &wanted {
                    attrs.retain(|(n, _)| w.contains(n));
                }
                json!({
                    "Username": u.username,
                    "Attributes": attrs.into_iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
                    "UserCreateDate": epoch(u.created_at_ms),
                    "UserLastModifiedDate": epoch(u.updated_at_ms),
                    "Enabled": u.enabled,
                    "UserStatus": u.status,
                })
            })
            .collect::<Vec<_>>(),
    });
    if let Some(next) = page.pagination_token {
        out["PaginationToken"] = json!(next);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(unit_of(3600), ("hours", 1));
        assert_eq!(unit_of(30 * 86_400), ("days", 30));
        assert_eq!(unit_of(300), ("minutes", 5));
        assert_eq!(unit_of(301), ("seconds", 301));
    }

    #[test]
    fn validity_members() {
        let v = serde_json::json!({"AccessTokenValidity": 30, "RefreshTokenValidity": 7, "TokenValidityUnits": {"AccessToken": "minutes"}});
        let t = validity_in(&Input::root(&v)).ok().flatten().unwrap_or_default();
        assert_eq!((t.access_token_secs, t.id_token_secs, t.refresh_token_secs), (1800, 0, 7 * 86_400));
        let none = serde_json::json!({"TokenValidityUnits": {"AccessToken": "minutes"}});
        assert!(validity_in(&Input::root(&none)).is_ok_and(|t| t.is_none()));
        let bad = serde_json::json!({"AccessTokenValidity": 1, "TokenValidityUnits": {"AccessToken": "weeks"}});
        assert!(validity_in(&Input::root(&bad)).is_err());
    }

    #[test]
    fn pool_shape() {
        let pool = PoolState {
            pool_id: "eu-west-1_Abc123".into(),
            settings: Some(idp_domain::pool::default_settings("p")),
            created_at_ms: 1_700_000_000_500,
            ..Default::default()
        };
        let v = user_pool_out(&pool);
        assert_eq!(v["Arn"], "arn:aws:cognito-idp:eu-west-1:000000000000:userpool/eu-west-1_Abc123");
        assert_eq!(v["CreationDate"], 1_700_000_000.5);
        assert_eq!(v["Policies"]["PasswordPolicy"]["MinimumLength"], 8);
        assert!(v["SchemaAttributes"].as_array().is_some_and(|a| a.iter().any(|x| x["Name"] == "email")));
    }
}
