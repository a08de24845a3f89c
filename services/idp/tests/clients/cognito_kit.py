"""What every boto3 test script shares: the endpoint and data dir from the environment, checks
that fail loudly, error expectations, and the `cognito-idp` client (signed or unsigned).

Driven scripts print one JSON object on their last stdout line; `fail` exits non-zero with the
script's name and the message on stderr.
"""

import os
import sys

import boto3
import botocore
from botocore.config import Config

ENDPOINT = os.environ["IDP_ENDPOINT"]
REGION = os.environ.get("IDP_REGION", "us-east-1")
DATA_DIR = os.environ["IDP_DATA_DIR"]
PASSWORD = "Corr3ct-Horse-Battery"
CHECKS = []
SCRIPT = os.path.splitext(os.path.basename(sys.argv[0]))[0]


def fail(msg):
    print(f"{SCRIPT}: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    CHECKS.append(what)


def expect_error(exc_class, what, fn, **kwargs):
    """Calls fn and requires boto3's modeled exception `exc_class` (not a generic ClientError)."""
    try:
        fn(**kwargs)
    except exc_class as e:
        CHECKS.append(f"{what}: {e.response['Error']['Code']}")
        return e
    except botocore.exceptions.ClientError as e:
        fail(f"{what}: expected {exc_class.__name__}, got {e.response['Error']['Code']}: {e}")
    fail(f"{what}: expected {exc_class.__name__}, the call succeeded")


def expect_code(code, what, fn, **kwargs):
    """Calls fn and requires a ClientError with this error code (for errors botocore does not model)."""
    try:
        out = fn(**kwargs)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            fail(f"{what}: expected {code}, got {got}: {e}")
        CHECKS.append(f"{what}: {got}")
        return e
    fail(f"{what}: expected {code}, the call succeeded: {out}")


def client(unsigned=False, **kw):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    if unsigned:
        cfg = cfg.merge(Config(signature_version=botocore.UNSIGNED))
    return boto3.client("cognito-idp", endpoint_url=ENDPOINT, region_name=REGION, config=cfg, **kw)
