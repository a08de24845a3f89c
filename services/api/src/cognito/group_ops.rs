//! Signed group operations (CreateGroup … ListUsersInGroup) in Cognito's request and response
//! shapes, over the `App` methods the gRPC `Groups` service calls.

use idp_app::groups::GroupPatch;
use idp_app::App;
use idp_domain::pb::{GroupSettings, GroupState};
use serde_json::{json, Value};

use super::admin_ops::epoch;
use super::admin_user_ops::user_type;
use super::errors::CognitoError;
use super::input::{rules, Chars, Input, Rule};

/// The operations of this module (all SigV4-signed).
pub const OPS: &[&str] =
    &["CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "ListGroups", "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "ListUsersInGroup"];

const GROUP_NAME: Rule = Rule::new(1, 128, Chars::Visible);
const DESCRIPTION: Rule = Rule::new(0, 2048, Chars::Any);
const ROLE_ARN: Rule = Rule::new(20, 2048, Chars::NonSpace);

/// Runs `op` if it is one of [`OPS`].
pub async fn dispatch(app: &App, op: &str, i: &Input<'_>, rid: &str) -> Option<Result<Value, CognitoError>> {
    Some(match op {
        "CreateGroup" => create_group(app, i, rid).await,
        "GetGroup" => get_group(app, i).await,
        "UpdateGroup" => update_group(app, i, rid).await,
        "DeleteGroup" => delete_group(app, i, rid).await,
        "ListGroups" => list_groups(app, i).await,
        "AdminAddUserToGroup" => membership(app, i, rid, true).await,
        "AdminRemoveUserFromGroup" => membership(app, i, rid, false).await,
        "ListUsersInGroup" => list_users_in_group(app, i).await,
        _ => return None,
    })
}

/// A group as Cognito's `GroupType`.
pub fn group_out(g: &GroupState) -> Value {
    let s = g.settings.clone().unwrap_or_default();
    let mut v = json!({
        "GroupName": g.group_name,
        "UserPoolId": g.pool_id,
        "LastModifiedDate": epoch(g.updated_at_ms),
        "CreationDate": epoch(g.created_at_ms),
    });
    if !s.description.is_empty() {
        v["Description"] = json!(s.description);
    }
    if let Some(p) = s.precedence {
        v["Precedence"] = json!(p);
    }
    if !s.role_arn.is_empty() {
        v["RoleArn"] = json!(s.role_arn);
    }
    v
}

/// `Limit` (0..=60, default 60) and `NextToken` of a list operation.
pub fn page<'a>(i: &Input<'a>) -> Result<(usize, Option<&'a str>), CognitoError> {
    let limit = match i.opt_int("Limit", 0, 60)? {
        Some(0) | None => 60,
        Some(n) => n as usize,
    };
    Ok((limit, i.opt_str("NextToken", rules::NEXT_TOKEN)?))
}

fn precedence(i: &Input<'_>) -> Result<Option<u32>, CognitoError> {
    Ok(i.opt_int("Precedence", 0, i64::from(i32::MAX))?.map(|p| p as u32))
}

fn pool_and_group<'a>(i: &Input<'a>) -> Result<(&'a str, &'a str), CognitoError> {
    Ok((i.str("UserPoolId", rules::POOL_ID)?, i.str("GroupName", GROUP_NAME)?))
}

async fn create_group(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, name) = pool_and_group(i)?;
    let settings = GroupSettings {
        description: i.opt_str("Description", DESCRIPTION)?.unwrap_or("").to_string(),
        precedence: precedence(i)?,
        role_arn: i.opt_str("RoleArn", ROLE_ARN)?.unwrap_or("").to_string(),
    };
    let g = app.create_group(pool_id, name, settings, rid).await?;
    Ok(json!({ "Group": group_out(&g) }))
}

async fn get_group(app: &App, i: &Input<'_>) -> Result<Value, CognitoError> {
    let (pool_id, name) = pool_and_group(i)?;
    let g = app.get_group(pool_id, name).await?;
    Ok(json!({ "Group": group_out(&g) }))
}

async fn update_group(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, name) = pool_and_group(i)?;
    let patch = GroupPatch {
        description: i.opt_str("Description", DESCRIPTION)?.map(str::to_string),
        precedence: precedence(i)?,
        role_arn: i.opt_str("RoleArn", ROLE_ARN)?.map(str::to_string),
    };
    let g = app.update_group(pool_id, name, patch, rid).await?;
    Ok(json!({ "Group": group_out(&g) }))
}

async fn delete_group(app: &App, i: &Input<'_>, rid: &str) -> Result<Value, CognitoError> {
    let (pool_id, name) = pool_and_group(i)?;
    app.delete_group(pool_id, name, rid).await?;
    Ok(json!({}))
}

async fn list_groups(app: &App, i: &Input<'_>) -> Result<Value, CognitoError> {
    let pool_id = i.str("UserPoolId", rules::POOL_ID)?;
    let (limit, after) = page(i)?;
    let groups = app.list_groups(pool_id, after, limit).await?;
    let next = (groups.len() == limit).then(|| groups.last().map(|g| g.group_name.clone())).flatten();
    let mut out = json!({ "Groups": groups.iter().map(group_out).collect::<Vec<_>>() });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

async fn membership(app: &App, i: &Input<'_>, rid: &str, add: bool) -> Result<Value, CognitoError> {
    let (pool_id, name) = pool_and_group(i)?;
    let username = i.str("Username", rules::USERNAME)?;
    if add {
        app.admin_add_user_to_group(pool_id, username, name, rid).await?;
    } else {
        app.admin_remove_user_from_group(pool_id, username, name, rid).await?;
    }
    Ok(json!({}))
}

async fn list_users_in_group(app: &App, i: &Input<'_>) -> Result<Value, CognitoError> {
    let (pool_id, name) = pool_and_group(i)?;
    let (limit, after) = page(i)?;
    let users = app.list_users_in_group(pool_id, name, after, limit).await?;
    let next = (users.len() == limit).then(|| users.last().map(|(k, _)| k.clone())).flatten();
    let mut out = json!({ "Users": users.iter().map(|(_, u)| user_type(u)).collect::<Vec<_>>() });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}
