//! CustomMessage: a [`MessageSender`] wrapper that lets the pool's CustomMessage trigger
//! rewrite a code message just before delivery (the dispatcher has already rendered the
//! default text). The trigger sees `{####}` in place of the code, never the code itself; the
//! code goes in after. A failing trigger does not hold back the code: the default text is sent
//! and the failure logged. The trigger source and the ClientMetadata are the ones recorded
//! with the code (`CodeIssued`) by the request that issued it: the message goes out later,
//! from the log, outside that request.

use std::sync::Arc;

use idp_triggers::{types as t, Kind};

use super::auth::user_attributes;
use crate::messages::{MessageSender, OutgoingMessage, SendError};
use crate::App;

/// The code placeholder handed to CustomMessage triggers.
pub const CODE_PARAMETER: &str = "{####}";

/// Wraps the real sender with the pools' CustomMessage triggers.
pub struct CustomMessages {
    pub app: Arc<App>,
    pub inner: Arc<dyn MessageSender>,
}

/// The trigger source recorded with the code, or (codes issued while the pool had no
/// CustomMessage trigger) the one its purpose implies.
fn trigger_source(m: &OutgoingMessage) -> String {
    if !m.trigger_source.is_empty() {
        return m.trigger_source.clone();
    }
    match m.kind.as_str() {
        "SIGN_UP" => "CustomMessage_SignUp",
        "FORGOT_PASSWORD" => "CustomMessage_ForgotPassword",
        "ADMIN_CREATE_USER" => "CustomMessage_AdminCreateUser",
        "MFA" => "CustomMessage_Authentication",
        _ => "CustomMessage_VerifyUserAttribute",
    }
    .to_string()
}

impl CustomMessages {
    /// The message as the pool's trigger wants it; `None`: no trigger (or it failed).
    async fn customized(&self, m: &OutgoingMessage) -> Option<OutgoingMessage> {
        let pool = self.app.pool(&m.pool_id).await.ok()?;
        let spec = App::trigger_spec(&pool, Kind::CustomMessage)?;
        let user = self.app.user(&pool, &m.username).await.ok().flatten();
        let event = t::CustomMessageEvent {
            version: "1".into(),
            trigger_source: trigger_source(m),
            region: self.app.config.region.clone(),
            user_pool_id: m.pool_id.clone(),
            user_name: m.username.clone(),
            caller_context: self.app.caller_context(""),
            request: t::CustomMessageRequest {
                user_attributes: user.as_ref().map(user_attributes).unwrap_or_default(),
                code_parameter: CODE_PARAMETER.into(),
                username_parameter: "{username}".into(),
                client_metadata: m.client_metadata.clone(),
            },
            response: t::CustomMessageResponse { sms_message: None, email_message: None, email_subject: None },
        };
        let out = match self.app.call_trigger(Kind::CustomMessage, move |rt| rt.custom_message(&spec, &event)).await {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(pool = %m.pool_id, error = %e, "CustomMessage trigger failed; sending the default text");
                return None;
            }
        };
        let fill = |text: String| text.replace(CODE_PARAMETER, &m.code).replace("{username}", &m.username);
        let mut custom = m.clone();
        if m.channel == "SMS" {
            if let Some(text) = out.sms_message {
                custom.text = fill(text);
            }
        } else {
            if let Some(text) = out.email_message {
                custom.text = fill(text);
            }
            if let Some(subject) = out.email_subject {
                custom.subject = subject;
            }
        }
        Some(custom)
    }
}

#[async_trait::async_trait]
impl MessageSender for CustomMessages {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        match self.customized(message).await {
            Some(custom) => self.inner.send(&custom).await,
            None => self.inner.send(message).await,
        }
    }
}
