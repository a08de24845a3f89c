"""Sign-in protection and MFA with boto3's unchanged `cognito-idp` client; TOTP codes come from
pyotp (an independent RFC 6238 implementation).

Driven by services/idp/tests/cognito_mfa.rs. Environment: IDP_ENDPOINT, IDP_ACCESS_KEY_ID,
IDP_SECRET_ACCESS_KEY, IDP_DATA_DIR (codes are read from outbox.jsonl), IDP_REGION.

Prints one JSON object on the last line of stdout ({"checks": [...]}); exits non-zero with a
message on stderr at the first failed expectation.
"""

import json
import os
import sys
import time

import boto3
import botocore
import pyotp
from botocore.config import Config
from cognito_kit import ENDPOINT, REGION, DATA_DIR, PASSWORD, CHECKS, fail, check, expect_code, client


def codes_for(pool_id, username, kind):
    path = os.path.join(DATA_DIR, "outbox.jsonl")
    try:
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        lines = []
    return [m["code"] for m in lines if m.get("pool_id") == pool_id and m.get("username") == username and m.get("kind") == kind]


def new_code_for(pool_id, username, kind, seen):
    """The first code of `kind` for `username` not in `seen` (waits for the dispatcher)."""
    deadline = time.time() + 15
    while time.time() < deadline:
        fresh = codes_for(pool_id, username, kind)[seen:]
        if fresh:
            return fresh[-1]
        time.sleep(0.05)
    fail(f"no new {kind} code for {username} in the outbox")


