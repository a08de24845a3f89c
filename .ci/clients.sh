#!/usr/bin/env bash
# Installs the real Cognito clients the e2e tests drive (services/idp/tests/cognito_*.rs):
#   - a Python venv with boto3, PyJWT[crypto] and pycognito (pinned in
#     services/idp/tests/clients/requirements.txt, pycognito here),
#   - amazon-cognito-identity-js and jose from services/idp/tests/clients/package-lock.json.
# Idempotent: an up-to-date venv / node_modules is reused.
#
#   eval "$(bash .ci/clients.sh)"    # exports IDP_TEST_PYTHON and IDP_TEST_NODE_MODULES
#
# Only `export ...` lines go to stdout; progress and errors go to stderr.
#
# Environment (optional):
#   IDP_VENV   the venv directory (default /var/cache/idp-venv)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLIENTS="$ROOT/services/idp/tests/clients"
VENV="${IDP_VENV:-/var/cache/idp-venv}"
PYCOGNITO_VERSION=2024.5.1

log() { echo "clients.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- Python: boto3 + PyJWT (+ pycognito for SRP through boto3) -------------------------------
command -v python3 >/dev/null || die "python3 is missing (Debian: apt-get install python3 python3-venv)"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating python venv in $VENV"
  python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
stamp="$VENV/.idp-requirements"
wanted="$(cat "$CLIENTS/requirements.txt"; echo "pycognito==$PYCOGNITO_VERSION")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ] \
  || ! "$VENV/bin/python" -c "import boto3, jwt, cryptography, pycognito, pyotp" 2>/dev/null; then
  log "pip install -r requirements.txt pycognito==$PYCOGNITO_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$CLIENTS/requirements.txt" >&2 \
    || die "pip install of boto3 / PyJWT failed"
  # pycognito pulls boto3 too; installed after the pins so it cannot move them.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pycognito==$PYCOGNITO_VERSION" >&2 \
    || die "pip install pycognito failed"
  echo "$wanted" > "$stamp"
fi
"$VENV/bin/python" -c "import boto3, jwt, cryptography" || die "the venv cannot import boto3 + PyJWT[crypto]"

# --- Node: amazon-cognito-identity-js + jose ---------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if command -v apt-get >/dev/null; then
    log "installing nodejs + npm (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >&2 \
      || die "apt-get install nodejs npm failed"
  else
    die "node and npm are missing"
  fi
fi
lock_stamp="$CLIENTS/node_modules/.idp-lock"
if [ ! -f "$lock_stamp" ] || ! cmp -s "$CLIENTS/package-lock.json" "$lock_stamp"; then
  log "npm ci in $CLIENTS"
  (cd "$CLIENTS" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
  cp "$CLIENTS/package-lock.json" "$lock_stamp"
fi

echo "export IDP_TEST_PYTHON=$VENV/bin/python"
echo "export IDP_TEST_NODE_MODULES=$CLIENTS/node_modules"
