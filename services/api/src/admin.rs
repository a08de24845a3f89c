//! The `Admin` gRPC service: pools and app clients. Every call must carry the admin credential.

use std::sync::Arc;

use idp_app::admin::{ClientSpec, ClientView, PoolPatch, PoolSpec};
use idp_app::credentials::AdminCredentials;
use idp_app::App;
use idp_domain::pb as ev;
use tonic::{Request, Response, Status};

use crate::pb::{self, admin_server::Admin};
use crate::status::{named, to_status};
use crate::{meta, request_id};

pub struct AdminService {
    pub app: Arc<App>,
    pub credentials: AdminCredentials,
}

impl AdminService {
    fn authorize<T>(&self, req: &Request<T>) -> Result<(), Status> {
        authorize(&self.credentials, req)
    }
}

/// Checks the admin credential carried in a request's metadata.
pub(crate) fn authorize<T>(credentials: &AdminCredentials, req: &Request<T>) -> Result<(), Status> {
    {
        let get = |k: &str| req.metadata().get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
        let (id, secret) = (get(meta::ACCESS_KEY_ID), get(meta::SECRET_ACCESS_KEY));
        if id.is_empty() || secret.is_empty() {
            return Err(named("UnrecognizedClientException", "Admin credential missing: send x-idp-access-key-id and x-idp-secret-access-key."));
        }
        if !credentials.matches(id, secret) {
            return Err(named("UnrecognizedClientException", "The security token included in the request is invalid."));
        }
        Ok(())
    }
}

pub(crate) fn policy_in(p: pb::PasswordPolicy) -> ev::PasswordPolicy {
    ev::PasswordPolicy {
        minimum_length: p.minimum_length,
        require_uppercase: p.require_uppercase,
        require_lowercase: p.require_lowercase,
        require_numbers: p.require_numbers,
        require_symbols: p.require_symbols,
        temporary_password_validity_days: p.temporary_password_validity_days,
    }
}

fn policy_out(p: ev::PasswordPolicy) -> pb::PasswordPolicy {
    pb::PasswordPolicy {
        minimum_length: p.minimum_length,
        require_uppercase: p.require_uppercase,
        require_lowercase: p.require_lowercase,
        require_numbers: p.require_numbers,
        require_symbols: p.require_symbols,
        temporary_password_validity_days: p.temporary_password_validity_days,
    }
}

fn validity_in(v: pb::TokenValidity) -> ev::TokenValidity {
    ev::TokenValidity { id_token_secs: v.id_token_seconds, access_token_secs: v.access_token_seconds, refresh_token_secs: v.refresh_token_seconds }
}

fn validity_out(v: ev::TokenValidity) -> pb::TokenValidity {
    pb::TokenValidity { id_token_seconds: v.id_token_secs, access_token_seconds: v.access_token_secs, refresh_token_seconds: v.refresh_token_secs }
}

fn pool_out(p: ev::PoolState) -> pb::UserPool {
    let s = p.settings.unwrap_or_default();
    pb::UserPool {
        id: p.pool_id,
        name: s.name,
        password_policy: s.password_policy.map(policy_out),
        schema: s
            .schema
            .into_iter()
            .map(|a| pb::SchemaAttribute {
                name: a.name,
                attribute_data_type: a.data_type,
                required: a.required,
                mutable: a.mutable,
                min_length: a.min_length,
                max_length: a.max_length,
            })
            .collect(),
        auto_verified_attributes: s.auto_verified_attributes,
        username_case_sensitive: s.username_case_sensitive,
        token_validity: s.token_validity.map(validity_out),
        prevent_user_existence_errors: s.prevent_user_existence_errors,
        mfa_configuration: s.mfa_configuration,
        creation_date_ms: p.created_at_ms,
        last_modified_date_ms: p.updated_at_ms,
    }
}