def totp_code(secret, offset_steps=0):
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def main():
    admin = client(aws_access_key_id=os.environ["IDP_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["IDP_SECRET_ACCESS_KEY"])
    users = client(unsigned=True)

    pool_id = admin.create_user_pool(PoolName="boto3-mfa", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    cid = admin.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="mfa",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]

    def signed_up(name, email):
        users.sign_up(ClientId=cid, Username=name, Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}])
        code = new_code_for(pool_id, name, "SIGN_UP", 0)
        users.confirm_sign_up(ClientId=cid, Username=name, ConfirmationCode=code)

    def sign_in(name, password=PASSWORD):
        return users.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": password})

    # --- NEW_PASSWORD_REQUIRED after AdminCreateUser ------------------------------------------
    admin.admin_create_user(UserPoolId=pool_id, Username="nina", TemporaryPassword="Temp-Passw0rd-1", MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": "nina@example.com"}])
    ch = sign_in("nina", "Temp-Passw0rd-1")
    check(ch.get("ChallengeName") == "NEW_PASSWORD_REQUIRED" and ch.get("Session"), "AdminCreateUser + temporary password: NEW_PASSWORD_REQUIRED")
    check(json.loads(ch["ChallengeParameters"]["userAttributes"]).get("email") == "nina@example.com", "NEW_PASSWORD_REQUIRED shows the user's attributes")
    expect_code("InvalidPasswordException", "a new password against the policy", users.respond_to_auth_challenge, ClientId=cid, ChallengeName="NEW_PASSWORD_REQUIRED", Session=ch["Session"], ChallengeResponses={"USERNAME": "nina", "NEW_PASSWORD": "short"})
    ok = users.respond_to_auth_challenge(ClientId=cid, ChallengeName="NEW_PASSWORD_REQUIRED", Session=ch["Session"], ChallengeResponses={"USERNAME": "nina", "NEW_PASSWORD": PASSWORD, "userAttributes.name": "Nina"})
    check("AccessToken" in ok["AuthenticationResult"], "NEW_PASSWORD_REQUIRED answered: tokens")
    expect_code("NotAuthorizedException", "the answered NEW_PASSWORD_REQUIRED session cannot be replayed", users.respond_to_auth_challenge, ClientId=cid, ChallengeName="NEW_PASSWORD_REQUIRED", Session=ch["Session"], ChallengeResponses={"USERNAME": "nina", "NEW_PASSWORD": "Another-Passw0rd-2"})
    check(admin.admin_get_user(UserPoolId=pool_id, Username="nina")["UserStatus"] == "CONFIRMED", "nina is CONFIRMED")
    check("AuthenticationResult" in sign_in("nina"), "the new password signs in")
    expect_code("NotAuthorizedException", "the temporary password no longer does", sign_in, name="nina", password="Temp-Passw0rd-1")

    # --- pool MFA configuration ------------------------------------------------------------
    cfg = admin.get_user_pool_mfa_config(UserPoolId=pool_id)
    check(cfg["MfaConfiguration"] == "OFF", "GetUserPoolMfaConfig: OFF by default")
    expect_code("InvalidParameterException", "MfaConfiguration ON without a method", admin.set_user_pool_mfa_config, UserPoolId=pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": False})
    cfg = admin.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        MfaConfiguration="OPTIONAL",
        SoftwareTokenMfaConfiguration={"Enabled": True},
        EmailMfaConfiguration={"Message": "Your code is {####}", "Subject": "Sign-in code"},
    )
    check(cfg["MfaConfiguration"] == "OPTIONAL" and cfg["SoftwareTokenMfaConfiguration"]["Enabled"], "SetUserPoolMfaConfig OPTIONAL + TOTP + email")
    check(admin.get_user_pool_mfa_config(UserPoolId=pool_id)["EmailMfaConfiguration"]["Subject"] == "Sign-in code", "GetUserPoolMfaConfig reads it back")

    # --- TOTP: associate with an access token, verify with pyotp, then challenged at sign-in ---
    signed_up("tina", "tina@example.com")
    first = sign_in("tina")
    check("AuthenticationResult" in first, "OPTIONAL MFA, nothing set up: tokens at once")
    access = first["AuthenticationResult"]["AccessToken"]
    secret = users.associate_software_token(AccessToken=access)["SecretCode"]
    check(len(secret) >= 16, "AssociateSoftwareToken returns a base32 secret")
    expect_code("EnableSoftwareTokenMFAException", "VerifySoftwareToken with a wrong code", users.verify_software_token, AccessToken=access, UserCode="000000")
    check(users.verify_software_token(AccessToken=access, UserCode=totp_code(secret), FriendlyDeviceName="phone")["Status"] == "SUCCESS", "VerifySoftwareToken with pyotp's code")
    users.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    me = users.get_user(AccessToken=access)
    check(me.get("PreferredMfaSetting") == "SOFTWARE_TOKEN_MFA" and "SOFTWARE_TOKEN_MFA" in me.get("UserMFASettingList", []), "GetUser shows the MFA settings")
    ch = sign_in("tina")
    check(ch.get("ChallengeName") == "SOFTWARE_TOKEN_MFA" and ch.get("Session"), "sign-in now answers SOFTWARE_TOKEN_MFA")
    expect_code("CodeMismatchException", "wrong TOTP code", users.respond_to_auth_challenge, ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=ch["Session"], ChallengeResponses={"USERNAME": "tina", "SOFTWARE_TOKEN_MFA_CODE": "000000"})
    # As on Cognito, the client retries with the same session after a wrong code. The verification
    # used this step's code: the next step's (within the ±1 window) passes once.
    code = totp_code(secret, 1)
    ok = users.respond_to_auth_challenge(ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=ch["Session"], ChallengeResponses={"USERNAME": "tina", "SOFTWARE_TOKEN_MFA_CODE": code})
    check("AccessToken" in ok["AuthenticationResult"], "SOFTWARE_TOKEN_MFA answered with pyotp's code on the same session: tokens")
    expect_code("NotAuthorizedException", "an answered session is spent", users.respond_to_auth_challenge, ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=ch["Session"], ChallengeResponses={"USERNAME": "tina", "SOFTWARE_TOKEN_MFA_CODE": totp_code(secret, 1)})
    ch = sign_in("tina")
    expect_code("CodeMismatchException", "a TOTP code is accepted only once", users.respond_to_auth_challenge, ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=ch["Session"], ChallengeResponses={"USERNAME": "tina", "SOFTWARE_TOKEN_MFA_CODE": code})

    # --- EMAIL_OTP through the message sender; SELECT_MFA_TYPE when two methods are on -------
    signed_up("emma", "emma@example.com")
    admin.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="emma", EmailMfaSettings={"Enabled": True, "PreferredMfa": True})
    seen = len(codes_for(pool_id, "emma", "MFA"))
    ch = sign_in("emma")
    check(ch.get("ChallengeName") == "EMAIL_OTP" and ch["ChallengeParameters"].get("CODE_DELIVERY_DELIVERY_MEDIUM") == "EMAIL", "EMAIL_OTP challenge with delivery details")
    code = new_code_for(pool_id, "emma", "MFA", seen)
    ok = users.respond_to_auth_challenge(ClientId=cid, ChallengeName="EMAIL_OTP", Session=ch["Session"], ChallengeResponses={"USERNAME": "emma", "EMAIL_OTP_CODE": code})
    check("AccessToken" in ok["AuthenticationResult"], "EMAIL_OTP answered with the emailed code")
    expect_code("NotAuthorizedException", "a used session cannot be replayed", users.respond_to_auth_challenge, ClientId=cid, ChallengeName="EMAIL_OTP", Session=ch["Session"], ChallengeResponses={"USERNAME": "emma", "EMAIL_OTP_CODE": code})
    # emma also sets up TOTP (with her access token) but prefers nothing: SELECT_MFA_TYPE
    access = ok["AuthenticationResult"]["AccessToken"]
    esecret = users.associate_software_token(AccessToken=access)["SecretCode"]
    users.verify_software_token(AccessToken=access, UserCode=totp_code(esecret))
    users.set_user_mfa_preference(AccessToken=access, EmailMfaSettings={"Enabled": True, "PreferredMfa": False}, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False})
    ch = sign_in("emma")
    check(ch.get("ChallengeName") == "SELECT_MFA_TYPE" and set(json.loads(ch["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == {"SOFTWARE_TOKEN_MFA", "EMAIL_OTP"}, "SELECT_MFA_TYPE offers both methods")
    ch = users.respond_to_auth_challenge(ClientId=cid, ChallengeName="SELECT_MFA_TYPE", Session=ch["Session"], ChallengeResponses={"USERNAME": "emma", "ANSWER": "SOFTWARE_TOKEN_MFA"})
    check(ch.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", "choosing SOFTWARE_TOKEN_MFA")
    ok = users.respond_to_auth_challenge(ClientId=cid, ChallengeName="SOFTWARE_TOKEN_MFA", Session=ch["Session"], ChallengeResponses={"USERNAME": "emma", "SOFTWARE_TOKEN_MFA_CODE": totp_code(esecret, 1)})
    check("AccessToken" in ok["AuthenticationResult"], "then its code: tokens")

    # --- MFA ON: a user with nothing set up goes through MFA_SETUP (by session) -------------
    admin.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True})
    signed_up("sam", "sam@example.com")
    ch = admin.admin_initiate_auth(UserPoolId=pool_id, ClientId=cid, AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "sam", "PASSWORD": PASSWORD})
    check(ch.get("ChallengeName") in ("MFA_SETUP", "EMAIL_OTP"), f"MFA ON: sam must set up a factor ({ch.get('ChallengeName')})")
    if ch["ChallengeName"] == "EMAIL_OTP":
        fail("email MFA was left enabled by SoftwareTokenMfaConfiguration-only update")
    assoc = users.associate_software_token(Session=ch["Session"])
    ssecret = assoc["SecretCode"]
    ver = users.verify_software_token(Session=assoc["Session"], UserCode=totp_code(ssecret))
    check(ver["Status"] == "SUCCESS" and ver.get("Session"), "MFA_SETUP: associate + verify by session")
    ok = admin.admin_respond_to_auth_challenge(UserPoolId=pool_id, ClientId=cid, ChallengeName="MFA_SETUP", Session=ver["Session"], ChallengeResponses={"USERNAME": "sam"})
    check("AccessToken" in ok["AuthenticationResult"], "AdminRespondToAuthChallenge MFA_SETUP: tokens")
    ch = admin.admin_initiate_auth(UserPoolId=pool_id, ClientId=cid, AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "sam", "PASSWORD": PASSWORD})
    check(ch.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", "next admin sign-in asks for the token")

    # --- lockout -----------------------------------------------------------------------------
    admin.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OFF")
    signed_up("lou", "lou@example.com")
    for i in range(5):
        expect_code("NotAuthorizedException", f"wrong password #{i + 1}", sign_in, name="lou", password="Wr0ng-Password")
    expect_code("NotAuthorizedException", "wrong password #6 (locks for 1 s)", sign_in, name="lou", password="Wr0ng-Password")
    e = expect_code("NotAuthorizedException", "locked: even the right password is refused", sign_in, name="lou")
    check("Password attempts exceeded" in e.response["Error"]["Message"], "the lockout says so")
    time.sleep(1.2)
    check("AuthenticationResult" in sign_in("lou"), "after the lockout the right password works")

    print(json.dumps({"checks": CHECKS}))


if __name__ == "__main__":
    main()
