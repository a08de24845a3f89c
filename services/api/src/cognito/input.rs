//! Reading Cognito JSON 1.1 request members: tolerant of form, strict about values.
//!
//! Tolerant: a member that is absent, `null`, or (for optional lists, maps and structures) `{}`
//! counts as not given; unknown members are ignored (clients send analytics and context
//! members this service does not use). Strict: a given value must have the right JSON type and
//! satisfy the service model's constraint (length, pattern, range, enum); otherwise the call
//! fails with InvalidParameterException and a message in Cognito's style naming the member,
//! never echoing its value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::errors::CognitoError;

/// The characters a string member may hold (the model's regular expressions, as predicates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// No pattern.
    Any,
    /// `[\w+]+` (client ids, client secrets).
    Word,
    /// `[\w+=/]+` (SECRET_HASH).
    Base64,
    /// `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`: visible characters, no whitespace or controls.
    Visible,
    /// `[\S]+`.
    NonSpace,
    /// `[A-Za-z0-9-_=.]+` (JWTs and opaque tokens).
    Token,
    /// `[\w\s+=,.@-]+` (pool and client names).
    Name,
    /// `[\w-]+_[0-9a-zA-Z]+` (user pool ids).
    PoolId,
    /// Passwords: no control characters, no leading or trailing whitespace.
    Password,
}

impl Chars {
    fn pattern(self) -> &'static str {
        match self {
            Chars::Any => "",
            Chars::Word => r"[\w+]+",
            Chars::Base64 => r"[\w+=/]+",
            Chars::Visible => r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+",
            Chars::NonSpace => r"[\S]+",
            Chars::Token => r"[A-Za-z0-9-_=.]+",
            Chars::Name => r"[\w\s+=,.@-]+",
            Chars::PoolId => r"[\w-]+_[0-9a-zA-Z]+",
            Chars::Password => r"^[\S]+.*[\S]+$",
        }
    }

    fn accepts(self, s: &str) -> bool {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        match self {
            Chars::Any => true,
            Chars::Word => s.chars().all(|c| word(c) || c == '+'),
            Chars::Base64 => s.chars().all(|c| word(c) || matches!(c, '+' | '=' | '/')),
            Chars::Visible | Chars::NonSpace => s.chars().all(|c| !c.is_whitespace() && !c.is_control()),
            Chars::Token => s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '.')),
            Chars::Name => s.chars().all(|c| word(c) || c.is_whitespace() || matches!(c, '+' | '=' | ',' | '.' | '@' | '-')),
            Chars::PoolId => match s.split_once('_') {
                Some((region, id)) => {
                    !region.is_empty() && region.chars().all(|c| word(c) || c == '-') && !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
                }
                None => false,
            },
            Chars::Password => !s.chars().any(char::is_control) && !s.starts_with(char::is_whitespace) && !s.ends_with(char::is_whitespace),
        }
    }
}

/// The model's constraint on a string member.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub min: usize,
    pub max: usize,
    pub chars: Chars,
}

impl Rule {
    pub const fn new(min: usize, max: usize, chars: Chars) -> Rule {
        Rule { min, max, chars }
    }
}

/// Constraints used by several operations.
pub mod rules {
    use super::{Chars, Rule};
    pub const CLIENT_ID: Rule = Rule::new(1, 128, Chars::Word);
    pub const CLIENT_SECRET: Rule = Rule::new(24, 64, Chars::Word);
    pub const POOL_ID: Rule = Rule::new(1, 55, Chars::PoolId);
    pub const USERNAME: Rule = Rule::new(1, 128, Chars::Visible);
    pub const PASSWORD: Rule = Rule::new(1, 256, Chars::Password);
    pub const SECRET_HASH: Rule = Rule::new(1, 128, Chars::Base64);
    pub const CODE: Rule = Rule::new(1, 2048, Chars::NonSpace);
    pub const TOKEN: Rule = Rule::new(1, 16 * 1024, Chars::Token);
    pub const ATTRIBUTE_NAME: Rule = Rule::new(1, 32, Chars::Visible);
    pub const ATTRIBUTE_VALUE: Rule = Rule::new(0, 2048, Chars::Any);
    pub const NAME: Rule = Rule::new(1, 128, Chars::Name);
    pub const NEXT_TOKEN: Rule = Rule::new(1, 131_072, Chars::NonSpace);
    pub const SESSION: Rule = Rule::new(20, 2048, Chars::Any);
    pub const MAP_VALUE: Rule = Rule::new(0, 131_072, Chars::Any);
    pub const FILTER: Rule = Rule::new(0, 256, Chars::Any);
}

