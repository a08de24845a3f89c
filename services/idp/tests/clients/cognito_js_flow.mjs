// amazon-cognito-identity-js (unchanged, `endpoint` pointed at the service): signUp, SRP
// authenticateUser, refreshSession, signOut with token revocation; tokens verified with `jose`
// against the pool's JWKS.
//
// Driven by services/idp/tests/cognito_js.rs. Environment:
//   IDP_ENDPOINT           http://127.0.0.1:PORT
//   IDP_POOL_ID            a pool that auto-verifies email
//   IDP_CLIENT_ID          an app client without secret allowing SRP + refresh
//   IDP_ISSUER             the expected `iss`
//   IDP_DATA_DIR           the server's data dir (codes come from outbox.jsonl)
//   IDP_TEST_NODE_MODULES  where `npm install` put the packages (default: ./node_modules)
// Prints one JSON object on the last line of stdout; exits non-zero at the first failure.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.IDP_TEST_NODE_MODULES || join(here, 'node_modules');
const requireFrom = createRequire(join(modules, '..', 'resolve-from-here.js'));
const cognito = requireFrom('amazon-cognito-identity-js');
const jose = await import(pathToFileURL(requireFrom.resolve('jose')).href);
const { CognitoUserPool, CognitoUser, CognitoUserAttribute, AuthenticationDetails } = cognito;

const ENDPOINT = process.env.IDP_ENDPOINT;
const POOL_ID = process.env.IDP_POOL_ID;
const CLIENT_ID = process.env.IDP_CLIENT_ID;
const ISSUER = process.env.IDP_ISSUER;
const DATA_DIR = process.env.IDP_DATA_DIR;
const PASSWORD = 'Corr3ct-Horse-Battery';
const checks = [];

function fail(msg) {
  console.error(`cognito_js_flow: FAILED: ${msg}`);
  process.exit(1);
}

function check(cond, what) {
  if (!cond) fail(what);
  checks.push(what);
}

async function expectError(code, what, promise) {
  try {
    await promise;
  } catch (err) {
    if (err && err.code === code) {
      checks.push(`${what}: ${err.code}`);
      return err;
    }
    fail(`${what}: expected ${code}, got ${err && (err.code || err.name)}: ${err && err.message}`);
  }
  fail(`${what}: expected ${code}, the call succeeded`);
}

// Node-style callback → promise.
const call = (fn) => new Promise((resolve, reject) => fn((err, result) => (err ? reject(err) : resolve(result))));

function authenticate(user, username, password) {
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
      onSuccess: resolve,
      onFailure: reject,
      newPasswordRequired: () => reject(new Error('unexpected newPasswordRequired')),
      mfaRequired: () => reject(new Error('unexpected mfaRequired')),
      totpRequired: () => reject(new Error('unexpected totpRequired')),
      customChallenge: () => reject(new Error('unexpected customChallenge')),
    });
  });
}

