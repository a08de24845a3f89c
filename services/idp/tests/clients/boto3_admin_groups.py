"""Admin user APIs and groups with boto3's unchanged `cognito-idp` client (SigV4-signed admin
calls, unsigned user calls), including the error cases as boto3's modeled exceptions and the
`cognito:groups` claim of the ID and access tokens.

Driven by services/idp/tests/cognito_boto3_admin.rs. Environment:
  IDP_ENDPOINT            http://127.0.0.1:PORT (the HTTP listener)
  IDP_ACCESS_KEY_ID       admin key id (from <data-dir>/admin.json)
  IDP_SECRET_ACCESS_KEY   admin secret
  IDP_DATA_DIR            the server's data dir (messages are read from outbox.jsonl)
  IDP_REGION              region of the pool ids (default us-east-1)

Prints one JSON object on the last line of stdout (pool, checks); exits non-zero with a message
on stderr at the first failed expectation.
"""

import base64
import json
import os
import sys
import time

import boto3
import botocore
from botocore.config import Config
from cognito_kit import ENDPOINT, REGION, DATA_DIR, PASSWORD, CHECKS, fail, check, expect_error, client


def messages(pool_id, username, kind):
    try:
        with open(os.path.join(DATA_DIR, "outbox.jsonl")) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        lines = []
    return [m for m in lines if m.get("pool_id") == pool_id and m.get("username") == username and m.get("kind") == kind]


def wait_messages(pool_id, username, kind, count):
    deadline = time.time() + 15
    while time.time() < deadline:
        found = messages(pool_id, username, kind)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    fail(f"fewer than {count} {kind} messages for {username}")


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def attrs(user, key="UserAttributes"):
    return {a["Name"]: a["Value"] for a in user[key]}