fn validation(member: &str, constraint: impl std::fmt::Display) -> CognitoError {
    CognitoError::invalid(format!("1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"))
}

fn not_null(member: &str) -> CognitoError {
    CognitoError::invalid(format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"))
}

fn wrong_type(member: &str, expected: &str) -> CognitoError {
    CognitoError::invalid(format!("Value at '{member}' must be {expected}"))
}

/// The wire's camelCase member name of a PascalCase key (`ClientId` → `clientId`).
fn camel(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Parses a request body: empty means `{}`; anything but a JSON object is a SerializationException.
pub fn parse_body(bytes: &[u8]) -> Result<Value, CognitoError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(CognitoError::new("SerializationException", "The request body must be a JSON object.")),
        Err(e) => Err(CognitoError::new("SerializationException", format!("The request body is not valid JSON: {e}"))),
    }
}

/// A JSON object's members, with the member path used in error messages.
pub struct Input<'a> {
    obj: &'a Map<String, Value>,
    path: String,
}

impl<'a> Input<'a> {
    /// The request's top level (`value` comes from [`parse_body`]).
    pub fn root(value: &'a Value) -> Input<'a> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match value {
            Value::Object(obj) => Input { obj, path: String::new() },
            _ => Input { obj: EMPTY.get_or_init(Map::new), path: String::new() },
        }
    }

    fn member(&self, key: &str) -> String {
        if self.path.is_empty() {
            camel(key)
        } else {
            format!("{}.{}", self.path, camel(key))
        }
    }

