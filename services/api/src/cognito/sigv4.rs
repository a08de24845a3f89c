//! AWS Signature Version 4 verification of signed (admin) Cognito operations.
//!
//! The client lists the headers it signed (`SignedHeaders=`); the server must canonicalise
//! exactly those, in that order, with the body hash and the client's `X-Amz-Date`, then derive
//! the signing key from the admin secret and compare signatures in constant time.
//!
//! Why not the `aws-sigv4` crate: it signs, choosing the signed header set itself (it always
//! adds and signs `x-amz-date` from its own clock parameter and never signs `user-agent`,
//! `authorization`, `x-amzn-trace-id` or `transfer-encoding`), so re-signing a request cannot
//! reproduce an arbitrary client-chosen `SignedHeaders` list; it also brings the smithy runtime
//! crates along. The canonicalisation below is short, follows the SigV4 specification, and is
//! checked against a request signed by botocore (unit test) and against boto3 end to end.
//!
//! Errors (the names AWS answers with, all HTTP 400): no `Authorization` →
//! `MissingAuthenticationTokenException`; malformed header or missing `X-Amz-Date` →
//! `IncompleteSignatureException`; unknown access key id → `UnrecognizedClientException`;
//! wrong scope, clock skew over 15 minutes or a signature mismatch → `InvalidSignatureException`.

use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, Mac};
use idp_app::credentials::AdminCredentials;
use idp_crypto::srp::{civil_from_days, days_from_civil};
use sha2::{Digest, Sha256};

use super::errors::CognitoError;

/// The signing name of the service.
pub const SERVICE: &str = "cognito-idp";
/// Largest accepted distance between `X-Amz-Date` and the server clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The parts of the request the signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A parsed `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> CognitoError {
    CognitoError::new("IncompleteSignatureException", message)
}

fn invalid_signature(message: impl Into<String>) -> CognitoError {
    CognitoError::new("InvalidSignatureException", message)
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, CognitoError> {
    let Some(rest) = value.trim().strip_prefix(ALGORITHM) else {
        return Err(incomplete(format!("Unsupported authorization scheme: only {ALGORITHM} is accepted.")));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v.trim());
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v.trim());
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v.trim());
        }
    }
    let credential = credential.ok_or_else(|| incomplete("Authorization header requires 'Credential' parameter."))?;
    let signed = signed.ok_or_else(|| incomplete("Authorization header requires 'SignedHeaders' parameter."))?;
    let signature = signature.ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(incomplete("Credential must have the form <AccessKeyId>/<yyyyMMdd>/<region>/<service>/aws4_request."));
    };
    let signed_headers: Vec<&str> = signed.split(';').filter(|h| !h.is_empty()).collect();
    if signed_headers.is_empty() || access_key_id.is_empty() {
        return Err(incomplete("Authorization header has an empty Credential or SignedHeaders."));
    }
    Ok(Authorization { access_key_id, date, region, service, terminator, signed_headers, signature })
}

/// Unix seconds of an ISO-8601 basic timestamp (`20150830T123600Z`).
fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(4..6)?, num(6..8)?, num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Formats unix seconds as `20150830T123600Z`.
fn format_amz_date(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// RFC 3986 percent-encoding of everything but unreserved characters (and `/` when asked).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The canonical URI as botocore and the JS SDK compute it for non-S3 services: the path as
/// sent, dot segments removed, then percent-encoded once more (so `%` becomes `%25`).
fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut normalised = format!("/{}", segments.join("/"));
    if path.ends_with('/') && normalised != "/" {
        normalised.push('/');
    }
    uri_encode(&normalised, true)
}

fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&percent_decode(k), false), uri_encode(&percent_decode(v), false))
        })
        .collect();
    pairs.sort();
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// Values of a header, trimmed, inner runs of spaces collapsed, joined by `,`.
fn canonical_header_value(req: &SignedRequest<'_>, name: &str) -> String {
    let mut values: Vec<String> =
        req.headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    if values.is_empty() && name == "host" {
        if let Some(authority) = req.uri.authority() {
            values.push(authority.to_string());
        }
    }
    values.join(",")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CognitoError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| CognitoError::new("InternalErrorException", "An internal error occurred."))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The canonical request for `auth`'s signed headers.