fn client_out(v: ClientView) -> pb::UserPoolClient {
    let s = v.state.settings.unwrap_or_default();
    pb::UserPoolClient {
        user_pool_id: v.state.pool_id,
        client_id: v.state.client_id,
        client_name: s.name,
        client_secret: v.secret.unwrap_or_default(),
        explicit_auth_flows: s.explicit_auth_flows,
        token_validity: s.token_validity.map(validity_out),
        creation_date_ms: v.state.created_at_ms,
    }
}

fn trigger_out(t: ev::TriggerDeployed) -> pb::Trigger {
    pb::Trigger {
        kind: t.kind,
        sha256: t.sha256,
        size_bytes: t.size_bytes,
        config: t.config,
        timeout_ms: t.timeout_ms,
        memory_limit_bytes: t.memory_limit_bytes,
        version: t.version,
        deployed_at_ms: t.deployed_at_ms,
    }
}

pub(crate) fn page_size(max: u32) -> usize {
    if max == 0 {
        60
    } else {
        max.min(60) as usize
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn create_user_pool(&self, req: Request<pb::CreateUserPoolRequest>) -> Result<Response<pb::UserPool>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let spec = PoolSpec {
            name: r.pool_name,
            password_policy: r.password_policy.map(policy_in),
            schema: r
                .schema
                .into_iter()
                .map(|a| ev::SchemaAttribute {
                    name: a.name,
                    data_type: a.attribute_data_type,
                    required: a.required,
                    mutable: a.mutable,
                    min_length: a.min_length,
                    max_length: a.max_length,
                    developer_only: false,
                    ..Default::default()
                })
                .collect(),
            auto_verified_attributes: r.auto_verified_attributes,
            username_case_sensitive: r.username_case_sensitive,
            token_validity: r.token_validity.map(validity_in),
            prevent_user_existence_errors: r.prevent_user_existence_errors,
        };
        let pool = self.app.create_user_pool(spec, &rid).await.map_err(to_status)?;
        Ok(Response::new(pool_out(pool)))
    }

    async fn describe_user_pool(&self, req: Request<pb::DescribeUserPoolRequest>) -> Result<Response<pb::UserPool>, Status> {
        self.authorize(&req)?;
        let pool = self.app.describe_user_pool(&req.into_inner().user_pool_id).await.map_err(to_status)?;
        Ok(Response::new(pool_out(pool)))
    }

    async fn update_user_pool(&self, req: Request<pb::UpdateUserPoolRequest>) -> Result<Response<pb::UserPool>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let patch = PoolPatch {
            password_policy: r.password_policy.map(policy_in),
            auto_verified_attributes: r.set_auto_verified_attributes.then_some(r.auto_verified_attributes),
            token_validity: r.token_validity.map(validity_in),
            prevent_user_existence_errors: r.prevent_user_existence_errors,
        };
        let pool = self.app.update_user_pool(&r.user_pool_id, patch, &rid).await.map_err(to_status)?;
        Ok(Response::new(pool_out(pool)))
    }

    async fn delete_user_pool(&self, req: Request<pb::DeleteUserPoolRequest>) -> Result<Response<pb::Empty>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        self.app.delete_user_pool(&req.into_inner().user_pool_id, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn list_user_pools(&self, req: Request<pb::ListUserPoolsRequest>) -> Result<Response<pb::ListUserPoolsResponse>, Status> {
        self.authorize(&req)?;
        let r = req.into_inner();
        let limit = page_size(r.max_results);
        let after = (!r.next_token.is_empty()).then_some(r.next_token.as_str());
        let pools = self.app.list_pools(after, limit).await.map_err(to_status)?;
        let next_token = if pools.len() == limit { pools.last().map(|p| p.0.clone()).unwrap_or_default() } else { String::new() };
        Ok(Response::new(pb::ListUserPoolsResponse { user_pools: pools.into_iter().map(|(id, name)| pb::UserPoolSummary { id, name }).collect(), next_token }))
    }

    async fn create_user_pool_client(&self, req: Request<pb::CreateUserPoolClientRequest>) -> Result<Response<pb::UserPoolClient>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let spec = ClientSpec {
            pool_id: r.user_pool_id,
            name: r.client_name,
            generate_secret: r.generate_secret,
            explicit_auth_flows: r.explicit_auth_flows,
            token_validity: r.token_validity.map(validity_in),
            prevent_user_existence_errors: r.prevent_user_existence_errors,
        };
        let client = self.app.create_user_pool_client(spec, &rid).await.map_err(to_status)?;
        Ok(Response::new(client_out(client)))
    }

    async fn describe_user_pool_client(&self, req: Request<pb::DescribeUserPoolClientRequest>) -> Result<Response<pb::UserPoolClient>, Status> {
        self.authorize(&req)?;
        let r = req.into_inner();
        let client = self.app.describe_user_pool_client(&r.user_pool_id, &r.client_id).await.map_err(to_status)?;
        Ok(Response::new(client_out(client)))
    }

    async fn list_user_pool_clients(&self, req: Request<pb::ListUserPoolClientsRequest>) -> Result<Response<pb::ListUserPoolClientsResponse>, Status> {
        self.authorize(&req)?;
        let r = req.into_inner();
        self.app.describe_user_pool(&r.user_pool_id).await.map_err(to_status)?;
        let limit = page_size(r.max_results);
        let after = (!r.next_token.is_empty()).then_some(r.next_token.as_str());
        let clients = self.app.list_clients(&r.user_pool_id, after, limit).await.map_err(to_status)?;
        let next_token = if clients.len() == limit { clients.last().map(|c| c.0.clone()).unwrap_or_default() } else { String::new() };
        Ok(Response::new(pb::ListUserPoolClientsResponse {
            user_pool_clients: clients
                .into_iter()
                .map(|(client_id, client_name)| pb::UserPoolClientSummary { client_id, client_name, user_pool_id: r.user_pool_id.clone() })
                .collect(),
            next_token,
        }))
    }

    async fn list_users(&self, req: Request<pb::ListUsersRequest>) -> Result<Response<pb::ListUsersResponse>, Status> {
        self.authorize(&req)?;
        let r = req.into_inner();
        let limit = page_size(r.limit);
        let after = (!r.pagination_token.is_empty()).then_some(r.pagination_token.as_str());
        let page = self.app.list_users(&r.user_pool_id, &r.filter, after, limit).await.map_err(to_status)?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page
                .users
                .into_iter()
                .map(|u| pb::UserSummary {
                    username: u.username,
                    sub: u.sub,
                    user_status: u.status,
                    enabled: u.enabled,
                    attributes: u.attributes.into_iter().map(|(name, value)| pb::AttributeType { name, value }).collect(),
                    user_create_date_ms: u.created_at_ms,
                    user_last_modified_date_ms: u.updated_at_ms,
                })
                .collect(),
            pagination_token: page.pagination_token.unwrap_or_default(),
        }))
    }

    async fn delete_user_pool_client(&self, req: Request<pb::DeleteUserPoolClientRequest>) -> Result<Response<pb::Empty>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.delete_user_pool_client(&r.user_pool_id, &r.client_id, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn deploy_trigger(&self, req: Request<pb::DeployTriggerRequest>) -> Result<Response<pb::Trigger>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let t = self.app.deploy_trigger(&r.user_pool_id, &r.kind, r.component, r.config, r.timeout_ms, r.memory_limit_bytes, &rid).await.map_err(to_status)?;
        Ok(Response::new(trigger_out(t)))
    }

    async fn list_triggers(&self, req: Request<pb::ListTriggersRequest>) -> Result<Response<pb::ListTriggersResponse>, Status> {
        self.authorize(&req)?;
        let triggers = self.app.list_triggers(&req.into_inner().user_pool_id).await.map_err(to_status)?;
        Ok(Response::new(pb::ListTriggersResponse { triggers: triggers.into_iter().map(trigger_out).collect() }))
    }

    async fn remove_trigger(&self, req: Request<pb::RemoveTriggerRequest>) -> Result<Response<pb::Empty>, Status> {
        self.authorize(&req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.remove_trigger(&r.user_pool_id, &r.kind, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }
}
