//! Stateless input rules: usernames, attributes against a pool's schema, password policy.

use crate::pb::{PasswordPolicy, PoolSettings, SchemaAttribute};
use crate::DomainError;

/// Cognito's standard attributes (besides `sub`, which nobody writes).
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

/// Attributes only the service (or an admin) sets.
pub const SYSTEM_ATTRIBUTES: &[&str] = &["sub", "email_verified", "phone_number_verified"];

pub const MAX_ATTRIBUTE_VALUE: usize = 2048;
pub const MAX_USERNAME: usize = 128;
pub const MAX_PASSWORD: usize = 256;
pub const MAX_ATTRIBUTES: usize = 50;

/// Symbols Cognito accepts as "special characters" in passwords.
pub const PASSWORD_SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

pub fn username(name: &str) -> Result<(), DomainError> {
    let len = name.chars().count();
    if len == 0 || len > MAX_USERNAME {
        return Err(DomainError::invalid(format!(
            "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must have length between 1 and {MAX_USERNAME}"
        )));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::invalid("Value at 'username' failed to satisfy constraint: Member must not contain whitespace or control characters"));
    }
    Ok(())
}

pub fn password_policy(policy: &PasswordPolicy, password: &str) -> Result<(), DomainError> {
    let fail = |what: &str| Err(DomainError::InvalidPassword(format!("Password does not conform to policy: {what}")));
    let len = password.chars().count();
    if len > MAX_PASSWORD {
        return fail(&format!("Password must have length less than or equal to {MAX_PASSWORD}"));
    }
    if password.starts_with(char::is_whitespace) || password.ends_with(char::is_whitespace) {
        return fail("Password must not begin or end with whitespace");
    }
    let min = policy.minimum_length.max(6) as usize;
    if len < min {
        return fail("Password not long enough");
    }
    if policy.require_uppercase && !password.chars().any(|c| c.is_uppercase()) {
        return fail("Password must have uppercase characters");
    }
    if policy.require_lowercase && !password.chars().any(|c| c.is_lowercase()) {
        return fail("Password must have lowercase characters");
    }
    if policy.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
        return fail("Password must have numeric characters");
    }
    if policy.require_symbols && !password.chars().any(|c| PASSWORD_SYMBOLS.contains(c)) {
        return fail("Password must have symbol characters");
    }
    Ok(())
}

/// The schema entry for an attribute name, if the pool accepts it.
pub fn schema_entry<'a>(settings: &'a PoolSettings, name: &str) -> Option<&'a SchemaAttribute> {
    settings.schema.iter().find(|a| a.name == name)
}

/// Who is writing attributes: a user may not touch system attributes or immutable ones after
/// creation; an admin may set `email_verified` / `phone_number_verified`, and immutable
/// attributes only when creating the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    SignUp,
    UserUpdate,
    AdminCreate,
    AdminUpdate,
}

impl Writer {
    fn is_admin(self) -> bool {
        matches!(self, Writer::AdminCreate | Writer::AdminUpdate)
    }
    fn is_update(self) -> bool {
        matches!(self, Writer::UserUpdate | Writer::AdminUpdate)
    }
}

/// The verification flags an admin may write.
pub const VERIFIED_FLAGS: &[&str] = &["email_verified", "phone_number_verified"];

/// Validates one attribute write against the pool schema.
pub fn attribute(settings: &PoolSettings, name: &str, value: &str, writer: Writer) -> Result<(), DomainError> {
    if writer.is_admin() && VERIFIED_FLAGS.contains(&name) {
        return match value {
            "true" | "false" => Ok(()),
            _ => Err(DomainError::invalid(format!("Attributes did not conform to the schema: {name}: Boolean expected."))),
        };
    }
    if SYSTEM_ATTRIBUTES.contains(&name) {
        return Err(DomainError::invalid(format!("Cannot modify the non-mutable attribute {name}")));
    }
    let known_standard = STANDARD_ATTRIBUTES.contains(&name);
    let entry = schema_entry(settings, name);
    if entry.is_none() && !known_standard {
        return Err(DomainError::invalid(format!("Attributes did not conform to the schema: {name}: Attribute does not exist in the schema.")));
    }
    if let Some(entry) = entry {
        if writer.is_update() && !entry.mutable {
            return Err(DomainError::invalid(format!("Cannot modify the non-mutable attribute {name}")));
        }
        if entry.developer_only {
            return Err(DomainError::invalid(format!("Cannot modify the developer-only attribute {name}")));
        }
    }
    let len = value.chars().count();
    let max = entry.map(|e| e.max_length as usize).filter(|m| *m > 0).unwrap_or(MAX_ATTRIBUTE_VALUE);
    let min = entry.map(|e| e.min_length as usize).unwrap_or(0);
    if len > max.min(MAX_ATTRIBUTE_VALUE) || len < min {
        return Err(DomainError::invalid(format!("Attributes did not conform to the schema: {name}: String must be between {min} and {max} characters.")));
    }
    let data_type = entry.map(|e| e.data_type.as_str()).unwrap_or("String");
    match (name, data_type) {
        ("email", _) if !is_email(value) => Err(DomainError::invalid("Invalid email address format.")),
        ("phone_number", _) if !is_e164(value) => {
            Err(DomainError::invalid("Invalid phone number format. Phone numbers must follow the E.164 format, e.g. +12065551234."))
        }
        (_, "Number") if value.parse::<f64>().map(|v| !v.is_finite()).unwrap_or(true) => {
            Err(DomainError::invalid(format!("Attributes did not conform to the schema: {name}: Number expected.")))
        }
        (_, "Boolean") if value != "true" && value != "false" => {
            Err(DomainError::invalid(format!("Attributes did not conform to the schema: {name}: Boolean expected.")))
        }
        (_, "Number") => number_bounds(entry, name, value),
        (_, "DateTime") if value.is_empty() || value.chars().any(char::is_control) => {
            Err(DomainError::invalid(format!("Attributes did not conform to the schema: {name}: DateTime expected.")))
        }
        _ => Ok(()),
    }
}

