"""ListUsers with Cognito's filters, through boto3's unchanged `cognito-idp` client.

Driven by services/idp/tests/cognito_boto3.rs. Environment:
  IDP_ENDPOINT            http://127.0.0.1:PORT (the HTTP listener)
  IDP_ACCESS_KEY_ID       admin key id (from <data-dir>/admin.json)
  IDP_SECRET_ACCESS_KEY   admin secret
  IDP_DATA_DIR            the server's data dir (codes are read from outbox.jsonl)

Prints one JSON object on the last line of stdout ({"checks": [...]}); exits non-zero with a
message on stderr at the first failed expectation.
"""

import json
import os
import sys
import time

import boto3
import botocore
from botocore.config import Config
from cognito_kit import ENDPOINT, DATA_DIR, PASSWORD, CHECKS, fail, check, client


def code_for(pool_id, username):
    path = os.path.join(DATA_DIR, "outbox.jsonl")
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            with open(path) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            lines = []
        found = [m for m in lines if m.get("pool_id") == pool_id and m.get("username") == username and m.get("kind") == "SIGN_UP"]
        if found:
            return found[-1]["code"]
        time.sleep(0.05)
    fail(f"no sign-up code for {username} in the outbox")


def main():
    admin = client(aws_access_key_id=os.environ["IDP_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["IDP_SECRET_ACCESS_KEY"])
    users = client(unsigned=True)
    ex = admin.exceptions
    pool_id = admin.create_user_pool(PoolName="boto3-search", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    cid = admin.create_user_pool_client(UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]

    # 13 users: user00..user12, emails on two domains, family names in three groups, one with a quote.
    subs = {}
    for i in range(13):
        family = 'O"Brien' if i == 5 else f"Family{i % 3}"
        attrs = [{"Name": "email", "Value": f"user{i:02}@{'even' if i % 2 == 0 else 'odd'}.example"},
                 {"Name": "family_name", "Value": family}, {"Name": "given_name", "Value": f"G{i}"}]
        if i < 3:
            attrs.append({"Name": "phone_number", "Value": f"+1206555000{i}"})
        subs[f"user{i:02}"] = users.sign_up(ClientId=cid, Username=f"user{i:02}", Password=PASSWORD, UserAttributes=attrs)["UserSub"]
    for name in ["user03", "user04"]:
        users.confirm_sign_up(ClientId=cid, Username=name, ConfirmationCode=code_for(pool_id, name))

    def listed(**kw):
        return [u["Username"] for u in admin.list_users(UserPoolId=pool_id, **kw)["Users"]]

    # --- each filter form ------------------------------------------------------------------
    check(listed(Filter='email = "user07@odd.example"') == ["user07"], "ListUsers Filter exact")
    check(listed(Filter='email ^= "user1"') == ["user10", "user11", "user12"], "ListUsers Filter prefix")
    check(listed(Filter='email^="user1"') == ["user10", "user11", "user12"], "ListUsers Filter without spaces")
    check(listed(Filter='family_name = "O\\"Brien"') == ["user05"], "ListUsers Filter with an escaped quote")
    check(listed(Filter='family_name = "Family1"') == ["user01", "user04", "user07", "user10"], "ListUsers Filter: equal values in username order")
    check(listed(Filter='phone_number ^= "+1206"') == ["user00", "user01", "user02"], "ListUsers Filter phone_number")
    check(listed(Filter='given_name = "G12"') == ["user12"], "ListUsers Filter given_name")
    check(listed(Filter='cognito:user_status = "Confirmed"') == ["user03", "user04"], "ListUsers Filter cognito:user_status (case-insensitive)")
    check(len(listed(Filter='cognito:user_status = "UNCONFIRMED"')) == 11, "ListUsers Filter unconfirmed")
    check(len(listed(Filter='status = "Enabled"')) == 13 and listed(Filter='status = "Disabled"') == [], "ListUsers Filter status")
    check(listed(Filter='username = "user09"') == ["user09"] and listed(Filter='username ^= "user1"') == ["user10", "user11", "user12"], "ListUsers Filter username")
    check(listed(Filter=f'sub = "{subs["user06"]}"') == ["user06"], "ListUsers Filter sub")
    check(listed(Filter='name = "nobody"') == [], "ListUsers Filter with no match")
    check(len(listed(Filter="")) == 13, "ListUsers empty Filter lists everyone")

    # --- AttributesToGet ---------------------------------------------------------------------
    got = admin.list_users(UserPoolId=pool_id, Filter='email = "user02@even.example"', AttributesToGet=["email", "sub"])["Users"]
    check(len(got) == 1 and got[0]["Attributes"] == [{"Name": "sub", "Value": subs["user02"]}, {"Name": "email", "Value": "user02@even.example"}]
          and got[0]["UserStatus"] == "UNCONFIRMED" and got[0]["Enabled"] is True, "ListUsers Filter + AttributesToGet")

    # --- Limit and PaginationToken through several pages --------------------------------------
    seen, token, sizes = [], None, []
    while True:
        kw = {"PaginationToken": token} if token else {}
        page = admin.list_users(UserPoolId=pool_id, Filter='email ^= "user"', Limit=4, **kw)
        sizes.append(len(page["Users"]))
        seen += [u["Username"] for u in page["Users"]]
        token = page.get("PaginationToken")
        if not token:
            break
    check(sizes == [4, 4, 4, 1] and seen == [f"user{i:02}" for i in range(13)], f"ListUsers Limit + PaginationToken pages {sizes}")
    paginated = [u["Username"] for p in admin.get_paginator("list_users").paginate(UserPoolId=pool_id, Filter='email ^= "user0"', PaginationConfig={"PageSize": 3}) for u in p["Users"]]
    check(paginated == [f"user{i:02}" for i in range(10)], "boto3 paginator with a filter")
    plain = [u["Username"] for p in admin.get_paginator("list_users").paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 5}) for u in p["Users"]]
    check(plain == [f"user{i:02}" for i in range(13)], "boto3 paginator without a filter")

    # --- bad input -----------------------------------------------------------------------------
    def refused(what, message=None, **kw):
        try:
            admin.list_users(UserPoolId=pool_id, **kw)
        except ex.InvalidParameterException as e:
            if message is not None and e.response["Error"]["Message"] != message:
                fail(f"{what}: message {e.response['Error']['Message']!r}, expected {message!r}")
            CHECKS.append(f"{what}: InvalidParameterException")
            return
        except botocore.exceptions.ClientError as e:
            fail(f"{what}: expected InvalidParameterException, got {e.response['Error']['Code']}: {e}")
        fail(f"{what}: accepted")

    refused("unquoted value", "Error while parsing filter", Filter="email = foo")
    refused("missing value", "Error while parsing filter", Filter="email =")
    refused("unknown operator", "Error while parsing filter", Filter='email != "x"')
    refused("two conditions", "Error while parsing filter", Filter='email = "x" and name = "y"')
    refused("custom attribute", "Invalid search attribute: custom:tier", Filter='custom:tier = "gold"')
    refused("unsearchable attribute", "Invalid search attribute: address", Filter='address ^= "1"')
    refused("filter over 256 characters", Filter='email = "' + "x" * 260 + '"')
    refused("pagination token of another filter", Filter='email ^= "zzz"', PaginationToken=admin.list_users(UserPoolId=pool_id, Filter='email ^= "user"', Limit=1)["PaginationToken"])
    refused("forged pagination token", Filter='email ^= "user"', PaginationToken="bm9wZQ")
    try:
        admin.list_users(UserPoolId=pool_id, Limit=61)
        fail("Limit 61 accepted")
    except botocore.exceptions.ClientError as e:
        check(e.response["Error"]["Code"] in ("InvalidParameterException", "ValidationException"), "Limit over 60 refused")
    print(json.dumps({"checks": CHECKS}))


if __name__ == "__main__":
    main()
