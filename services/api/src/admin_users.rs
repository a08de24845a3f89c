//! The `AdminUsers` and `Groups` gRPC services: admin user operations, AddCustomAttributes and
//! groups. Every call must carry the admin credential; each handler converts the request, calls
//! the `App` method the Cognito JSON front calls too, and shapes the answer.

use std::sync::Arc;

use idp_app::admin_users::CreateUserSpec;
use idp_app::credentials::AdminCredentials;
use idp_app::groups::GroupPatch;
use idp_app::App;
use idp_domain::pb as ev;
use idp_domain::user_admin::MessageAction;
use tonic::{Request, Response, Status};

use crate::admin::{authorize, page_size};
use crate::pb::{self, admin_users_server::AdminUsers, groups_server::Groups};
use crate::request_id;
use crate::status::to_status;

pub struct AdminUsersService {
    pub app: Arc<App>,
    pub credentials: AdminCredentials,
}

pub struct GroupsService {
    pub app: Arc<App>,
    pub credentials: AdminCredentials,
}

pub(crate) fn user_summary(u: &ev::UserState) -> pb::UserSummary {
    pb::UserSummary {
        username: u.username.clone(),
        sub: u.sub.clone(),
        user_status: u.status.clone(),
        enabled: u.enabled,
        attributes: u.attributes.iter().map(|(name, value)| pb::AttributeType { name: name.clone(), value: value.clone() }).collect(),
        user_create_date_ms: u.created_at_ms,
        user_last_modified_date_ms: u.updated_at_ms,
    }
}

fn group_out(g: ev::GroupState) -> pb::Group {
    let s = g.settings.unwrap_or_default();
    pb::Group {
        group_name: g.group_name,
        user_pool_id: g.pool_id,
        description: s.description,
        precedence: s.precedence,
        role_arn: s.role_arn,
        creation_date_ms: g.created_at_ms,
        last_modified_date_ms: g.updated_at_ms,
    }
}

fn message_action(action: &str) -> Result<MessageAction, Status> {
    match action {
        "" => Ok(MessageAction::Send),
        "RESEND" => Ok(MessageAction::Resend),
        "SUPPRESS" => Ok(MessageAction::Suppress),
        other => Err(to_status(idp_app::AppError::invalid(format!("MessageAction {other} is not RESEND or SUPPRESS.")))),
    }
}

fn after(token: &str) -> Option<&str> {
    (!token.is_empty()).then_some(token)
}

/// The next-page token: the last key of a full page.
fn next_token<T>(items: &[T], limit: usize, key: impl Fn(&T) -> String) -> String {
    if items.len() == limit {
        items.last().map(key).unwrap_or_default()
    } else {
        String::new()
    }
}