/// A Number attribute's value within its schema's `min_value` / `max_value`.
fn number_bounds(entry: Option<&SchemaAttribute>, name: &str, value: &str) -> Result<(), DomainError> {
    let Some(entry) = entry else { return Ok(()) };
    let v = value.parse::<f64>().unwrap_or(f64::NAN);
    let below = entry.min_value.is_some_and(|min| v < min as f64);
    let above = entry.max_value.is_some_and(|max| v > max as f64);
    if below || above {
        let show = |b: Option<i64>| b.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
        return Err(DomainError::invalid(format!(
            "Attributes did not conform to the schema: {name}: Number must be between {} and {}.",
            show(entry.min_value),
            show(entry.max_value)
        )));
    }
    Ok(())
}

/// Validates a whole attribute list: each entry, no duplicates, bounded count.
pub fn attributes(settings: &PoolSettings, attrs: &[(String, String)], writer: Writer) -> Result<(), DomainError> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(DomainError::invalid(format!("Too many attributes (at most {MAX_ATTRIBUTES}).")));
    }
    for (i, (name, value)) in attrs.iter().enumerate() {
        if attrs[..i].iter().any(|(n, _)| n == name) {
            return Err(DomainError::invalid(format!("Duplicate attribute {name}.")));
        }
        attribute(settings, name, value, writer)?;
    }
    Ok(())
}

/// The required attributes of the schema that `attrs` lacks.
pub fn missing_required<'a>(settings: &'a PoolSettings, attrs: &[(String, String)]) -> Vec<&'a str> {
    settings.schema.iter().filter(|a| a.required && !attrs.iter().any(|(n, _)| *n == a.name)).map(|a| a.name.as_str()).collect()
}

pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else { return false };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub fn is_e164(value: &str) -> bool {
    let Some(digits) = value.strip_prefix('+') else { return false };
    (4..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: 7,
        }
    }

    #[test]
    fn password_policy_names_the_missing_class() {
        let p = policy();
        assert!(password_policy(&p, "Corr3ct-horse").is_ok());
        for (pw, what) in [
            ("Sh0rt-", "long enough"),
            ("corr3ct-horse", "uppercase"),
            ("CORR3CT-HORSE", "lowercase"),
            ("Correct-horse", "numeric"),
            ("Corr3cthorse", "symbol"),
            (" Corr3ct-horse", "whitespace"),
        ] {
            match password_policy(&p, pw) {
                Err(DomainError::InvalidPassword(m)) => assert!(m.contains(what), "{pw}: {m}"),
                other => panic!("{pw}: {other:?}"),
            }
        }
        assert!(password_policy(&p, &format!("Aa1-{}", "x".repeat(300))).is_err());
    }

    #[test]
    fn emails_and_phones() {
        assert!(is_email("a.b+c@example.co.uk"));
        for bad in ["", "a", "a@b", "@b.c", "a@.c", "a b@c.d", "a@b.c."] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_e164("+12065551234"));
        for bad in ["12065551234", "+1", "+0123456", "+1206-555", "+1234567890123456"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        assert!(username("alice").is_ok());
        assert!(username("").is_err());
        assert!(username("a b").is_err());
        assert!(username(&"x".repeat(129)).is_err());
        assert!(username(&"é".repeat(128)).is_ok());
    }
}
