//! Signed admin user operations (AdminCreateUser … AdminUserGlobalSignOut,
//! AdminListGroupsForUser, AddCustomAttributes) in Cognito's request and response shapes. Each
//! handler reads members, calls the `App` method the gRPC `AdminUsers` service calls, and shapes
//! the answer; the rules stay in the command path.

use idp_app::admin_users::CreateUserSpec;
use idp_app::App;
use idp_domain::pb::UserState;
use idp_domain::user_admin::MessageAction;
use serde_json::{json, Value};

use super::admin_ops::{epoch, schema_in};
use super::errors::CognitoError;
use super::group_ops::{group_out, page};
use super::input::{rules, Input};

/// The operations of this module (all SigV4-signed).
pub const OPS: &[&str] = &[
    "AdminCreateUser",
    "AdminGetUser",
    "AdminDeleteUser",
    "AdminDisableUser",
    "AdminEnableUser",
    "AdminConfirmSignUp",
    "AdminSetUserPassword",
    "AdminResetUserPassword",
    "AdminUpdateUserAttributes",
    "AdminDeleteUserAttributes",
    "AdminUserGlobalSignOut",
    "AdminListGroupsForUser",
    "AddCustomAttributes",
];

const MESSAGE_ACTIONS: &[&str] = &["RESEND", "SUPPRESS"];
const MEDIUMS: &[&str] = &["SMS", "EMAIL"];

/// Runs `op` if it is one of [`OPS`].
pub async fn dispatch(app: &App, op: &str, i: &Input<'_>, rid: &str) -> Option<Result<Value, CognitoError>> {
    Some(match op {
        "AdminCreateUser" => admin_create_user(app, i, rid).await,
        "AdminGetUser" => admin_get_user(app, i).await,
        "AdminDeleteUser" => simple(app, i, rid, Simple::Delete).await,
        "AdminDisableUser" => simple(app, i, rid, Simple::Disable).await,
        "AdminEnableUser" => simple(app, i, rid, Simple::Enable).await,
        "AdminConfirmSignUp" => simple(app, i, rid, Simple::Confirm).await,
        "AdminUserGlobalSignOut" => simple(app, i, rid, Simple::SignOut).await,
        "AdminResetUserPassword" => simple(app, i, rid, Simple::Reset).await,
        "AdminSetUserPassword" => admin_set_user_password(app, i, rid).await,
        "AdminUpdateUserAttributes" => admin_update_user_attributes(app, i, rid).await,
        "AdminDeleteUserAttributes" => admin_delete_user_attributes(app, i, rid).await,
        "AdminListGroupsForUser" => admin_list_groups_for_user(app, i).await,
        "AddCustomAttributes" => add_custom_attributes(app, i, rid).await,
        _ => return None,
    })
}

fn attributes_out(u: &UserState) -> Vec<Value> {
    let mut attrs = vec![json!({"Name": "sub", "Value": u.sub})];
    attrs.extend(u.attributes.iter().map(|(n, v)| json!({"Name": n, "Value": v})));
    attrs
}

/// A user as Cognito's `UserType`.
pub fn user_type(u: &UserState) -> Value {
    json!({
        "Username": u.username,
        "Attributes": attributes_out(u),
        "UserCreateDate": epoch(u.created_at_ms),
        "UserLastModifiedDate": epoch(u.updated_at_ms),
        "Enabled": u.enabled,
        "UserStatus": u.status,
    })
}

fn pool_and_user<'a>(i: &Input<'a>) -> Result<(&'a str, &'a str), CognitoError> {
    Ok((i.str("UserPoolId", rules::POOL_ID)?, i.str("Username", rules::USERNAME)?))
}

