//! ListUsers search: Cognito's filter grammar and the searchable attributes of a user.
//!
//! A filter is `AttributeName Filter-Type "AttributeValue"`:
//!
//! ```text
//! filter := ws* name ws* ("=" | "^=") ws* '"' value '"' ws*
//! name   := one or more characters other than whitespace, '=', '^', '"' and '\'
//! value  := any characters; '\"' stands for '"' and '\\' for '\' (any other '\' is literal)
//! ```
//!
//! `=` is an exact match and `^=` a prefix ("starts with") match. An empty (or all-whitespace)
//! filter means "no filter". A filter that does not follow the grammar is refused with
//! `InvalidParameterException: Error while parsing filter`; a well-formed filter on an attribute
//! that cannot be searched with `InvalidParameterException: Invalid search attribute: <name>`.
//!
//! Searchable attributes and their case rules, as Cognito documents them: `username`
//! (case-sensitive, matched against the username as the user gave it), `email`,
//! `phone_number`, `name`, `given_name`, `family_name`, `preferred_username`, `sub` (exact
//! bytes), `cognito:user_status` (case-insensitive: UNCONFIRMED, CONFIRMED, …) and `status`
//! (`Enabled` / `Disabled`, case-sensitive). Custom attributes are not searchable.
//!
//! The same [`SearchAttribute::value_of`] feeds the projector's index rows and
//! [`SearchAttribute::normalize`] the query, so both sides compare identical strings.

use std::borrow::Cow;

use crate::pb::UserState;
use crate::DomainError;

/// The longest filter accepted (Cognito's `UserFilterType`).
pub const MAX_FILTER_LEN: usize = 256;