async function codeFor(username, kind) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    let lines = [];
    try {
      lines = readFileSync(join(DATA_DIR, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    const found = lines.filter((m) => m.pool_id === POOL_ID && m.username === username && m.kind === kind);
    if (found.length) return found[found.length - 1].code;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`no ${kind} code for ${username} in the outbox`);
}

const pool = new CognitoUserPool({ UserPoolId: POOL_ID, ClientId: CLIENT_ID, endpoint: `${ENDPOINT}/` });
const email = new CognitoUserAttribute({ Name: 'email', Value: 'js@example.com' });

// signUp
const up = await call((cb) => pool.signUp('jsuser', PASSWORD, [email], null, cb));
check(up.userConfirmed === false && /^[0-9a-f-]{36}$/.test(up.userSub), 'signUp');
check(up.codeDeliveryDetails && up.codeDeliveryDetails.DeliveryMedium === 'EMAIL', 'signUp CodeDeliveryDetails');
await expectError('UsernameExistsException', 'duplicate signUp', call((cb) => pool.signUp('jsuser', PASSWORD, [email], null, cb)));
await expectError('InvalidPasswordException', 'password policy', call((cb) => pool.signUp('weak', 'short', [email], null, cb)));

// SRP sign-in before confirmation, then confirmRegistration with the outbox code
const user = new CognitoUser({ Username: 'jsuser', Pool: pool });
await expectError('UserNotConfirmedException', 'SRP sign-in of an unconfirmed user', authenticate(user, 'jsuser', PASSWORD));
const code = await codeFor('jsuser', 'SIGN_UP');
const wrong = code === '000000' ? '111111' : '000000';
await expectError('CodeMismatchException', 'wrong confirmation code', call((cb) => user.confirmRegistration(wrong, true, cb)));
const confirmed = await call((cb) => user.confirmRegistration(code, true, cb));
check(confirmed === 'SUCCESS', 'confirmRegistration');

// SRP authenticateUser (USER_SRP_AUTH + PASSWORD_VERIFIER)
await expectError('NotAuthorizedException', 'SRP with a wrong password', authenticate(new CognitoUser({ Username: 'jsuser', Pool: pool }), 'jsuser', 'Wr0ng-Password!'));
await expectError('UserNotFoundException', 'SRP for an unknown user', authenticate(new CognitoUser({ Username: 'nobody', Pool: pool }), 'nobody', PASSWORD));
const session = await authenticate(user, 'jsuser', PASSWORD);
check(session.isValid(), 'authenticateUser (SRP) gives a valid session');
const idToken = session.getIdToken().getJwtToken();
const accessToken = session.getAccessToken().getJwtToken();
check(session.getIdToken().decodePayload()['cognito:username'] === 'jsuser', 'ID token names the user');
check(session.getRefreshToken().getToken().length > 0, 'refresh token');

const attributes = await call((cb) => user.getUserAttributes(cb));
const byName = Object.fromEntries(attributes.map((a) => [a.getName(), a.getValue()]));
check(byName.email === 'js@example.com' && byName.email_verified === 'true', 'getUserAttributes (GetUser)');

// refreshSession (REFRESH_TOKEN_AUTH)
const refreshed = await call((cb) => user.refreshSession(session.getRefreshToken(), cb));
check(refreshed.isValid() && refreshed.getAccessToken().getJwtToken() !== accessToken, 'refreshSession gives new tokens');
check(refreshed.getRefreshToken().getToken() === session.getRefreshToken().getToken(), 'refreshSession keeps the refresh token');

// jose: the pool's JWKS verifies both tokens (iss, aud / client_id, token_use, exp)
const jwks = jose.createRemoteJWKSet(new URL(`${ENDPOINT}/${POOL_ID}/.well-known/jwks.json`));
const { payload: id } = await jose.jwtVerify(idToken, jwks, { issuer: ISSUER, audience: CLIENT_ID, algorithms: ['RS256'], requiredClaims: ['exp', 'iat', 'sub'] });
check(id.token_use === 'id' && id.exp > Date.now() / 1000, 'jose: ID token (iss, aud, token_use, exp)');
const { payload: access } = await jose.jwtVerify(refreshed.getAccessToken().getJwtToken(), jwks, { issuer: ISSUER, algorithms: ['RS256'], requiredClaims: ['exp'] });
check(access.token_use === 'access' && access.client_id === CLIENT_ID && access.aud === undefined, 'jose: access token (iss, client_id, token_use)');
try {
  await jose.jwtVerify(idToken, jwks, { issuer: ISSUER, audience: 'another-client' });
  fail('jose accepted a token for another audience');
} catch (e) {
  check(e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'jose: another audience is refused');
}

// signOut(callback) revokes the refresh token (RevokeToken)
await new Promise((resolve, reject) => user.signOut((err) => (err ? reject(err) : resolve())));
checks.push('signOut with RevokeToken');
await expectError('NotAuthorizedException', 'refresh after signOut', call((cb) => user.refreshSession(session.getRefreshToken(), cb)));

console.log(JSON.stringify({ checks }));
