//! Custom message: replaces the default texts with templates from the configuration.
//! `{####}` stands for the code (the host puts it in), `{username}` for the user's name.
//!
//! Configuration (JSON): `{"SIGN_UP": {"subject": "Welcome", "email": "Hi {username}, code {####}",
//! "sms": "Code {####}"}, "FORGOT_PASSWORD": {...}}`, keyed by the trigger source without its
//! `CustomMessage_` prefix in upper snake case (SIGN_UP, RESEND_CODE, FORGOT_PASSWORD,
//! UPDATE_USER_ATTRIBUTE, VERIFY_USER_ATTRIBUTE, ADMIN_CREATE_USER, AUTHENTICATION); `"*"`
//! applies to every source. `{meta:KEY}` stands for the request's ClientMetadata value of KEY
//! (empty when the request sent none).

use std::collections::BTreeMap;

use idp_trigger_sdk::custom_message::*;

#[derive(serde::Deserialize, Default, Clone)]
#[serde(default)]
struct Template {
    subject: Option<String>,
    email: Option<String>,
    sms: Option<String>,
}

fn source_key(trigger_source: &str) -> String {
    let name = trigger_source.strip_prefix("CustomMessage_").unwrap_or(trigger_source);
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

struct CustomMessage;

impl Guest for CustomMessage {
    fn handle(event: CustomMessageEvent) -> Result<CustomMessageResponse, String> {
        let templates: BTreeMap<String, Template> = config_json()?;
        let Some(t) = templates.get(&source_key(&event.trigger_source)).or_else(|| templates.get("*")).cloned() else {
            return Ok(event.response);
        };
        let metadata = &event.request.client_metadata;
        let fill = |text: String| {
            let mut text = text.replace("{username}", &event.user_name);
            while let Some(start) = text.find("{meta:") {
                let Some(len) = text.get(start..).and_then(|rest| rest.find('}')) else { break };
                let key = text.get(start + 6..start + len).unwrap_or_default().to_string();
                let value = metadata.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str()).unwrap_or_default();
                text.replace_range(start..start + len + 1, value);
            }
            text
        };
        let mut response = event.response;
        response.email_subject = t.subject.map(fill).or(response.email_subject);
        response.email_message = t.email.map(fill).or(response.email_message);
        response.sms_message = t.sms.map(fill).or(response.sms_message);
        Ok(response)
    }
}

export!(CustomMessage);
