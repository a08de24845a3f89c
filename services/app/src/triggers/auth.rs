//! Triggers of sign-in and token issuance: PreAuthentication (may refuse a sign-in) and
//! PreTokenGeneration (adds, overrides or suppresses ID-token claims, overrides groups). Both
//! decide something that is never stored, so there is nothing to record: they run on each
//! sign-in / token issuance.

use idp_domain::pb::{ClientState, PoolState, UserState};
use idp_tokens::{AccessClaims, IdClaims};
use idp_triggers::{types as t, Kind};

use crate::{App, AppError};

/// A user's attributes as Cognito hands them to triggers (with `sub`, status and username).
pub(crate) fn user_attributes(user: &UserState) -> Vec<(String, String)> {
    let mut attrs: Vec<(String, String)> = user.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    attrs.push(("sub".into(), user.sub.clone()));
    attrs.push(("cognito:user_status".into(), user.status.clone()));
    attrs.sort();
    attrs
}

impl App {
    /// Runs the pool's PreAuthentication trigger (if any) for a user about to sign in.
    pub(crate) async fn run_pre_authentication(&self, pool: &PoolState, client: &ClientState, user: &UserState) -> Result<(), AppError> {
        let Some(spec) = App::trigger_spec(pool, Kind::PreAuthentication) else { return Ok(()) };
        let event = t::PreAuthenticationEvent {
            version: "1".into(),
            trigger_source: "PreAuthentication_Authentication".into(),
            region: self.config.region.clone(),
            user_pool_id: pool.pool_id.clone(),
            user_name: user.username.clone(),
            caller_context: self.caller_context(&client.client_id),
            request: t::PreAuthenticationRequest {
                user_attributes: user_attributes(user),
                validation_data: vec![],
                client_metadata: crate::scope::client_metadata(),
                user_not_found: false,
            },
        };
        self.call_trigger(Kind::PreAuthentication, move |rt| rt.pre_authentication(&spec, &event)).await
    }

    /// Runs the pool's PreTokenGeneration trigger (if any) and applies its answer to the claims
    /// about to be signed: claims added/overridden/suppressed in the ID token, groups replaced in
    /// both tokens.
    pub(crate) async fn run_pre_token_generation(
        &self,
        pool: &PoolState,
        client: &ClientState,
        user: &UserState,
        refresh: bool,
        id: &mut IdClaims,
        access: &mut AccessClaims,
    ) -> Result<(), AppError> {
        let Some(spec) = App::trigger_spec(pool, Kind::PreTokenGeneration) else { return Ok(()) };
        let source = if refresh { "TokenGeneration_RefreshTokens" } else { "TokenGeneration_Authentication" };
        let event = t::PreTokenGenerationEvent {
            version: "1".into(),
            trigger_source: source.into(),
            region: self.config.region.clone(),
            user_pool_id: pool.pool_id.clone(),
            user_name: user.username.clone(),
            caller_context: self.caller_context(&client.client_id),
            request: t::PreTokenGenerationRequest {
                user_attributes: user_attributes(user),
                group_configuration: t::GroupConfiguration { groups_to_override: id.groups.clone(), iam_roles_to_override: vec![], preferred_role: None },
                client_metadata: crate::scope::client_metadata(),
            },
            response: t::PreTokenGenerationResponse { claims_to_add_or_override: vec![], claims_to_suppress: vec![], group_override_details: None },
        };
        let out = self.call_trigger(Kind::PreTokenGeneration, move |rt| rt.pre_token_generation(&spec, &event)).await?;
        for (name, value) in out.claims_to_add_or_override {
            match name.as_str() {
                "email" => id.email = Some(value),
                "phone_number" => id.phone_number = Some(value),
                "email_verified" => id.email_verified = Some(value == "true"),
                "phone_number_verified" => id.phone_number_verified = Some(value == "true"),
                _ => {
                    id.attributes.insert(name, value);
                }
            }
        }
        for name in out.claims_to_suppress {
            match name.as_str() {
                "email" => id.email = None,
                "phone_number" => id.phone_number = None,
                "email_verified" => id.email_verified = None,
                "phone_number_verified" => id.phone_number_verified = None,
                _ => {
                    id.attributes.remove(&name);
                }
            }
        }
        if let Some(groups) = out.group_override_details {
            id.groups = groups.groups_to_override.clone();
            access.groups = groups.groups_to_override;
        }
        Ok(())
    }
}
