//! The `Users` gRPC service.

use std::sync::Arc;

use idp_app::auth::InitiateOutcome;
use idp_app::users::CodeDelivery;
use idp_app::App;
use tonic::{Request, Response, Status};

use crate::pb::{self, users_server::Users};
use crate::request_id;
use crate::status::to_status;

pub struct UsersService {
    pub app: Arc<App>,
}

fn attrs(list: Vec<pb::AttributeType>) -> Vec<(String, String)> {
    list.into_iter().map(|a| (a.name, a.value)).collect()
}

fn delivery(d: CodeDelivery) -> pb::CodeDeliveryDetails {
    pb::CodeDeliveryDetails { destination: d.destination, delivery_medium: d.delivery_medium, attribute_name: d.attribute_name }
}

pub(crate) fn outcome(out: InitiateOutcome) -> pb::InitiateAuthResponse {
    match out {
        InitiateOutcome::Authenticated(t) => pb::InitiateAuthResponse {
            authentication_result: Some(pb::AuthenticationResult {
                access_token: t.access_token,
                id_token: t.id_token,
                refresh_token: t.refresh_token.unwrap_or_default(),
                expires_in: t.expires_in,
                token_type: t.token_type,
            }),
            ..Default::default()
        },
        InitiateOutcome::Challenge { name, parameters, session } => pb::InitiateAuthResponse {
            authentication_result: None,
            challenge_name: name,
            challenge_parameters: parameters.into_iter().collect(),
            session: session.unwrap_or_default(),
        },
    }
}

/// The caller's address (per-source throttling).
fn source<T>(req: &Request<T>) -> Option<std::net::IpAddr> {
    req.remote_addr().map(|a| a.ip())
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[tonic::async_trait]
impl Users for UsersService {
    async fn sign_up(&self, req: Request<pb::SignUpRequest>) -> Result<Response<pb::SignUpResponse>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        let out = self
            .app
            .sign_up_with_data(
                &r.client_id,
                opt(&r.secret_hash),
                &r.username,
                &r.password,
                attrs(r.user_attributes),
                attrs(r.validation_data),
                r.client_metadata.into_iter().collect(),
                &rid,
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::SignUpResponse { user_confirmed: out.user_confirmed, user_sub: out.user_sub, code_delivery_details: out.delivery.map(delivery) }))
    }

    async fn confirm_sign_up(&self, req: Request<pb::ConfirmSignUpRequest>) -> Result<Response<pb::Empty>, Status> {
        self.app.admit_attempt(source(&req)).map_err(to_status)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        self.app.confirm_sign_up(&r.client_id, opt(&r.secret_hash), &r.username, &r.confirmation_code, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn resend_confirmation_code(&self, req: Request<pb::ResendConfirmationCodeRequest>) -> Result<Response<pb::CodeDeliveryResponse>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let d = self.app.resend_confirmation_code(&r.client_id, opt(&r.secret_hash), &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::CodeDeliveryResponse { code_delivery_details: Some(delivery(d)) }))
    }

    async fn initiate_auth(&self, req: Request<pb::InitiateAuthRequest>) -> Result<Response<pb::InitiateAuthResponse>, Status> {
        self.app.admit_attempt(source(&req)).map_err(to_status)?;
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let params = r.auth_parameters.into_iter().collect();
        let out = self.app.initiate_auth(&r.client_id, &r.auth_flow, &params).await.map_err(to_status)?;
        Ok(Response::new(outcome(out)))
    }

    async fn respond_to_auth_challenge(&self, req: Request<pb::RespondToAuthChallengeRequest>) -> Result<Response<pb::InitiateAuthResponse>, Status> {
        self.app.admit_attempt(source(&req)).map_err(to_status)?;
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let responses = r.challenge_responses.into_iter().collect();
        let out = self.app.respond_to_auth_challenge(&r.client_id, &r.challenge_name, &responses, opt(&r.session)).await.map_err(to_status)?;
        Ok(Response::new(outcome(out)))
    }

    async fn get_user(&self, req: Request<pb::AccessTokenRequest>) -> Result<Response<pb::GetUserResponse>, Status> {
        let u = self.app.get_user(&req.into_inner().access_token).await.map_err(to_status)?;
        Ok(Response::new(pb::GetUserResponse {
            username: u.username,
            user_attributes: u.attributes.into_iter().map(|(name, value)| pb::AttributeType { name, value }).collect(),
            user_status: u.status,
            enabled: u.enabled,
            preferred_mfa_setting: u.preferred_mfa.unwrap_or_default(),
            user_mfa_setting_list: u.mfa_enabled,
        }))
    }

    async fn update_user_attributes(&self, req: Request<pb::UpdateUserAttributesRequest>) -> Result<Response<pb::UpdateUserAttributesResponse>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let list = self.app.update_user_attributes(&r.access_token, attrs(r.user_attributes), &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::UpdateUserAttributesResponse { code_delivery_details_list: list.into_iter().map(delivery).collect() }))
    }

    async fn get_user_attribute_verification_code(
        &self,
        req: Request<pb::GetUserAttributeVerificationCodeRequest>,
    ) -> Result<Response<pb::CodeDeliveryResponse>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let d = self.app.get_user_attribute_verification_code(&r.access_token, &r.attribute_name, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::CodeDeliveryResponse { code_delivery_details: Some(delivery(d)) }))
    }

    async fn verify_user_attribute(&self, req: Request<pb::VerifyUserAttributeRequest>) -> Result<Response<pb::Empty>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.verify_user_attribute(&r.access_token, &r.attribute_name, &r.code, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn change_password(&self, req: Request<pb::ChangePasswordRequest>) -> Result<Response<pb::Empty>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.change_password(&r.access_token, &r.previous_password, &r.proposed_password, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn forgot_password(&self, req: Request<pb::ForgotPasswordRequest>) -> Result<Response<pb::CodeDeliveryResponse>, Status> {
        self.app.admit_attempt(source(&req)).map_err(to_status)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let d = self.app.forgot_password(&r.client_id, opt(&r.secret_hash), &r.username, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::CodeDeliveryResponse { code_delivery_details: Some(delivery(d)) }))
    }

    async fn confirm_forgot_password(&self, req: Request<pb::ConfirmForgotPasswordRequest>) -> Result<Response<pb::Empty>, Status> {
        self.app.admit_attempt(source(&req)).map_err(to_status)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        self.app.confirm_forgot_password(&r.client_id, opt(&r.secret_hash), &r.username, &r.confirmation_code, &r.password, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn global_sign_out(&self, req: Request<pb::AccessTokenRequest>) -> Result<Response<pb::Empty>, Status> {
        let rid = request_id(&req);
        self.app.global_sign_out(&req.into_inner().access_token, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn revoke_token(&self, req: Request<pb::RevokeTokenRequest>) -> Result<Response<pb::Empty>, Status> {
        let rid = request_id(&req);
        let r = req.into_inner();
        self.app.revoke_token(&r.client_id, opt(&r.client_secret), &r.token, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn delete_user(&self, req: Request<pb::AccessTokenRequest>) -> Result<Response<pb::Empty>, Status> {
        let rid = request_id(&req);
        self.app.delete_user(&req.into_inner().access_token, &rid).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }
}
