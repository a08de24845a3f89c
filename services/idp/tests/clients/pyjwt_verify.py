"""Verifies the service's ID and access tokens with PyJWT's PyJWKClient (an independent JOSE
implementation fetching the pool's JWKS over HTTP).

Driven by services/idp/tests/cognito_boto3.rs. Environment:
  IDP_ENDPOINT    http://127.0.0.1:PORT
  IDP_ISSUER      the expected `iss` (<issuer base>/<pool id>)
  IDP_POOL_ID, IDP_CLIENT_ID, IDP_ID_TOKEN, IDP_ACCESS_TOKEN

Prints one JSON object on the last line of stdout; exits non-zero at the first failure.
"""

import json
import os
import sys
import time
import urllib.request

import jwt
from jwt import PyJWKClient

ENDPOINT = os.environ["IDP_ENDPOINT"]
ISSUER = os.environ["IDP_ISSUER"]
POOL_ID = os.environ["IDP_POOL_ID"]
CLIENT_ID = os.environ["IDP_CLIENT_ID"]
CHECKS = []


def fail(msg):
    print(f"pyjwt_verify: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    CHECKS.append(what)


def must_fail(what, fn):
    try:
        fn()
    except jwt.PyJWTError as e:
        CHECKS.append(f"{what}: {type(e).__name__}")
        return
    fail(f"{what}: verification succeeded")


def main():
    jwks = PyJWKClient(f"{ENDPOINT}/{POOL_ID}/.well-known/jwks.json")
    id_token, access_token = os.environ["IDP_ID_TOKEN"], os.environ["IDP_ACCESS_TOKEN"]
    opts = {"require": ["exp", "iat", "iss", "sub"]}

    key = jwks.get_signing_key_from_jwt(id_token)
    check(jwt.get_unverified_header(id_token).get("kid") == key.key_id, "ID token kid is in the JWKS")
    claims = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER, options=opts)
    check(claims["token_use"] == "id", "ID token: token_use id")
    check(claims["aud"] == CLIENT_ID, "ID token: aud is the client id")
    check(claims["exp"] > time.time() and claims["exp"] - claims["iat"] == 3600, "ID token: exp one hour ahead")
    check(claims.get("cognito:username") == "alice" and claims.get("email_verified") is True, "ID token: cognito:username, email_verified")

    key = jwks.get_signing_key_from_jwt(access_token)
    claims = jwt.decode(access_token, key.key, algorithms=["RS256"], issuer=ISSUER, options={**opts, "verify_aud": False})
    check(claims["token_use"] == "access", "access token: token_use access")
    check(claims["client_id"] == CLIENT_ID and "aud" not in claims, "access token: client_id, no aud")
    check(claims.get("scope") == "aws.cognito.signin.user.admin", "access token: scope")
    check(claims["exp"] > time.time(), "access token: not expired")

    must_fail("ID token with another audience", lambda: jwt.decode(id_token, key.key, algorithms=["RS256"], audience="other", issuer=ISSUER))
    must_fail("ID token with another issuer", lambda: jwt.decode(id_token, key.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER + "x"))
    head, body, sig = id_token.split(".")
    forged = f"{head}.{body[:-4]}AAAA.{sig}"
    must_fail("tampered ID token", lambda: jwt.decode(forged, key.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER))
    must_fail("HS256 with the public key (alg confusion)", lambda: jwt.decode(id_token, key.key, algorithms=["HS256"], audience=CLIENT_ID))

    discovery = urllib.request.urlopen(f"{ENDPOINT}/{POOL_ID}/.well-known/openid-configuration").read()
    conf = json.loads(discovery)
    check(conf["issuer"] == ISSUER and conf["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json", "OIDC discovery issuer and jwks_uri")
    print(json.dumps({"checks": CHECKS}))


if __name__ == "__main__":
    main()