async fn admin_create_user(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    let action = match i.opt_enum("MessageAction", MESSAGE_ACTIONS)? {
        Some("RESEND") => MessageAction::Resend,
        Some(_) => MessageAction::Suppress,
        None => MessageAction::Send,
    };
    let mediums = i.opt_str_list("DesiredDeliveryMediums", rules::NAME, 2)?.unwrap_or_default();
    if mediums.iter().any(|m| !MEDIUMS.contains(&m.as_str())) {
        return Err(CognitoError::invalid(
            "1 validation error detected: Value at 'desiredDeliveryMediums' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [SMS, EMAIL]]",
        ));
    }
    i.attributes("ValidationData")?;
    i.string_map("ClientMetadata")?;
    i.opt_bool("ForceAliasCreation")?;
    let spec = CreateUserSpec {
        username: username.to_string(),
        temporary_password: i.opt_str("TemporaryPassword", rules::PASSWORD)?.map(str::to_string),
        attributes: i.attributes("UserAttributes")?,
        action,
        delivery_mediums: mediums,
    };
    let view = app.admin_create_user(pool_id, spec, rid).await?;
    let user = app.admin_get_user(pool_id, &view.username).await?;
    Ok(json!({ "User": user_type(&user) }))
}

async fn admin_get_user(app: &App, i: &Input<'_>) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    let u = app.admin_get_user(pool_id, username).await?;
    Ok(json!({
        "Username": u.username,
        "UserAttributes": attributes_out(&u),
        "UserCreateDate": epoch(u.created_at_ms),
        "UserLastModifiedDate": epoch(u.updated_at_ms),
        "Enabled": u.enabled,
        "UserStatus": u.status,
    }))
}

enum Simple {
    Delete,
    Disable,
    Enable,
    Confirm,
    SignOut,
    Reset,
}

/// The operations that take only a pool and a username (ClientMetadata is read and unused).
async fn simple(app: &App, i: &Input<'_>, rid: &str, op: Simple) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    i.string_map("ClientMetadata")?;
    match op {
        Simple::Delete => app.admin_delete_user(pool_id, username, rid).await?,
        Simple::Disable => app.admin_disable_user(pool_id, username, rid).await?,
        Simple::Enable => app.admin_enable_user(pool_id, username, rid).await?,
        Simple::Confirm => app.admin_confirm_sign_up(pool_id, username, rid).await?,
        Simple::SignOut => app.admin_user_global_sign_out(pool_id, username, rid).await?,
        Simple::Reset => app.admin_reset_user_password(pool_id, username, rid).await.map(|_| ())?,
    }
    Ok(json!({}))
}

async fn admin_set_user_password(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    let password = i.str("Password", rules::PASSWORD)?;
    let permanent = i.opt_bool("Permanent")?.unwrap_or(false);
    app.admin_set_user_password(pool_id, username, password, permanent, rid).await?;
    Ok(json!({}))
}

async fn admin_update_user_attributes(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    if i.opt_object_list("UserAttributes", 256)?.is_none() {
        return Err(CognitoError::invalid("1 validation error detected: Value null at 'userAttributes' failed to satisfy constraint: Member must not be null"));
    }
    let attributes = i.attributes("UserAttributes")?;
    i.string_map("ClientMetadata")?;
    app.admin_update_user_attributes(pool_id, username, attributes, rid).await?;
    Ok(json!({}))
}

async fn admin_delete_user_attributes(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    let names = i.opt_str_list("UserAttributeNames", rules::ATTRIBUTE_NAME, 256)?.ok_or_else(|| {
        CognitoError::invalid("1 validation error detected: Value null at 'userAttributeNames' failed to satisfy constraint: Member must not be null")
    })?;
    app.admin_delete_user_attributes(pool_id, username, names, rid).await?;
    Ok(json!({}))
}

async fn admin_list_groups_for_user(app: &App, i: &Input<'_>) -> Result<Value, CognitoError> {
    let (pool_id, username) = pool_and_user(i)?;
    let (limit, after) = page(i)?;
    let groups = app.admin_list_groups_for_user(pool_id, username, after, limit).await?;
    let next = (groups.len() == limit).then(|| groups.last().map(|g| g.group_name.clone())).flatten();
    let mut out = json!({ "Groups": groups.iter().map(group_out).collect::<Vec<_>>() });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

async fn add_custom_attributes(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let pool_id = i.str("UserPoolId", rules::POOL_ID)?;
    let attributes = schema_in(i, "CustomAttributes")?;
    if attributes.is_empty() {
        return Err(CognitoError::invalid(
            "1 validation error detected: Value null at 'customAttributes' failed to satisfy constraint: Member must not be null",
        ));
    }
    app.add_custom_attributes(pool_id, attributes, rid).await?;
    Ok(json!({}))
}