#[tonic::async_trait]
impl AdminUsers for AdminUsersService {
    async fn admin_create_user(&self, req: Request<pb::AdminCreateUserRequest>) -> Result<Response<pb::UserSummary>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let spec = CreateUserSpec {
            username: r.username,
            temporary_password: r.temporary_password,
            attributes: r.user_attributes.into_iter().map(|a| (a.name, a.value)).collect(),
            action: message_action(&r.message_action)?,
            delivery_mediums: r.desired_delivery_mediums,
        };
        let view = self.app.admin_create_user(&r.user_pool_id, spec, &rid).await.map_err(to_status)?;
        let user = self.app.admin_get_user(&r.user_pool_id, &view.username).await.map_err(to_status)?;
        Ok(Response::new(user_summary(&user)))
    }

    async fn admin_get_user(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::AdminGetUserResponse>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        let user = self.app.admin_get_user(&r.user_pool_id, &r.username).await.map_err(to_status)?;
        let groups = self.app.groups_of(&user).await.map_err(to_status)?;
        Ok(Response::new(pb::AdminGetUserResponse { user: Some(user_summary(&user)), groups: groups.into_iter().map(|g| g.group_name).collect() }))
    }

    async fn admin_delete_user(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_delete_user(&r.user_pool_id, &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_disable_user(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_disable_user(&r.user_pool_id, &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_enable_user(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_enable_user(&r.user_pool_id, &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_confirm_sign_up(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_confirm_sign_up(&r.user_pool_id, &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_set_user_password(&self, req: Request<pb::AdminSetUserPasswordRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_set_user_password(&r.user_pool_id, &r.username, &r.password, r.permanent, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_reset_user_password(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_reset_user_password(&r.user_pool_id, &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_update_user_attributes(&self, req: Request<pb::AdminUpdateUserAttributesRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let attrs = r.user_attributes.into_iter().map(|a| (a.name, a.value)).collect();
        self.app.admin_update_user_attributes(&r.user_pool_id, &r.username, attrs, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_delete_user_attributes(&self, req: Request<pb::AdminDeleteUserAttributesRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_delete_user_attributes(&r.user_pool_id, &r.username, r.user_attribute_names, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_user_global_sign_out(&self, req: Request<pb::AdminUserRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_user_global_sign_out(&r.user_pool_id, &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_list_groups_for_user(&self, req: Request<pb::AdminListGroupsForUserRequest>) -> Result<Response<pb::ListGroupsResponse>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        let limit = page_size(r.limit);
        let groups = self.app.admin_list_groups_for_user(&r.user_pool_id, &r.username, after(&r.next_token), limit).await.map_err(to_status)?;
        let next_token = next_token(&groups, limit, |g| g.group_name.clone());
        Ok(Response::new(pb::ListGroupsResponse { groups: groups.into_iter().map(group_out).collect(), next_token }))
    }

    async fn add_custom_attributes(&self, req: Request<pb::AddCustomAttributesRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let attrs = r
            .custom_attributes
            .into_iter()
            .map(|a| ev::SchemaAttribute {
                name: a.name,
                data_type: a.attribute_data_type,
                required: false,
                mutable: a.mutable,
                min_length: a.min_length,
                max_length: a.max_length,
                developer_only: a.developer_only,
                min_value: a.min_value,
                max_value: a.max_value,
            })
            .collect();
        self.app.add_custom_attributes(&r.user_pool_id, attrs, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }
}

#[tonic::async_trait]
impl Groups for GroupsService {
    async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> Result<Response<pb::Group>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let settings = ev::GroupSettings { description: r.description, precedence: r.precedence, role_arn: r.role_arn };
        let g = self.app.create_group(&r.user_pool_id, &r.group_name, settings, &rid).await.map_err(to_status)?;
        Ok(Response::new(group_out(g)))
    }

    async fn get_group(&self, req: Request<pb::GroupRequest>) -> Result<Response<pb::Group>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        let g = self.app.get_group(&r.user_pool_id, &r.group_name).await.map_err(to_status)?;
        Ok(Response::new(group_out(g)))
    }

    async fn update_group(&self, req: Request<pb::UpdateGroupRequest>) -> Result<Response<pb::Group>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let patch = GroupPatch { description: r.description, precedence: r.precedence, role_arn: r.role_arn };
        let g = self.app.update_group(&r.user_pool_id, &r.group_name, patch, &rid).await.map_err(to_status)?;
        Ok(Response::new(group_out(g)))
    }

    async fn delete_group(&self, req: Request<pb::GroupRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.delete_group(&r.user_pool_id, &r.group_name, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn list_groups(&self, req: Request<pb::ListGroupsRequest>) -> Result<Response<pb::ListGroupsResponse>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        let limit = page_size(r.limit);
        let groups = self.app.list_groups(&r.user_pool_id, after(&r.next_token), limit).await.map_err(to_status)?;
        let next_token = next_token(&groups, limit, |g| g.group_name.clone());
        Ok(Response::new(pb::ListGroupsResponse { groups: groups.into_iter().map(group_out).collect(), next_token }))
    }

    async fn admin_add_user_to_group(&self, req: Request<pb::UserGroupRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_add_user_to_group(&r.user_pool_id, &r.username, &r.group_name, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_remove_user_from_group(&self, req: Request<pb::UserGroupRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.admin_remove_user_from_group(&r.user_pool_id, &r.username, &r.group_name, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn list_users_in_group(&self, req: Request<pb::ListUsersInGroupRequest>) -> Result<Response<pb::ListUsersResponse>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        let limit = page_size(r.limit);
        let users = self.app.list_users_in_group(&r.user_pool_id, &r.group_name, after(&r.next_token), limit).await.map_err(to_status)?;
        let pagination_token = next_token(&users, limit, |(k, _)| k.clone());
        Ok(Response::new(pb::ListUsersResponse { users: users.iter().map(|(_, u)| user_summary(u)).collect(), pagination_token }))
    }
}