    /// The member's value, `None` when absent or null.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn check(&self, key: &str, s: &'a str, rule: Rule) -> Result<&'a str, CognitoError> {
        let member = self.member(key);
        let n = s.chars().count();
        if n < rule.min {
            return Err(validation(&member, format_args!("Member must have length greater than or equal to {}", rule.min)));
        }
        if n > rule.max {
            return Err(validation(&member, format_args!("Member must have length less than or equal to {}", rule.max)));
        }
        if !rule.chars.accepts(s) {
            return Err(validation(&member, format_args!("Member must satisfy regular expression pattern: {}", rule.chars.pattern())));
        }
        Ok(s)
    }

    /// An optional string member.
    pub fn opt_str(&self, key: &str, rule: Rule) -> Result<Option<&'a str>, CognitoError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => self.check(key, s, rule).map(Some),
            Some(_) => Err(wrong_type(&self.member(key), "a string")),
        }
    }

    /// A required string member.
    pub fn str(&self, key: &str, rule: Rule) -> Result<&'a str, CognitoError> {
        self.opt_str(key, rule)?.ok_or_else(|| not_null(&self.member(key)))
    }

    /// An optional string member that must be one of `allowed`.
    pub fn opt_enum(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>, CognitoError> {
        match self.opt_str(key, Rule::new(0, 256, Chars::Any))? {
            None => Ok(None),
            Some(s) if allowed.contains(&s) => Ok(Some(s)),
            Some(_) => Err(validation(&self.member(key), format_args!("Member must satisfy enum value set: [{}]", allowed.join(", ")))),
        }
    }

    /// A required enum member.
    pub fn enumeration(&self, key: &str, allowed: &[&str]) -> Result<&'a str, CognitoError> {
        self.opt_enum(key, allowed)?.ok_or_else(|| not_null(&self.member(key)))
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, CognitoError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(&self.member(key), "a boolean")),
        }
    }

    /// An optional integer member within `min..=max`.
    pub fn opt_int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, CognitoError> {
        let member = self.member(key);
        let n = match self.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| wrong_type(&member, "an integer"))?,
            Some(_) => return Err(wrong_type(&member, "an integer")),
        };
        if n < min {
            return Err(validation(&member, format_args!("Member must have value greater than or equal to {min}")));
        }
        if n > max {
            return Err(validation(&member, format_args!("Member must have value less than or equal to {max}")));
        }
        Ok(Some(n))
    }

    /// Whether the object has any member that is not null.
    pub fn has_members(&self) -> bool {
        self.obj.values().any(|v| !v.is_null())
    }

    /// An optional structure member (`{}` is given-and-empty, still a structure).
    pub fn opt_object(&self, key: &str) -> Result<Option<Input<'a>>, CognitoError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(obj)) => Ok(Some(Input { obj, path: self.member(key) })),
            Some(_) => Err(wrong_type(&self.member(key), "a structure")),
        }
    }

    /// The items of an optional list member (`{}` counts as not given).
    fn list(&self, key: &str) -> Result<Option<&'a Vec<Value>>, CognitoError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(Value::Object(o)) if o.is_empty() => Ok(None),
            Some(_) => Err(wrong_type(&self.member(key), "a list")),
        }
    }

    /// An optional list of strings, each satisfying `rule`.
    pub fn opt_str_list(&self, key: &str, rule: Rule, max_items: usize) -> Result<Option<Vec<String>>, CognitoError> {
        let Some(items) = self.list(key)? else { return Ok(None) };
        let member = self.member(key);
        if items.len() > max_items {
            return Err(validation(&member, format_args!("Member must have length less than or equal to {max_items}")));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::String(s) = item else { return Err(wrong_type(&format!("{member}.{}", i + 1), "a string")) };
            self.check(&format!("{key}.{}", i + 1), s, rule)?;
            out.push(s.clone());
        }
        Ok(Some(out))
    }

    /// An optional list of structures.
    pub fn opt_object_list(&self, key: &str, max_items: usize) -> Result<Option<Vec<Input<'a>>>, CognitoError> {
        let Some(items) = self.list(key)? else { return Ok(None) };
        let member = self.member(key);
        if items.len() > max_items {
            return Err(validation(&member, format_args!("Member must have length less than or equal to {max_items}")));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(obj) => Ok(Input { obj, path: format!("{member}.{}.member", i + 1) }),
                _ => Err(wrong_type(&format!("{member}.{}", i + 1), "a structure")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list of `{Name, Value}` attributes (absent, null and `{}` give an empty list).
    pub fn attributes(&self, key: &str) -> Result<Vec<(String, String)>, CognitoError> {
        let mut out = Vec::new();
        for item in self.opt_object_list(key, 256)?.unwrap_or_default() {
            let name = item.str("Name", rules::ATTRIBUTE_NAME)?;
            let value = item.opt_str("Value", rules::ATTRIBUTE_VALUE)?.unwrap_or("");
            out.push((name.to_string(), value.to_string()));
        }
        Ok(out)
    }

    /// A string-to-string map (absent, null and `{}` give an empty map; null values are
    /// dropped). Keys must be 1..=128 visible characters.
    pub fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, CognitoError> {
        let member = self.member(key);
        let obj = match self.get(key) {
            None => return Ok(BTreeMap::new()),
            Some(Value::Object(obj)) => obj,
            Some(_) => return Err(wrong_type(&member, "a map")),
        };
        if obj.len() > 256 {
            return Err(validation(&member, "Member must have at most 256 entries"));
        }
        let inner = Input { obj, path: member.clone() };
        let mut out = BTreeMap::new();
        for (k, v) in obj {
            if k.is_empty() || k.chars().count() > 128 || k.chars().any(char::is_control) {
                return Err(validation(&member, "Map keys must be 1 to 128 characters"));
            }
            match v {
                Value::Null => {}
                Value::String(s) => {
                    inner.check(k, s, rules::MAP_VALUE)?;
                    out.insert(k.clone(), s.clone());
                }
                _ => return Err(wrong_type(&format!("{member}.{k}"), "a string")),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(r: Result<impl std::fmt::Debug, CognitoError>) -> String {
        match r {
            Err(e) => {
                assert_eq!(e.name, "InvalidParameterException", "{e:?}");
                e.message
            }
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn body_parsing() {
        assert!(parse_body(b"").is_ok());
        assert!(parse_body(b"  \n").is_ok());
        assert_eq!(parse_body(b"[1]").map_err(|e| e.name).err().as_deref(), Some("SerializationException"));
        assert_eq!(parse_body(b"{bad").map_err(|e| e.name).err().as_deref(), Some("SerializationException"));
    }

    #[test]
    fn nulls_and_empty_objects_are_absent() {
        let v = json!({"ClientId": "abc", "SecretHash": null, "ValidationData": null, "ClientMetadata": {}, "UserAttributes": {}});
        let i = Input::root(&v);
        assert_eq!(i.str("ClientId", rules::CLIENT_ID).ok(), Some("abc"));
        assert_eq!(i.opt_str("SecretHash", rules::SECRET_HASH).ok(), Some(None));
        assert!(i.attributes("ValidationData").is_ok_and(|a| a.is_empty()));
        assert!(i.attributes("UserAttributes").is_ok_and(|a| a.is_empty()));
        assert!(i.string_map("ClientMetadata").is_ok_and(|m| m.is_empty()));
        assert!(i.string_map("Missing").is_ok_and(|m| m.is_empty()));
    }

    #[test]
    fn strict_values() {
        let v = json!({"ClientId": "a b", "Username": "", "MaxResults": 61, "Flag": "yes", "Flow": "NOPE", "PoolId": "nounderscore"});
        let i = Input::root(&v);
        assert!(msg(i.str("ClientId", rules::CLIENT_ID)).contains("'clientId' failed to satisfy constraint: Member must satisfy regular expression pattern"));
        assert!(msg(i.str("Username", rules::USERNAME)).contains("length greater than or equal to 1"));
        assert!(msg(i.str("Password", rules::PASSWORD)).contains("Value null at 'password'"));
        assert!(msg(i.opt_int("MaxResults", 1, 60)).contains("less than or equal to 60"));
        assert!(msg(i.opt_bool("Flag")).contains("must be a boolean"));
        assert!(msg(i.opt_enum("Flow", &["A", "B"])).contains("enum value set: [A, B]"));
        assert!(msg(i.str("PoolId", rules::POOL_ID)).contains("pattern"));
    }

    #[test]
    fn messages_never_echo_values() {
        let v = json!({"Password": " secret-with-space "});
        let m = msg(Input::root(&v).str("Password", rules::PASSWORD));
        assert!(!m.contains("secret"), "{m}");
    }

    #[test]
    fn nested_paths_and_lists() {
        let v = json!({"Policies": {"PasswordPolicy": {"MinimumLength": 3}}, "UserAttributes": [{"Name": "email", "Value": "a@b"}, {"Value": "x"}]});
        let i = Input::root(&v);
        let p = i.opt_object("Policies").ok().flatten().and_then(|p| p.opt_object("PasswordPolicy").ok().flatten());
        let m = p.map(|p| msg(p.opt_int("MinimumLength", 6, 99))).unwrap_or_default();
        assert!(m.contains("'policies.passwordPolicy.minimumLength'"), "{m}");
        assert!(msg(i.attributes("UserAttributes")).contains("'userAttributes.2.member.name'"));
    }

    #[test]
    fn patterns() {
        assert!(Chars::PoolId.accepts("us-east-1_AbC123"));
        assert!(!Chars::PoolId.accepts("us-east-1_"));
        assert!(!Chars::PoolId.accepts("_abc"));
        assert!(Chars::Password.accepts("a b"));
        assert!(!Chars::Password.accepts(" ab"));
        assert!(!Chars::Password.accepts("ab\n"));
        assert!(Chars::Token.accepts("eyJ.abc-_="));
        assert!(!Chars::Token.accepts("a b"));
        assert!(Chars::Base64.accepts("ab+/="));
        assert!(Chars::Visible.accepts("älice@example.com"));
        assert!(!Chars::Visible.accepts("a b"));
    }
}
