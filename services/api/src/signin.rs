//! The `SignIn` gRPC service: admin sign-in, software tokens, MFA preferences and the pool's
//! MFA configuration. Admin* and *UserPoolMfaConfig calls need the admin credential.

use std::sync::Arc;

use idp_app::credentials::AdminCredentials;
use idp_app::signin::MfaConfig;
use idp_app::App;
use idp_domain::signin::MethodPreference;
use tonic::{Request, Response, Status};

use crate::admin::authorize;
use crate::pb::{self, sign_in_server::SignIn};
use crate::request_id;
use crate::status::to_status;
use crate::users::outcome;

pub struct SignInService {
    pub app: Arc<App>,
    pub credentials: AdminCredentials,
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn pref(p: Option<pb::MfaMethodPreference>) -> MethodPreference {
    p.map(|p| MethodPreference { enabled: p.enabled, preferred: p.preferred }).unwrap_or_default()
}

fn config_out(c: MfaConfig) -> pb::MfaConfig {
    pb::MfaConfig {
        mfa_configuration: c.mfa_configuration,
        software_token_enabled: c.software_token_enabled,
        sms_enabled: c.sms_enabled,
        sms_message: c.sms_message,
        email_enabled: c.email_enabled,
        email_message: c.email_message,
        email_subject: c.email_subject,
    }
}

#[tonic::async_trait]
impl SignIn for SignInService {
    async fn admin_initiate_auth(&self, req: Request<pb::AdminInitiateAuthRequest>) -> Result<Response<pb::InitiateAuthResponse>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let params = r.auth_parameters.into_iter().collect();
        let out = self.app.admin_initiate_auth(&r.user_pool_id, &r.client_id, &r.auth_flow, &params).await.map_err(to_status)?;
        Ok(Response::new(outcome(out)))
    }

    async fn admin_respond_to_auth_challenge(
        &self,
        req: Request<pb::AdminRespondToAuthChallengeRequest>,
    ) -> Result<Response<pb::InitiateAuthResponse>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        idp_app::scope::set_client_metadata(r.client_metadata);
        let responses = r.challenge_responses.into_iter().collect();
        let out =
            self.app.admin_respond_to_auth_challenge(&r.user_pool_id, &r.client_id, &r.challenge_name, &responses, opt(&r.session)).await.map_err(to_status)?;
        Ok(Response::new(outcome(out)))
    }

    async fn associate_software_token(&self, req: Request<pb::AssociateSoftwareTokenRequest>) -> Result<Response<pb::AssociateSoftwareTokenResponse>, Status> {
        let r = req.into_inner();
        let (secret_code, session) = self.app.associate_software_token(opt(&r.access_token), opt(&r.session)).await.map_err(to_status)?;
        Ok(Response::new(pb::AssociateSoftwareTokenResponse { secret_code, session: session.unwrap_or_default() }))
    }

    async fn verify_software_token(&self, req: Request<pb::VerifySoftwareTokenRequest>) -> Result<Response<pb::VerifySoftwareTokenResponse>, Status> {
        let r = req.into_inner();
        let session = self.app.verify_software_token(opt(&r.access_token), opt(&r.session), &r.user_code, &r.friendly_device_name).await.map_err(to_status)?;
        Ok(Response::new(pb::VerifySoftwareTokenResponse { status: "SUCCESS".into(), session: session.unwrap_or_default() }))
    }

    async fn set_user_mfa_preference(&self, req: Request<pb::SetUserMfaPreferenceRequest>) -> Result<Response<pb::Empty>, Status> {
        let r = req.into_inner();
        self.app.set_user_mfa_preference(&r.access_token, pref(r.sms), pref(r.software_token), pref(r.email)).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn admin_set_user_mfa_preference(&self, req: Request<pb::AdminSetUserMfaPreferenceRequest>) -> Result<Response<pb::Empty>, Status> {
        authorize(&self.credentials, &req)?;
        let r = req.into_inner();
        self.app.admin_set_user_mfa_preference(&r.user_pool_id, &r.username, pref(r.sms), pref(r.software_token), pref(r.email)).await.map_err(to_status)?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_user_pool_mfa_config(&self, req: Request<pb::SetUserPoolMfaConfigRequest>) -> Result<Response<pb::MfaConfig>, Status> {
        authorize(&self.credentials, &req)?;
        let rid = request_id(&req);
        let r = req.into_inner();
        let current = self.app.get_user_pool_mfa_config(&r.user_pool_id).await.map_err(to_status)?;
        let mode = if r.mfa_configuration.is_empty() { current.mfa_configuration } else { r.mfa_configuration };
        let c = self
            .app
            .set_user_pool_mfa_config(
                &r.user_pool_id,
                &mode,
                r.software_token_enabled,
                r.sms_enabled.map(|on| (on, r.sms_message)),
                r.email_enabled.map(|on| (on, r.email_message, r.email_subject)),
                &rid,
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(config_out(c)))
    }

    async fn get_user_pool_mfa_config(&self, req: Request<pb::GetUserPoolMfaConfigRequest>) -> Result<Response<pb::MfaConfig>, Status> {
        authorize(&self.credentials, &req)?;
        let c = self.app.get_user_pool_mfa_config(&req.into_inner().user_pool_id).await.map_err(to_status)?;
        Ok(Response::new(config_out(c)))
    }
}