/// Declares [`SearchAttribute`], its wire names and [`SearchAttribute::ALL`] from one list.
macro_rules! searchable {
    ($($variant:ident => $name:literal,)*) => {
        /// An attribute ListUsers can filter on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SearchAttribute {
            $($variant,)*
        }

        impl SearchAttribute {
            /// Every searchable attribute (the projector keeps one index partition per pool
            /// and attribute).
            pub const ALL: &'static [SearchAttribute] = &[$(SearchAttribute::$variant,)*];

            /// The name used in filters (and in the index's partition key: never rename one).
            pub fn name(self) -> &'static str {
                match self {
                    $(SearchAttribute::$variant => $name,)*
                }
            }

            /// The attribute a filter names, if it is searchable (names are case-sensitive).
            pub fn from_name(name: &str) -> Option<SearchAttribute> {
                match name {
                    $($name => Some(SearchAttribute::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

searchable! {
    Username => "username",
    Email => "email",
    PhoneNumber => "phone_number",
    Name => "name",
    GivenName => "given_name",
    FamilyName => "family_name",
    PreferredUsername => "preferred_username",
    UserStatus => "cognito:user_status",
    Status => "status",
    Sub => "sub",
}

impl SearchAttribute {
    /// The value a user is found under for this attribute, already normalised (see
    /// [`normalize`](SearchAttribute::normalize)); `None` when the user has no such value.
    pub fn value_of(self, user: &UserState) -> Option<String> {
        self.value_ref(user).map(Cow::into_owned)
    }

    /// [`value_of`](SearchAttribute::value_of) without copying what the state already holds
    /// (the projector compares every searchable value on every user change).
    pub fn value_ref(self, user: &UserState) -> Option<Cow<'_, str>> {
        match self {
            SearchAttribute::Username => Some(Cow::Borrowed(&user.username)),
            SearchAttribute::Sub => Some(Cow::Borrowed(&user.sub)),
            SearchAttribute::UserStatus if !user.status.bytes().any(|b| b.is_ascii_lowercase()) => Some(Cow::Borrowed(&user.status)),
            SearchAttribute::UserStatus => Some(Cow::Owned(self.normalize(&user.status))),
            SearchAttribute::Status => Some(Cow::Borrowed(if user.enabled { "Enabled" } else { "Disabled" })),
            other => user.attributes.get(other.name()).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    /// The form both the index and the query use: upper case for `cognito:user_status` (the
    /// one case-insensitive attribute; its values are ASCII), the value as given otherwise.
    pub fn normalize(self, value: &str) -> String {
        match self {
            SearchAttribute::UserStatus => value.to_ascii_uppercase(),
            _ => value.to_string(),
        }
    }
}

/// `=` or `^=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Prefix,
}

/// A parsed ListUsers filter; `value` is already normalised for `attribute`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub attribute: SearchAttribute,
    pub kind: MatchKind,
    pub value: String,
}

impl Filter {
    /// Whether `user` matches (the same comparison the index range scan makes).
    pub fn matches(&self, user: &UserState) -> bool {
        match self.attribute.value_of(user) {
            None => false,
            Some(v) => match self.kind {
                MatchKind::Exact => v == self.value,
                MatchKind::Prefix => v.starts_with(&self.value),
            },
        }
    }
}

fn parse_error() -> DomainError {
    DomainError::invalid("Error while parsing filter")
}

/// Parses a ListUsers filter. `Ok(None)`: empty filter (every user).
pub fn parse_filter(text: &str) -> Result<Option<Filter>, DomainError> {
    if text.chars().count() > MAX_FILTER_LEN {
        return Err(DomainError::invalid(format!(
            "1 validation error detected: Value at 'filter' failed to satisfy constraint: Member must have length less than or equal to {MAX_FILTER_LEN}"
        )));
    }
    let rest = text.trim_start();
    if rest.is_empty() {
        return Ok(None);
    }
    let name_len = rest.find(|c: char| c.is_whitespace() || matches!(c, '=' | '^' | '"' | '\\')).unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_len);
    if name.is_empty() {
        return Err(parse_error());
    }
    let rest = rest.trim_start();
    let (kind, rest) = if let Some(r) = rest.strip_prefix("^=") {
        (MatchKind::Prefix, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchKind::Exact, r)
    } else {
        return Err(parse_error());
    };
    let rest = rest.trim_start().strip_prefix('"').ok_or_else(parse_error)?;
    let mut value = String::new();
    let mut chars = rest.char_indices();
    let end = loop {
        match chars.next() {
            None => return Err(parse_error()),
            Some((i, '"')) => break i + 1,
            Some((_, '\\')) => match chars.clone().next() {
                Some((_, c @ ('"' | '\\'))) => {
                    value.push(c);
                    chars.next();
                }
                _ => value.push('\\'),
            },
            Some((_, c)) => value.push(c),
        }
    };
    if !rest[end..].trim().is_empty() {
        return Err(parse_error());
    }
    let attribute = SearchAttribute::from_name(name).ok_or_else(|| DomainError::invalid(format!("Invalid search attribute: {name}")))?;
    Ok(Some(Filter { attribute, kind, value: attribute.normalize(&value) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Filter {
        match parse_filter(text) {
            Ok(Some(f)) => f,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn err(text: &str) -> String {
        match parse_filter(text) {
            Err(e) => {
                assert_eq!(e.name(), "InvalidParameterException");
                e.to_string()
            }
            other => panic!("{text:?} parsed: {other:?}"),
        }
    }

    fn f(attribute: SearchAttribute, kind: MatchKind, value: &str) -> Filter {
        Filter { attribute, kind, value: value.to_string() }
    }

    #[test]
    fn both_operators_with_and_without_spaces() {
        use MatchKind::*;
        use SearchAttribute::*;
        assert_eq!(ok(r#"family_name = "Reddy""#), f(FamilyName, Exact, "Reddy"));
        assert_eq!(ok(r#"given_name ^= "Jon""#), f(GivenName, Prefix, "Jon"));
        assert_eq!(ok(r#"phone_number="+33666666666""#), f(PhoneNumber, Exact, "+33666666666"));
        assert_eq!(ok(r#"email^="a@""#), f(Email, Prefix, "a@"));
        assert_eq!(ok("\t email \n =\t\"x\"  \n"), f(Email, Exact, "x"));
        assert_eq!(ok(r#"name = """#), f(Name, Exact, ""));
        assert_eq!(ok(r#"sub ^= """#), f(Sub, Prefix, ""));
    }

    #[test]
    fn empty_filter_is_no_filter() {
        assert_eq!(parse_filter(""), Ok(None));
        assert_eq!(parse_filter("  \t\n"), Ok(None));
    }

    #[test]
    fn escapes() {
        assert_eq!(ok(r#"name = "Say \"hi\"""#).value, r#"Say "hi""#);
        assert_eq!(ok(r#"name = "back\\slash""#).value, r"back\slash");
        assert_eq!(ok(r#"name = "ends with \\""#).value, r"ends with \");
        assert_eq!(ok(r#"name = "a\b""#).value, r"a\b", "other escapes stay literal");
        assert_eq!(ok(r#"name = "= ^= ""#).value, "= ^= ");
        assert_eq!(ok(r#"name = "ünï ✓""#).value, "ünï ✓");
    }

    #[test]
    fn case_rules() {
        assert_eq!(ok(r#"cognito:user_status = "confirmed""#).value, "CONFIRMED", "case-insensitive");
        assert_eq!(ok(r#"cognito:user_status ^= "Unc""#).value, "UNC");
        assert_eq!(ok(r#"status = "enabled""#).value, "enabled", "case-sensitive: matches nobody");
        assert_eq!(ok(r#"username = "Alice""#).value, "Alice");
        assert_eq!(err(r#"Email = "x""#), "Invalid search attribute: Email", "names are case-sensitive");
    }

    #[test]
    fn malformed_filters() {
        for text in [
            "username = foo",
            "username=",
            "username",
            r#"= "x""#,
            r#"^= "x""#,
            r#"username == "x""#,
            r#"username ^ "x""#,
            r#"username != "x""#,
            r#"username = "x"#,
            r#"username = "x\""#,
            r#"username = "x" extra"#,
            r#"username = "x" and email = "y""#,
            r#"username = "x""y""#,
            r#"username = 'x'"#,
            r#""username" = "x""#,
            r#"user\name = "x""#,
        ] {
            assert_eq!(err(text), "Error while parsing filter", "{text}");
        }
    }

    #[test]
    fn unsearchable_attributes() {
        assert_eq!(err(r#"custom:foo = "bar""#), "Invalid search attribute: custom:foo");
        assert_eq!(err(r#"address ^= "x""#), "Invalid search attribute: address");
        assert_eq!(err(r#"email_verified = "true""#), "Invalid search attribute: email_verified");
    }

    #[test]
    fn length_limit() {
        let long = format!("name = \"{}\"", "x".repeat(MAX_FILTER_LEN));
        assert!(err(&long).contains("length less than or equal to 256"));
        let fits = format!("name = \"{}\"", "x".repeat(MAX_FILTER_LEN - 9));
        assert_eq!(ok(&fits).value.len(), MAX_FILTER_LEN - 9);
    }

    #[test]
    fn every_attribute_round_trips_its_name() {
        assert_eq!(SearchAttribute::ALL.len(), 10);
        for a in SearchAttribute::ALL {
            assert_eq!(SearchAttribute::from_name(a.name()), Some(*a));
            assert_eq!(ok(&format!("{} = \"v\"", a.name())).attribute, *a);
        }
    }

    #[test]
    fn values_and_matching() {
        let mut user = UserState { username: "Alice".into(), sub: "s-1".into(), status: "CONFIRMED".into(), enabled: true, ..Default::default() };
        user.attributes.insert("email".into(), "alice@example.com".into());
        use SearchAttribute::*;
        assert_eq!(Username.value_of(&user).as_deref(), Some("Alice"));
        assert_eq!(Sub.value_of(&user).as_deref(), Some("s-1"));
        assert_eq!(Status.value_of(&user).as_deref(), Some("Enabled"));
        assert_eq!(UserStatus.value_of(&user).as_deref(), Some("CONFIRMED"));
        assert_eq!(Email.value_of(&user).as_deref(), Some("alice@example.com"));
        assert_eq!(Name.value_of(&user), None);
        assert!(ok(r#"email ^= "alice@""#).matches(&user));
        assert!(!ok(r#"email = "alice@""#).matches(&user));
        assert!(ok(r#"cognito:user_status = "confirmed""#).matches(&user));
        assert!(!ok(r#"username = "alice""#).matches(&user));
        assert!(!ok(r#"name ^= """#).matches(&user), "no value, no match");
        user.enabled = false;
        assert!(ok(r#"status = "Disabled""#).matches(&user));
    }

    #[test]
    fn borrowed_values_equal_owned_ones() {
        let mut u = UserState { username: "Al".into(), sub: "s".into(), status: "CONFIRMED".into(), enabled: true, ..Default::default() };
        u.attributes.insert("email".into(), "a@x.io".into());
        for status in ["CONFIRMED", "confirmed", "Force_Change_Password"] {
            u.status = status.into();
            for &a in SearchAttribute::ALL {
                assert_eq!(a.value_ref(&u).map(|v| v.into_owned()), a.value_of(&u), "{a:?} with status {status}");
            }
        }
        assert_eq!(SearchAttribute::UserStatus.value_of(&u).as_deref(), Some("FORCE_CHANGE_PASSWORD"));
    }
}