def main():
    admin = client(aws_access_key_id=os.environ["IDP_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["IDP_SECRET_ACCESS_KEY"])
    users = client(unsigned=True)
    ex = admin.exceptions

    pool_id = admin.create_user_pool(PoolName="boto3-admin", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    cid = admin.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]

    def sign_in(username, password):
        return users.initiate_auth(ClientId=cid, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password})

    # --- AddCustomAttributes ------------------------------------------------------------------
    admin.add_custom_attributes(
        UserPoolId=pool_id,
        CustomAttributes=[
            {"Name": "tier", "AttributeDataType": "Number", "Mutable": True, "NumberAttributeConstraints": {"MinValue": "1", "MaxValue": "3"}},
            {"Name": "team", "AttributeDataType": "String", "Mutable": False, "StringAttributeConstraints": {"MinLength": "2", "MaxLength": "8"}},
        ],
    )
    schema = admin.describe_user_pool(UserPoolId=pool_id)["UserPool"]["SchemaAttributes"]
    tier = [a for a in schema if a["Name"] == "custom:tier"]
    check(tier and tier[0]["NumberAttributeConstraints"] == {"MinValue": "1", "MaxValue": "3"}, "AddCustomAttributes: custom:tier in the schema")
    expect_error(ex.InvalidParameterException, "AddCustomAttributes of an existing name", admin.add_custom_attributes,
                 UserPoolId=pool_id, CustomAttributes=[{"Name": "tier", "AttributeDataType": "String"}])
    expect_error(ex.ResourceNotFoundException, "AddCustomAttributes on an unknown pool", admin.add_custom_attributes,
                 UserPoolId=f"{REGION}_Nope12345", CustomAttributes=[{"Name": "x", "AttributeDataType": "String"}])

    # --- AdminCreateUser ----------------------------------------------------------------------
    created = admin.admin_create_user(
        UserPoolId=pool_id,
        Username="alice",
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}, {"Name": "email_verified", "Value": "true"},
                        {"Name": "custom:tier", "Value": "2"}, {"Name": "custom:team", "Value": "ops"}],
        DesiredDeliveryMediums=["EMAIL"],
    )["User"]
    check(created["UserStatus"] == "FORCE_CHANGE_PASSWORD" and created["Enabled"], "AdminCreateUser: FORCE_CHANGE_PASSWORD")
    check(attrs(created, "Attributes").get("custom:tier") == "2" and "sub" in attrs(created, "Attributes"), "AdminCreateUser: attributes with sub")
    invitation = wait_messages(pool_id, "alice", "ADMIN_CREATE_USER", 1)[0]
    temporary = invitation["code"]
    check(invitation["channel"] == "EMAIL" and invitation["destination"] == "alice@example.com" and temporary in invitation["text"], "invitation by email with the temporary password")
    admin.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])
    resent = wait_messages(pool_id, "alice", "ADMIN_CREATE_USER", 2)[1]["code"]
    check(resent != temporary, "RESEND: a new temporary password")
    admin.admin_create_user(UserPoolId=pool_id, Username="bob", TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS",
                            UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])
    time.sleep(0.3)
    check(messages(pool_id, "bob", "ADMIN_CREATE_USER") == [], "SUPPRESS: no invitation")
    expect_error(ex.UsernameExistsException, "AdminCreateUser of an existing user", admin.admin_create_user, UserPoolId=pool_id, Username="bob", MessageAction="SUPPRESS")
    expect_error(ex.InvalidPasswordException, "AdminCreateUser with a weak temporary password", admin.admin_create_user,
                 UserPoolId=pool_id, Username="weak", TemporaryPassword="weakweak", MessageAction="SUPPRESS")
    expect_error(ex.InvalidParameterException, "AdminCreateUser with custom:tier out of range", admin.admin_create_user,
                 UserPoolId=pool_id, Username="x", UserAttributes=[{"Name": "custom:tier", "Value": "9"}], MessageAction="SUPPRESS")
    expect_error(ex.InvalidParameterException, "AdminCreateUser with an unknown attribute", admin.admin_create_user,
                 UserPoolId=pool_id, Username="x", UserAttributes=[{"Name": "custom:nope", "Value": "1"}], MessageAction="SUPPRESS")
    expect_error(ex.UserNotFoundException, "RESEND for an unknown user", admin.admin_create_user, UserPoolId=pool_id, Username="ghost", MessageAction="RESEND")
    expect_error(ex.UserNotFoundException, "rejected creates wrote nothing", admin.admin_get_user, UserPoolId=pool_id, Username="x")
    unsigned_admin = client(unsigned=True)
    try:
        unsigned_admin.admin_get_user(UserPoolId=pool_id, Username="alice")
        fail("an unsigned AdminGetUser succeeded")
    except botocore.exceptions.ClientError as e:
        check(e.response["Error"]["Code"] in ("MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException", "NotAuthorizedException"),
              f"unsigned AdminGetUser refused: {e.response['Error']['Code']}")

    # --- AdminGetUser / AdminSetUserPassword --------------------------------------------------
    got = admin.admin_get_user(UserPoolId=pool_id, Username="alice")
    check(got["Username"] == "alice" and got["UserStatus"] == "FORCE_CHANGE_PASSWORD" and attrs(got)["email_verified"] == "true", "AdminGetUser")
    expect_error(ex.UserNotFoundException, "AdminGetUser of an unknown user", admin.admin_get_user, UserPoolId=pool_id, Username="ghost")
    expect_error(ex.InvalidPasswordException, "AdminSetUserPassword with a weak password", admin.admin_set_user_password,
                 UserPoolId=pool_id, Username="alice", Password="weakweak", Permanent=True)
    admin.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True)
    check(admin.admin_get_user(UserPoolId=pool_id, Username="alice")["UserStatus"] == "CONFIRMED", "AdminSetUserPassword Permanent: CONFIRMED")
    admin.admin_set_user_password(UserPoolId=pool_id, Username="bob", Password="Other-Passw0rd", Permanent=False)
    check(admin.admin_get_user(UserPoolId=pool_id, Username="bob")["UserStatus"] == "FORCE_CHANGE_PASSWORD", "AdminSetUserPassword not permanent: FORCE_CHANGE_PASSWORD")
    tokens = sign_in("alice", PASSWORD)["AuthenticationResult"]
    check("cognito:groups" not in claims(tokens["IdToken"]), "no groups claim without groups")

    # --- AdminDisableUser / AdminEnableUser ---------------------------------------------------
    admin.admin_disable_user(UserPoolId=pool_id, Username="alice")
    check(admin.admin_get_user(UserPoolId=pool_id, Username="alice")["Enabled"] is False, "AdminDisableUser")
    expect_error(users.exceptions.NotAuthorizedException, "disabled user signs in", sign_in, username="alice", password=PASSWORD)
    admin.admin_enable_user(UserPoolId=pool_id, Username="alice")
    tokens = sign_in("alice", PASSWORD)["AuthenticationResult"]
    check(bool(tokens["IdToken"]), "AdminEnableUser: signs in again")
    expect_error(ex.UserNotFoundException, "AdminDisableUser of an unknown user", admin.admin_disable_user, UserPoolId=pool_id, Username="ghost")

    # --- attributes ---------------------------------------------------------------------------
    admin.admin_update_user_attributes(UserPoolId=pool_id, Username="alice",
                                       UserAttributes=[{"Name": "name", "Value": "Alice A"}, {"Name": "custom:tier", "Value": "3"}])
    a = attrs(admin.admin_get_user(UserPoolId=pool_id, Username="alice"))
    check(a.get("name") == "Alice A" and a.get("custom:tier") == "3", "AdminUpdateUserAttributes")
    expect_error(ex.InvalidParameterException, "AdminUpdateUserAttributes of an immutable custom attribute", admin.admin_update_user_attributes,
                 UserPoolId=pool_id, Username="alice", UserAttributes=[{"Name": "custom:team", "Value": "dev"}])
    expect_error(ex.InvalidParameterException, "AdminUpdateUserAttributes with a bad email", admin.admin_update_user_attributes,
                 UserPoolId=pool_id, Username="alice", UserAttributes=[{"Name": "email", "Value": "not-an-email"}])
    admin.admin_delete_user_attributes(UserPoolId=pool_id, Username="alice", UserAttributeNames=["name"])
    check("name" not in attrs(admin.admin_get_user(UserPoolId=pool_id, Username="alice")), "AdminDeleteUserAttributes")
    expect_error(ex.InvalidParameterException, "AdminDeleteUserAttributes of sub", admin.admin_delete_user_attributes,
                 UserPoolId=pool_id, Username="alice", UserAttributeNames=["sub"])

    # --- AdminConfirmSignUp -------------------------------------------------------------------
    users.sign_up(ClientId=cid, Username="carol", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": "carol@example.com"}])
    expect_error(users.exceptions.UserNotConfirmedException, "unconfirmed carol", sign_in, username="carol", password=PASSWORD)
    admin.admin_confirm_sign_up(UserPoolId=pool_id, Username="carol")
    check(admin.admin_get_user(UserPoolId=pool_id, Username="carol")["UserStatus"] == "CONFIRMED", "AdminConfirmSignUp")
    expect_error(ex.NotAuthorizedException, "AdminConfirmSignUp twice", admin.admin_confirm_sign_up, UserPoolId=pool_id, Username="carol")

    # --- AdminResetUserPassword ---------------------------------------------------------------
    expect_error(ex.InvalidParameterException, "AdminResetUserPassword without a verified contact", admin.admin_reset_user_password, UserPoolId=pool_id, Username="carol")
    admin.admin_reset_user_password(UserPoolId=pool_id, Username="alice")
    check(admin.admin_get_user(UserPoolId=pool_id, Username="alice")["UserStatus"] == "RESET_REQUIRED", "AdminResetUserPassword: RESET_REQUIRED")
    code = wait_messages(pool_id, "alice", "FORGOT_PASSWORD", 1)[-1]["code"]
    users.confirm_forgot_password(ClientId=cid, Username="alice", ConfirmationCode=code, Password="Reset-Passw0rd")
    check(admin.admin_get_user(UserPoolId=pool_id, Username="alice")["UserStatus"] == "CONFIRMED", "reset code sets a new password")

    # --- AdminUserGlobalSignOut ---------------------------------------------------------------
    admin.admin_user_global_sign_out(UserPoolId=pool_id, Username="alice")
    expect_error(users.exceptions.NotAuthorizedException, "access token after AdminUserGlobalSignOut", users.get_user, AccessToken=tokens["AccessToken"])

    # --- groups -------------------------------------------------------------------------------
    g = admin.create_group(UserPoolId=pool_id, GroupName="admins", Description="the admins", Precedence=2)["Group"]
    check(g["GroupName"] == "admins" and g["Precedence"] == 2 and hasattr(g["CreationDate"], "year"), "CreateGroup")
    admin.create_group(UserPoolId=pool_id, GroupName="devs", Precedence=1)
    admin.create_group(UserPoolId=pool_id, GroupName="readers", RoleArn="arn:aws:iam::123456789012:role/Readers")
    expect_error(ex.GroupExistsException, "CreateGroup of an existing group", admin.create_group, UserPoolId=pool_id, GroupName="admins")
    expect_error(ex.ResourceNotFoundException, "GetGroup of an unknown group", admin.get_group, UserPoolId=pool_id, GroupName="nope")
    expect_error(ex.ResourceNotFoundException, "CreateGroup in an unknown pool", admin.create_group, UserPoolId=f"{REGION}_Nope12345", GroupName="x")
    up = admin.update_group(UserPoolId=pool_id, GroupName="admins", Description="the admins, updated")["Group"]
    check(up["Description"] == "the admins, updated" and up["Precedence"] == 2, "UpdateGroup keeps unset members")
    check(admin.get_group(UserPoolId=pool_id, GroupName="readers")["Group"]["RoleArn"] == "arn:aws:iam::123456789012:role/Readers", "GetGroup")
    expect_error(ex.ResourceNotFoundException, "UpdateGroup of an unknown group", admin.update_group, UserPoolId=pool_id, GroupName="nope", Description="x")
    page1 = admin.list_groups(UserPoolId=pool_id, Limit=2)
    page2 = admin.list_groups(UserPoolId=pool_id, Limit=2, NextToken=page1["NextToken"])
    check([x["GroupName"] for x in page1["Groups"]] == ["admins", "devs"] and [x["GroupName"] for x in page2["Groups"]] == ["readers"] and "NextToken" not in page2,
          "ListGroups pages")

    for group in ["admins", "devs", "readers"]:
        admin.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName=group)
    admin.admin_add_user_to_group(UserPoolId=pool_id, Username="bob", GroupName="admins")
    expect_error(ex.ResourceNotFoundException, "AdminAddUserToGroup of an unknown group", admin.admin_add_user_to_group, UserPoolId=pool_id, Username="alice", GroupName="nope")
    expect_error(ex.UserNotFoundException, "AdminAddUserToGroup of an unknown user", admin.admin_add_user_to_group, UserPoolId=pool_id, Username="ghost", GroupName="admins")
    m1 = admin.list_users_in_group(UserPoolId=pool_id, GroupName="admins", Limit=1)
    m2 = admin.list_users_in_group(UserPoolId=pool_id, GroupName="admins", Limit=1, NextToken=m1["NextToken"])
    check([u["Username"] for u in m1["Users"] + m2["Users"]] == ["alice", "bob"], "ListUsersInGroup pages")
    expect_error(ex.ResourceNotFoundException, "ListUsersInGroup of an unknown group", admin.list_users_in_group, UserPoolId=pool_id, GroupName="nope")
    listed = admin.admin_list_groups_for_user(UserPoolId=pool_id, Username="alice")["Groups"]
    check([x["GroupName"] for x in listed] == ["admins", "devs", "readers"], "AdminListGroupsForUser")
    expect_error(ex.UserNotFoundException, "AdminListGroupsForUser of an unknown user", admin.admin_list_groups_for_user, UserPoolId=pool_id, Username="ghost")

    t = sign_in("alice", "Reset-Passw0rd")["AuthenticationResult"]
    check(claims(t["IdToken"])["cognito:groups"] == ["devs", "admins", "readers"], "ID token cognito:groups by precedence")
    check(claims(t["AccessToken"])["cognito:groups"] == ["devs", "admins", "readers"], "access token cognito:groups by precedence")

    admin.delete_group(UserPoolId=pool_id, GroupName="admins")
    expect_error(ex.ResourceNotFoundException, "DeleteGroup twice", admin.delete_group, UserPoolId=pool_id, GroupName="admins")
    admin.create_group(UserPoolId=pool_id, GroupName="admins", Precedence=0)
    check(admin.list_users_in_group(UserPoolId=pool_id, GroupName="admins")["Users"] == [], "a re-created group has no members")
    t = sign_in("alice", "Reset-Passw0rd")["AuthenticationResult"]
    check(claims(t["IdToken"])["cognito:groups"] == ["devs", "readers"], "the deleted group left the tokens")
    admin.admin_remove_user_from_group(UserPoolId=pool_id, Username="alice", GroupName="devs")
    check([x["GroupName"] for x in admin.admin_list_groups_for_user(UserPoolId=pool_id, Username="alice")["Groups"]] == ["readers"], "AdminRemoveUserFromGroup")
    expect_error(ex.ResourceNotFoundException, "AdminRemoveUserFromGroup of an unknown group", admin.admin_remove_user_from_group, UserPoolId=pool_id, Username="alice", GroupName="nope")
    t = sign_in("alice", "Reset-Passw0rd")["AuthenticationResult"]
    check(claims(t["IdToken"])["cognito:groups"] == ["readers"], "tokens after AdminRemoveUserFromGroup")

    # --- AdminDeleteUser ----------------------------------------------------------------------
    admin.admin_delete_user(UserPoolId=pool_id, Username="bob")
    expect_error(ex.UserNotFoundException, "AdminDeleteUser: gone", admin.admin_get_user, UserPoolId=pool_id, Username="bob")
    expect_error(ex.UserNotFoundException, "AdminDeleteUser twice", admin.admin_delete_user, UserPoolId=pool_id, Username="bob")

    print(json.dumps({"pool_id": pool_id, "client_id": cid, "temporary_passwords": [temporary, resent], "checks": CHECKS}))


if __name__ == "__main__":
    main()