fn canonical_request(req: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let mut headers = String::new();
    for name in signed_headers {
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&canonical_header_value(req, name));
        headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.as_str(),
        canonical_uri(req.uri.path()),
        canonical_query(req.uri.query()),
        headers,
        signed_headers.join(";"),
        sha256_hex(req.body)
    )
}

/// The hex signature of a request for a given secret and scope.
fn signature(req: &SignedRequest<'_>, auth: &Authorization<'_>, amz_date: &str, secret: &str) -> Result<String, CognitoError> {
    let scope = format!("{}/{}/{}/{}", auth.date, auth.region, auth.service, auth.terminator);
    let string_to_sign = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request(req, &auth.signed_headers).as_bytes()));
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes())?;
    let k_region = hmac(&k_date, auth.region.as_bytes())?;
    let k_service = hmac(&k_region, auth.service.as_bytes())?;
    let k_signing = hmac(&k_service, auth.terminator.as_bytes())?;
    Ok(hex::encode(hmac(&k_signing, string_to_sign.as_bytes())?))
}

/// Verifies a signed request against the admin credential at `now` (unix seconds).
pub fn verify(req: &SignedRequest<'_>, credentials: &AdminCredentials, now: i64) -> Result<(), CognitoError> {
    let Some(header) = req.headers.get("authorization") else {
        return Err(CognitoError::new("MissingAuthenticationTokenException", "Missing Authentication Token"));
    };
    let header = header.to_str().map_err(|_| incomplete("The Authorization header is not ASCII."))?;
    let auth = parse_authorization(header)?;
    if !idp_crypto::ct::ct_eq(auth.access_key_id.as_bytes(), credentials.access_key_id.as_bytes()) {
        return Err(CognitoError::new("UnrecognizedClientException", "The security token included in the request is invalid."));
    }
    if auth.service != SERVICE || auth.terminator != "aws4_request" {
        return Err(invalid_signature(format!("Credential should be scoped to correct service: '{SERVICE}'.")));
    }
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| incomplete("Authorization header requires existence of a 'X-Amz-Date' header."))?;
    let when = parse_amz_date(amz_date).ok_or_else(|| incomplete("X-Amz-Date must look like 20150830T123600Z."))?;
    if !amz_date.starts_with(auth.date) {
        return Err(invalid_signature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP."));
    }
    if when < now - MAX_SKEW_SECS {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            format_amz_date(now - MAX_SKEW_SECS),
            format_amz_date(now)
        )));
    }
    if when > now + MAX_SKEW_SECS {
        return Err(invalid_signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 15 min.)",
            format_amz_date(now + MAX_SKEW_SECS),
            format_amz_date(now)
        )));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(invalid_signature("'Host' must be a 'SignedHeader' in the AWS Authorization."));
    }
    let expected = signature(req, &auth, amz_date, &credentials.secret_access_key)?;
    if !idp_crypto::ct::ct_eq(expected.as_bytes(), auth.signature.to_ascii_lowercase().as_bytes()) {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    // Signed by botocore 1.44 (SigV4Auth(creds, "cognito-idp", "us-east-1")) for this request.
    const BODY: &[u8] = br#"{"PoolName": "seed"}"#;
    const DATE: &str = "20261126T122131Z";
    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/cognito-idp/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=f56ed7a7231caccfeeb728f0ab7c68f680d5a8ed769654fa541d90dd9b201d26";

    fn creds(id: &str, secret: &str) -> AdminCredentials {
        AdminCredentials { access_key_id: id.into(), secret_access_key: secret.into() }
    }

    fn headers(auth: Option<&str>, date: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        h.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
        h.insert("x-amz-target", HeaderValue::from_static("AWSCognitoIdentityProviderService.CreateUserPool"));
        h.insert("user-agent", HeaderValue::from_static("Boto3/1.44.8 (not signed)"));
        if let Ok(v) = HeaderValue::from_str(date) {
            h.insert("x-amz-date", v);
        }
        if let Some(a) = auth.and_then(|a| HeaderValue::from_str(a).ok()) {
            h.insert("authorization", a);
        }
        h
    }

    fn check(h: &HeaderMap, body: &[u8], c: &AdminCredentials, now: i64) -> Result<(), CognitoError> {
        let uri: Uri = "/".parse().expect("uri");
        verify(&SignedRequest { method: &Method::POST, uri: &uri, headers: h, body }, c, now)
    }

    fn now() -> i64 {
        parse_amz_date(DATE).expect("date") + 60
    }

    fn name(r: Result<(), CognitoError>) -> String {
        r.err().map(|e| e.name.to_string()).unwrap_or_else(|| "ok".into())
    }

    #[test]
    fn accepts_a_botocore_signature() {
        assert_eq!(name(check(&headers(Some(AUTH), DATE), BODY, &creds(AKID, SECRET), now())), "ok");
    }

    #[test]
    fn rejections_use_aws_names() {
        let good = creds(AKID, SECRET);
        assert_eq!(name(check(&headers(None, DATE), BODY, &good, now())), "MissingAuthenticationTokenException");
        assert_eq!(name(check(&headers(Some(AUTH), DATE), BODY, &creds(AKID, "wrong"), now())), "InvalidSignatureException");
        assert_eq!(name(check(&headers(Some(AUTH), DATE), BODY, &creds("AKIDOTHER", SECRET), now())), "UnrecognizedClientException");
        assert_eq!(name(check(&headers(Some(AUTH), DATE), br#"{"PoolName": "evil"}"#, &good, now())), "InvalidSignatureException");
        assert_eq!(name(check(&headers(Some(AUTH), "20261126T122132Z"), BODY, &good, now())), "InvalidSignatureException");
        assert_eq!(name(check(&headers(Some(AUTH), ""), BODY, &good, now())), "IncompleteSignatureException");
        assert_eq!(name(check(&headers(Some("AWS4-HMAC-SHA256 Credential=x"), DATE), BODY, &good, now())), "IncompleteSignatureException");
        assert_eq!(name(check(&headers(Some("Bearer abc"), DATE), BODY, &good, now())), "IncompleteSignatureException");
        let other_service = AUTH.replace("cognito-idp", "iam");
        assert_eq!(name(check(&headers(Some(&other_service), DATE), BODY, &good, now())), "InvalidSignatureException");
    }

    #[test]
    fn clock_skew() {
        let good = creds(AKID, SECRET);
        let t = parse_amz_date(DATE).expect("date");
        assert_eq!(name(check(&headers(Some(AUTH), DATE), BODY, &good, t + 15 * 60)), "ok");
        let late = check(&headers(Some(AUTH), DATE), BODY, &good, t + 15 * 60 + 1);
        assert!(
            late.as_ref().err().is_some_and(|e| e.message.starts_with("Signature expired: 20261126T122131Z is now earlier than 20261126T122132Z")),
            "{late:?}"
        );
        assert_eq!(name(check(&headers(Some(AUTH), DATE), BODY, &good, t - 15 * 60 - 1)), "InvalidSignatureException");
    }

    #[test]
    fn unsigned_headers_may_change_but_signed_ones_may_not() {
        let good = creds(AKID, SECRET);
        let mut h = headers(Some(AUTH), DATE);
        h.insert("user-agent", HeaderValue::from_static("something else"));
        assert_eq!(name(check(&h, BODY, &good, now())), "ok");
        h.insert("x-amz-target", HeaderValue::from_static("AWSCognitoIdentityProviderService.DeleteUserPool"));
        assert_eq!(name(check(&h, BODY, &good, now())), "InvalidSignatureException");
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/./b/../c/"), "/a/c/");
        assert_eq!(canonical_uri("/a%20b"), "/a%2520b");
        assert_eq!(canonical_query(Some("b=2&a=1&a=0")), "a=0&a=1&b=2");
        assert_eq!(canonical_query(Some("x=a%20b")), "x=a%20b");
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(parse_amz_date("20150830T123600Z").map(format_amz_date).as_deref(), Some("20150830T123600Z"));
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
    }

    /// The AWS documentation's worked example (IAM ListUsers, GET with a query string).
    #[test]
    fn aws_documentation_example() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        h.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"));
        h.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().expect("uri");
        let req = SignedRequest { method: &Method::GET, uri: &uri, headers: &h, body: b"" };
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=x",
        )
        .expect("parse");
        let sig = signature(&req, &auth, "20150830T123600Z", SECRET).expect("sign");
        assert_eq!(sig, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
    }
}
