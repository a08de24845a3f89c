"""The seed flow with boto3's unchanged `cognito-idp` client against the service.

Driven by services/idp/tests/cognito_boto3.rs. Environment:
  IDP_ENDPOINT            http://127.0.0.1:PORT (the HTTP listener)
  IDP_ACCESS_KEY_ID       admin key id (from <data-dir>/admin.json)
  IDP_SECRET_ACCESS_KEY   admin secret
  IDP_DATA_DIR            the server's data dir (codes are read from outbox.jsonl)
  IDP_REGION              region of the pool ids (default us-east-1)

Prints one JSON object on the last line of stdout (pool, client, tokens, checks); exits non-zero
with a message on stderr at the first failed expectation.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys
import time

import boto3
import botocore
from botocore.config import Config
from cognito_kit import ENDPOINT, REGION, DATA_DIR, PASSWORD, CHECKS, fail, check, expect_error, expect_code, client


def code_for(pool_id, username, kind):
    """The latest code of `kind` sent to `username` of the pool (waits for the dispatcher)."""
    path = os.path.join(DATA_DIR, "outbox.jsonl")
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            with open(path) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            lines = []
        found = [m for m in lines if m.get("pool_id") == pool_id and m.get("username") == username and m.get("kind") == kind]
        if found:
            return found[-1]["code"]
        time.sleep(0.05)
    fail(f"no {kind} code for {username} in the outbox")


def main():
    admin = client(aws_access_key_id=os.environ["IDP_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["IDP_SECRET_ACCESS_KEY"])
    # An app's client: no credentials at all (every user operation is unsigned).
    users = client(unsigned=True)
    ex = users.exceptions

    # --- admin (SigV4-signed) -------------------------------------------------------------
    pool = admin.create_user_pool(
        PoolName="boto3-seed",
        AutoVerifiedAttributes=["email"],
        Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": False}},
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
    )["UserPool"]
    pool_id = pool["Id"]
    check(re.fullmatch(re.escape(REGION) + r"_[0-9a-zA-Z]+", pool_id) is not None, f"pool id has Cognito's format ({pool_id})")
    check(pool["Arn"].endswith(f":userpool/{pool_id}"), "pool Arn")
    check(hasattr(pool["CreationDate"], "year"), "CreationDate parses as a timestamp")
    check(pool["Policies"]["PasswordPolicy"]["RequireSymbols"] is False, "password policy round-trips")
    check(pool["AutoVerifiedAttributes"] == ["email"], "AutoVerifiedAttributes")
    check(any(a["Name"] == "email" and a["Required"] for a in pool["SchemaAttributes"]), "SchemaAttributes has required email")
    check(admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Name"] == "boto3-seed", "DescribeUserPool")
    check(any(p["Id"] == pool_id for p in admin.list_user_pools(MaxResults=60)["UserPools"]), "ListUserPools")
    # UpdateUserPool has Cognito's semantics: a member left out goes back to its default.
    admin.update_user_pool(UserPoolId=pool_id, AutoVerifiedAttributes=["email"])
    reset = admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    check(reset["Policies"]["PasswordPolicy"]["RequireSymbols"] is True, "UpdateUserPool without Policies restores the default policy")
    policy = {"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": False}}
    expect_error(admin.exceptions.InvalidParameterException, "UpdateUserPool with Lambda ARNs", admin.update_user_pool,
                 UserPoolId=pool_id, Policies=policy, LambdaConfig={"PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:f"})
    admin.update_user_pool(UserPoolId=pool_id, AutoVerifiedAttributes=["email"], Policies=policy, MfaConfiguration="OFF", LambdaConfig={})
    updated = admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    check(updated["Policies"]["PasswordPolicy"]["RequireSymbols"] is False and updated["MfaConfiguration"] == "OFF", "UpdateUserPool sets the policy it is given")
    expect_error(admin.exceptions.ResourceNotFoundException, "DescribeUserPool of an unknown pool", admin.describe_user_pool, UserPoolId=f"{REGION}_Nope12345")

    app = admin.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    cid, secret = app["ClientId"], app["ClientSecret"]
    check(re.fullmatch(r"[a-z0-9]{26}", cid) is not None, "client id format")
    check(app["TokenValidityUnits"]["AccessToken"] == "hours" and app["AccessTokenValidity"] == 1, "token validity defaults")
    check(admin.describe_user_pool_client(UserPoolId=pool_id, ClientId=cid)["UserPoolClient"]["ClientSecret"] == secret, "DescribeUserPoolClient returns the secret")
    check(any(c["ClientId"] == cid for c in admin.list_user_pool_clients(UserPoolId=pool_id, MaxResults=10)["UserPoolClients"]), "ListUserPoolClients")
    spare = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="spare")["UserPoolClient"]["ClientId"]
    admin.delete_user_pool_client(UserPoolId=pool_id, ClientId=spare)
    expect_error(admin.exceptions.ResourceNotFoundException, "deleted client is gone", admin.describe_user_pool_client, UserPoolId=pool_id, ClientId=spare)

    def sh(username):
        mac = hmac.new(secret.encode(), (username + cid).encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode()

    # --- sign-up and confirmation ----------------------------------------------------------
    up = users.sign_up(
        ClientId=cid,
        SecretHash=sh("alice"),
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}, {"Name": "phone_number", "Value": "+12065551234"}],
    )
    check(up["UserConfirmed"] is False and re.fullmatch(r"[0-9a-f-]{36}", up["UserSub"]) is not None, "SignUp answers unconfirmed + sub")
    check(up["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL" and up["CodeDeliveryDetails"]["AttributeName"] == "email", "SignUp CodeDeliveryDetails")
    expect_error(ex.UsernameExistsException, "duplicate user", users.sign_up, ClientId=cid, SecretHash=sh("alice"), Username="alice", Password=PASSWORD,
                 UserAttributes=[{"Name": "email", "Value": "alice@example.com"}])
    expect_error(ex.NotAuthorizedException, "wrong SECRET_HASH", users.sign_up, ClientId=cid, SecretHash=sh("mallory"), Username="bob", Password=PASSWORD,
                 UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])
    expect_error(ex.InvalidPasswordException, "password policy", users.sign_up, ClientId=cid, SecretHash=sh("carol"), Username="carol", Password="short",
                 UserAttributes=[{"Name": "email", "Value": "carol@example.com"}])

    def password_auth(username, password):
        return users.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": username, "PASSWORD": password, "SECRET_HASH": sh(username)})

    expect_error(ex.UserNotConfirmedException, "unconfirmed user", password_auth, username="alice", password=PASSWORD)
    code = code_for(pool_id, "alice", "SIGN_UP")
    wrong = "000000" if code != "000000" else "111111"
    expect_error(ex.CodeMismatchException, "wrong code", users.confirm_sign_up, ClientId=cid, SecretHash=sh("alice"), Username="alice", ConfirmationCode=wrong)
    users.confirm_sign_up(ClientId=cid, SecretHash=sh("alice"), Username="alice", ConfirmationCode=code)
    CHECKS.append("ConfirmSignUp with the outbox code")
    listed = admin.list_users(UserPoolId=pool_id, Limit=10, AttributesToGet=["email"])["Users"]
    check(any(u["Username"] == "alice" and u["UserStatus"] == "CONFIRMED" and u["Enabled"]
              and u["Attributes"] == [{"Name": "email", "Value": "alice@example.com"}] for u in listed), "ListUsers")

    # --- sign-in, user calls -----------------------------------------------------------------
    expect_error(ex.NotAuthorizedException, "wrong password", password_auth, username="alice", password="Wr0ng-Password!")
    expect_error(ex.UserNotFoundException, "unknown user", password_auth, username="nobody", password=PASSWORD)
    auth = password_auth("alice", PASSWORD)["AuthenticationResult"]
    check(auth["ExpiresIn"] == 3600 and auth["TokenType"] == "Bearer" and auth["RefreshToken"], "USER_PASSWORD_AUTH tokens")
    access = auth["AccessToken"]

    me = users.get_user(AccessToken=access)
    attrs = {a["Name"]: a["Value"] for a in me["UserAttributes"]}
    check(me["Username"] == "alice" and attrs.get("email") == "alice@example.com" and attrs.get("email_verified") == "true", "GetUser")
    check(attrs.get("phone_number") == "+12065551234" and attrs.get("sub") == up["UserSub"], "GetUser phone_number and sub")

    upd = users.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": "name", "Value": "Alice A."}])
    check(upd["CodeDeliveryDetailsList"] == [], "UpdateUserAttributes (no verification needed)")
    attrs = {a["Name"]: a["Value"] for a in users.get_user(AccessToken=access)["UserAttributes"]}
    check(attrs.get("name") == "Alice A.", "attribute updated")

    users.change_password(AccessToken=access, PreviousPassword=PASSWORD, ProposedPassword="N3w-Password-1")
    expect_error(ex.NotAuthorizedException, "old password after ChangePassword", password_auth, username="alice", password=PASSWORD)
    auth = password_auth("alice", "N3w-Password-1")["AuthenticationResult"]
    CHECKS.append("ChangePassword")

    refreshed = users.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                                    AuthParameters={"REFRESH_TOKEN": auth["RefreshToken"], "SECRET_HASH": sh("alice")})["AuthenticationResult"]
    check(refreshed["AccessToken"] and "RefreshToken" not in refreshed, "REFRESH_TOKEN_AUTH")
    if hasattr(users, "get_tokens_from_refresh_token"):
        t = users.get_tokens_from_refresh_token(RefreshToken=auth["RefreshToken"], ClientId=cid, ClientSecret=secret)["AuthenticationResult"]
        check(bool(t["IdToken"]), "GetTokensFromRefreshToken")
        expect_error(ex.NotAuthorizedException, "GetTokensFromRefreshToken with a wrong secret", users.get_tokens_from_refresh_token,
                     RefreshToken=auth["RefreshToken"], ClientId=cid, ClientSecret="w" * 40)

    # --- forgotten password ------------------------------------------------------------------
    fp = users.forgot_password(ClientId=cid, SecretHash=sh("alice"), Username="alice")
    check(fp["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL", "ForgotPassword")
    reset_code = code_for(pool_id, "alice", "FORGOT_PASSWORD")
    users.confirm_forgot_password(ClientId=cid, SecretHash=sh("alice"), Username="alice", ConfirmationCode=reset_code, Password="Re5et-Password-1")
    password_auth("alice", "Re5et-Password-1")
    CHECKS.append("ConfirmForgotPassword")

    # --- sign-out and revocation ---------------------------------------------------------------
    users.global_sign_out(AccessToken=access)
    expect_error(ex.NotAuthorizedException, "access token after GlobalSignOut", users.get_user, AccessToken=access)
    expect_error(ex.NotAuthorizedException, "refresh token after GlobalSignOut", users.initiate_auth, ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                 AuthParameters={"REFRESH_TOKEN": auth["RefreshToken"], "SECRET_HASH": sh("alice")})
    session = password_auth("alice", "Re5et-Password-1")["AuthenticationResult"]
    users.revoke_token(Token=session["RefreshToken"], ClientId=cid, ClientSecret=secret)
    expect_error(ex.NotAuthorizedException, "refresh token after RevokeToken", users.initiate_auth, ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                 AuthParameters={"REFRESH_TOKEN": session["RefreshToken"], "SECRET_HASH": sh("alice")})

    # --- SRP with pycognito (answers without a Session, SECRET_HASH over the username) ---------
    srp = "skipped: pycognito not installed"
    try:
        from pycognito.aws_srp import AWSSRP
    except ImportError:
        AWSSRP = None
    if AWSSRP is not None:
        aws = AWSSRP(username="alice", password="Re5et-Password-1", pool_id=pool_id, client_id=cid, client_secret=secret, client=users)
        tokens = aws.authenticate_user()["AuthenticationResult"]
        check(bool(tokens["AccessToken"]) and bool(tokens["RefreshToken"]), "pycognito USER_SRP_AUTH")
        bad = AWSSRP(username="alice", password="Wr0ng-Password!", pool_id=pool_id, client_id=cid, client_secret=secret, client=users)
        expect_error(ex.NotAuthorizedException, "pycognito SRP with a wrong password", bad.authenticate_user)
        srp = "ok"

    # --- signature checks: nothing is done when the signature is wrong -------------------------
    wrong_secret = client(aws_access_key_id=os.environ["IDP_ACCESS_KEY_ID"], aws_secret_access_key="not-the-secret")
    expect_code("InvalidSignatureException", "SigV4 with a wrong secret", wrong_secret.create_user_pool, PoolName="must-not-exist")
    wrong_key = client(aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key=os.environ["IDP_SECRET_ACCESS_KEY"])
    expect_code("UnrecognizedClientException", "SigV4 with an unknown key id", wrong_key.delete_user_pool, UserPoolId=pool_id)
    names = [p["Name"] for p in admin.list_user_pools(MaxResults=60)["UserPools"]]
    check("must-not-exist" not in names and pool_id in [p["Id"] for p in admin.list_user_pools(MaxResults=60)["UserPools"]], "rejected calls changed nothing")

    # --- DeleteUser (the tokens of this last sign-in are checked by pyjwt_verify.py) ---------------
    final = password_auth("alice", "Re5et-Password-1")["AuthenticationResult"]
    users.delete_user(AccessToken=final["AccessToken"])
    expect_error(ex.UserNotFoundException, "deleted user", password_auth, username="alice", password="Re5et-Password-1")

    print(json.dumps({
        "pool_id": pool_id,
        "client_id": cid,
        "id_token": final["IdToken"],
        "access_token": final["AccessToken"],
        "srp": srp,
        "checks": CHECKS,
    }))


if __name__ == "__main__":
    main()
