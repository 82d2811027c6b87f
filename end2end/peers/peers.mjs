// Test peers for Mailroom: an Entra ID-like token endpoint (its error bodies
// and AADSTS codes), a Microsoft Graph-like sendMail on the same HTTP
// servers (its error bodies, scopes and throttling), Exchange Online-like SMTP servers built on nodemailer's
// smtp-server (STARTTLS, AUTH XOAUTH2 with the bearer token verified), and a
// small HTTP proxy. Usage: node peers.mjs STATE_DIR
// Writes STATE_DIR/peers.json with the ports and the test CA's path once
// everything listens; stops on SIGTERM/SIGINT.
import { SMTPServer } from 'smtp-server';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

const stateDir = path.resolve(process.argv[2] || '.peers');
fs.mkdirSync(stateDir, { recursive: true });

// ---- the test CA and the servers' certificate (openssl, once per state dir)
const caKey = path.join(stateDir, 'test-ca.key');
const caPem = path.join(stateDir, 'test-ca.pem');
const leafKey = path.join(stateDir, 'localhost.key');
const leafPem = path.join(stateDir, 'localhost.pem');
if (!fs.existsSync(leafPem)) {
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caPem, '-days', '3650',
    '-subj', '/CN=Mailroom Test Root CA/O=Mailroom Tests', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const csr = path.join(stateDir, 'localhost.csr');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', leafKey, '-out', csr, '-subj', '/CN=localhost');
  const ext = path.join(stateDir, 'leaf.ext');
  fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', csr, '-CA', caPem, '-CAkey', caKey, '-CAcreateserial', '-out', leafPem, '-days', '825',
    '-extfile', ext);
}
const tlsOptions = { key: fs.readFileSync(leafKey), cert: fs.readFileSync(leafPem) };

// Certificates from the same trusted CA that are wrong in one way each: for
// other host names, expired, not valid yet. `openssl ca` sets exact dates.
function faultyCertificate(name, { sans, start, end }) {
  const pem = path.join(stateDir, `${name}.pem`);
  if (fs.existsSync(pem)) return { key: tlsOptions.key, cert: fs.readFileSync(pem) };
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  const csr = path.join(stateDir, `${name}.csr`);
  ssl('req', '-new', '-key', leafKey, '-out', csr, '-subj', `/CN=${sans[0]}`);
  const ext = path.join(stateDir, `${name}.ext`);
  fs.writeFileSync(ext, `subjectAltName=${sans.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  const db = path.join(stateDir, `${name}-ca`);
  fs.mkdirSync(db, { recursive: true });
  fs.writeFileSync(path.join(db, 'index.txt'), '');
  fs.writeFileSync(path.join(db, 'serial'), crypto.randomBytes(8).toString('hex') + '\n');
  const config = path.join(db, 'ca.cnf');
  fs.writeFileSync(config, [
    '[ca]', 'default_ca = test', '[test]', `database = ${db}/index.txt`, `new_certs_dir = ${db}`,
    `serial = ${db}/serial`, 'default_md = sha256', 'policy = any', 'unique_subject = no',
    '[any]', 'commonName = supplied', '',
  ].join('\n'));
  ssl('ca', '-batch', '-notext', '-config', config, '-cert', caPem, '-keyfile', caKey, '-in', csr, '-out', pem,
    '-startdate', start, '-enddate', end, '-extfile', ext);
  return { key: tlsOptions.key, cert: fs.readFileSync(pem) };
}
const otherNamesTls = faultyCertificate('other-names', {
  sans: ['smtp.contoso.test', 'mail.contoso.test'], start: '20240101000000Z', end: '20491231000000Z' });
const expiredTls = faultyCertificate('expired', {
  sans: ['localhost'], start: '20200101000000Z', end: '20210101000000Z' });
const notYetValidTls = faultyCertificate('not-yet-valid', {
  sans: ['localhost'], start: '20480101000000Z', end: '20491231000000Z' });

// ---- the directory: tenants, apps, and which mailboxes each app may send as
const TENANT = { id: '9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f', domains: ['contoso.onmicrosoft.com'] };
const SECRET = 'Good~Secret.Value_123+/=&%';
const EXCHANGE_SCOPE = 'https://outlook.office365.com/.default';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const apps = {
  // Registered, consented, and a service principal with FullAccess on four
  // mailboxes (two of them for a sender pool); not on guests3@. For Graph:
  // Mail.Send, scoped (RBAC for Applications) to the same mailboxes and to
  // the on-premises one.
  '1b2c3d4e-0000-4000-8000-00000000abcd': {
    secret: SECRET, roles: ['SMTP.SendAsApp'], graph_roles: ['Mail.Send'],
    mailboxes: ['noreply@contoso.onmicrosoft.com', 'smtp-disabled@contoso.onmicrosoft.com',
      'guests1@contoso.onmicrosoft.com', 'guests2@contoso.onmicrosoft.com', 'onprem@contoso.onmicrosoft.com'],
  },
  // Registered without the SMTP.SendAsApp permission (nor Graph's Mail.Send).
  '1b2c3d4e-0000-4000-8000-00000000beef': { secret: SECRET, roles: [], mailboxes: [] },
  // Its only secret has expired.
  '1b2c3d4e-0000-4000-8000-00000000dead': { secret: SECRET, expired: true, roles: ['SMTP.SendAsApp'], mailboxes: [] },
  // Entra is throttling this app / is unavailable for it.
  '1b2c3d4e-0000-4000-8000-000000000429': { secret: SECRET, status: 429, roles: [], mailboxes: [] },
  '1b2c3d4e-0000-4000-8000-000000000503': { secret: SECRET, status: 503, roles: [], mailboxes: [] },
};
const SMTP_AUTH_DISABLED = 'smtp-disabled@contoso.onmicrosoft.com';
// The tenant's mailboxes as Graph knows them; onprem@ lives in Exchange on
// premises (hybrid), so Graph cannot send from it.
const DIRECTORY = ['noreply@contoso.onmicrosoft.com', 'smtp-disabled@contoso.onmicrosoft.com',
  'guests1@contoso.onmicrosoft.com', 'guests2@contoso.onmicrosoft.com', 'guests3@contoso.onmicrosoft.com',
  'onprem@contoso.onmicrosoft.com'];
const ON_PREMISES = 'onprem@contoso.onmicrosoft.com';
const RELAY_USER = { username: 'relay-user', password: 'Relay-Passw0rd' };
// Whether passwords are accepted at all (POST /_smtp/basic-auth turns it off).
const basicAuth = { enabled: true };

const signingKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64url = (data) => Buffer.from(data).toString('base64url');

function issueToken(appId, roles, lifetime = 3599, aud = 'https://outlook.office365.com') {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'peer' }));
  const claims = b64url(JSON.stringify({
    aud, iss: `https://sts.windows.net/${TENANT.id}/`, iat: now, nbf: now,
    exp: now + lifetime, appid: appId, roles, tid: TENANT.id, sub: crypto.randomUUID(), oid: crypto.randomUUID(),
  }));
  const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), signingKey.privateKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

function verifyToken(token) {
  const [header, claims, signature] = (token || '').split('.');
  if (!signature) return null;
  const ok = crypto.verify('RSA-SHA256', Buffer.from(`${header}.${claims}`), signingKey.publicKey,
    Buffer.from(signature, 'base64url'));
  if (!ok) return null;
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString());
  return payload.exp > Date.now() / 1000 ? payload : null;
}

// ---- counters the tests read through GET /_stats
const stats = { token_requests: 0, token_requests_by_client: {}, auth_ok: 0, auth_failed: 0, proxied: 0, messages: 0, faults_used: 0,
  graph_requests: 0, graph_messages: 0, graph_refusals: 0, graph_throttled: 0, graph_max_in_flight: 0 };
const messages = [];

// ---- faults the tests script through POST /_faults, each used `times` times
// (after passing over the first `skip` occurrences):
//   {at: 'connect'|'mail'|'rcpt'|'data', action: 'reply', code, text}  an SMTP refusal
//   {at: 'connect', action: 'hang'}      the greeting never comes
//   {at: 'data', action: 'drop'}         the connection drops after the message, before the reply
//   {at: 'data', action: 'delay', ms}    the reply to DATA comes `ms` later (a slow server)
//   {at: 'token', action: 'status', status: 429|503, retry_after}   Entra throttling
//   {at: 'token', action: 'expired', lifetime}  a token whose exp is `lifetime` s away (default:
//                                        already past) while expires_in still says 3599
//   {at: 'graph', action: 'status', status: 429|503|504, retry_after}  Graph throttling or unavailable
//   {at: 'graph', action: 'revoke'}      the next sendMail's token is refused with 401 (revoked)
const faults = [];
function takeFault(at) {
  const index = faults.findIndex((f) => f.at === at);
  if (index < 0) return null;
  const fault = faults[index];
  if (fault.skip > 0) {
    fault.skip -= 1;
    return null;
  }
  fault.times = (fault.times || 1) - 1;
  if (fault.times <= 0) faults.splice(index, 1);
  stats.faults_used += 1;
  return fault;
}

function entraError(res, status, error, code, description, extraHeaders = {}) {
  const trace = crypto.randomUUID();
  const correlation = crypto.randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const body = {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
    error_codes: [code], timestamp, trace_id: trace, correlation_id: correlation,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extraHeaders });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; if (data.length > 1e6) req.destroy(); });
    req.on('end', () => resolve(data));
  });
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

async function tokenEndpoint(req, res) {
  const url = new URL(req.url, 'http://peer');
  if (req.method === 'GET' && url.pathname === '/_stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(stats));
  }
  if (req.method === 'GET' && url.pathname === '/_messages') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(messages));
  }
  // Like uploading a certificate to the app registration in Entra ID.
  const register = url.pathname.match(/^\/_apps\/([^/]+)\/certificates$/);
  if (req.method === 'POST' && register) {
    const app = apps[register[1].toLowerCase()];
    if (!app) { res.writeHead(404); return res.end(); }
    try {
      const cert = new crypto.X509Certificate(await readBody(req));
      app.certificates = [...(app.certificates || []), cert];
      res.writeHead(204);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.write(String(err.message));
    }
    return res.end();
  }
  // Like deleting a certificate from the app registration: named by its
  // x5t#S256 (base64url SHA-256 of the DER), as the console shows it.
  const unregister = url.pathname.match(/^\/_apps\/([^/]+)\/certificates\/([A-Za-z0-9_-]+)$/);
  if (req.method === 'DELETE' && unregister) {
    const app = apps[unregister[1].toLowerCase()];
    if (!app) { res.writeHead(404); return res.end(); }
    const before = (app.certificates || []).length;
    app.certificates = (app.certificates || []).filter((x) =>
      crypto.createHash('sha256').update(x.raw).digest('base64url') !== unregister[2]);
    res.writeHead(app.certificates.length < before ? 204 : 404);
    return res.end();
  }
  // Like Certificates & secrets in Entra ID: the secrets the app accepts
  // now, and those past their date ({"secrets": [...], "expired": [...]}).
  const secrets = url.pathname.match(/^\/_apps\/([^/]+)\/secrets$/);
  if (req.method === 'POST' && secrets) {
    const app = apps[secrets[1].toLowerCase()];
    if (!app) { res.writeHead(404); return res.end(); }
    const body = JSON.parse(await readBody(req) || '{}');
    app.secrets = body.secrets || [];
    app.expiredSecrets = body.expired || [];
    res.writeHead(204);
    return res.end();
  }
  // Exchange Online's per-mailbox limits, scaled for tests:
  // {max_connections, daily_recipients}; {} turns them off.
  if (req.method === 'POST' && url.pathname === '/_limits') {
    const body = JSON.parse(await readBody(req) || '{}');
    limits.max_connections = body.max_connections || 0;
    limits.daily_recipients = body.daily_recipients || 0;
    res.writeHead(204);
    return res.end();
  }
  // The rolling 24 hours have passed: the daily quota is free again.
  if (req.method === 'POST' && url.pathname === '/_limits/new-day') {
    for (const user of Object.keys(recipientsToday)) delete recipientsToday[user];
    res.writeHead(204);
    return res.end();
  }
  if (req.method === 'POST' && url.pathname === '/_faults') {
    const body = JSON.parse(await readBody(req) || '[]');
    faults.push(...(Array.isArray(body) ? body : [body]));
    res.writeHead(204);
    return res.end();
  }
  // Microsoft retires basic authentication: every password is refused.
  if (req.method === 'POST' && url.pathname === '/_smtp/basic-auth') {
    basicAuth.enabled = JSON.parse(await readBody(req) || '{}').enabled !== false;
    res.writeHead(204);
    return res.end();
  }
  // The Exchange-like port presents another certificate to new sessions:
  // {"use": "other-names" | "expired" | "not-yet-valid" | "good"}.
  if (req.method === 'POST' && url.pathname === '/_smtp/certificate') {
    const use = JSON.parse(await readBody(req) || '{}').use;
    const tls = { 'other-names': otherNamesTls, expired: expiredTls, 'not-yet-valid': notYetValidTls, good: tlsOptions }[use];
    if (!tls) {
      res.writeHead(400);
      return res.end();
    }
    exchange.updateSecureContext(tls);
    res.writeHead(204);
    return res.end();
  }
  if (req.method === 'POST' && (url.pathname === '/_smtp/down' || url.pathname === '/_smtp/up')) {
    await (url.pathname === '/_smtp/down' ? smtpDown() : smtpUp());
    res.writeHead(204);
    return res.end();
  }
  // Whether sessions that say EHLO from now on are offered PIPELINING
  // (RFC 2920): {"on": false} makes a server that takes one command at a time.
  if (req.method === 'POST' && url.pathname === '/_smtp/pipelining') {
    const body = JSON.parse(await readBody(req) || '{}');
    exchange.options.hidePIPELINING = !body.on;
    res.writeHead(204);
    return res.end();
  }
  const sendMail = url.pathname.match(/^\/v1\.0\/users\/([^/]+)\/sendMail$/);
  if (sendMail) return graphSendMail(req, res, decodeURIComponent(sendMail[1]).toLowerCase());
  if (req.method === 'POST' && url.pathname === '/_reset') {
    Object.assign(stats, { token_requests: 0, token_requests_by_client: {}, auth_ok: 0, auth_failed: 0, proxied: 0, messages: 0,
      graph_requests: 0, graph_messages: 0, graph_refusals: 0, graph_throttled: 0, graph_max_in_flight: 0 });
    messages.length = 0;
    res.writeHead(204);
    return res.end();
  }
  const match = url.pathname.match(/^\/([^/]+)\/oauth2\/v2\.0\/token$/);
  if (req.method !== 'POST' || !match) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  const form = new URLSearchParams(await readBody(req));
  const tenant = decodeURIComponent(match[1]);
  const clientId = form.get('client_id') || '';
  stats.token_requests += 1;
  stats.token_requests_by_client[clientId] = (stats.token_requests_by_client[clientId] || 0) + 1;

  if (!GUID.test(tenant) && !DOMAIN.test(tenant)) {
    return entraError(res, 400, 'invalid_request', 900023,
      `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`);
  }
  if (tenant.toLowerCase() !== TENANT.id && !TENANT.domains.includes(tenant.toLowerCase())) {
    return entraError(res, 400, 'invalid_request', 90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
  }
  if (form.get('grant_type') !== 'client_credentials') {
    return entraError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
  }
  const app = apps[clientId.toLowerCase()];
  if (!app) {
    return entraError(res, 400, 'unauthorized_client', 700016,
      `Application with identifier '${clientId}' was not found in the directory '${TENANT.domains[0]}'.`);
  }
  if (app.status === 429) {
    return entraError(res, 429, 'temporarily_unavailable', 50196,
      'The server terminated an operation because it encountered a client request loop.', { 'retry-after': '30' });
  }
  if (app.status === 503) {
    res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '10' });
    return res.end('<html><body><h1>Service Unavailable</h1></body></html>');
  }
  if (form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    const failure = checkAssertion(form.get('client_assertion') || '', app, clientId,
      `http://${req.headers.host}${url.pathname}`, `https://${req.headers.host}${url.pathname}`);
    if (failure) return entraError(res, 401, 'invalid_client', failure.code, failure.description);
  } else if ((app.expiredSecrets || []).includes(form.get('client_secret'))) {
    return entraError(res, 401, 'invalid_client', 7000222,
      `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app.`);
  } else if (!(app.secrets || [app.secret]).includes(form.get('client_secret'))) {
    return entraError(res, 401, 'invalid_client', 7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app \'' + clientId + '\'.');
  }
  if (app.expired) {
    return entraError(res, 401, 'invalid_client', 7000222,
      `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app.`);
  }
  const scope = form.get('scope');
  if (scope !== EXCHANGE_SCOPE && scope !== GRAPH_SCOPE) {
    return entraError(res, 400, 'invalid_scope', 70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${form.get('scope')} is not valid.`);
  }
  const fault = takeFault('token');
  if (fault && fault.action === 'status' && fault.status === 429) {
    return entraError(res, 429, 'temporarily_unavailable', 50196,
      'The server terminated an operation because it encountered a client request loop.',
      { 'retry-after': String(fault.retry_after ?? 1) });
  }
  if (fault && fault.action === 'status') {
    res.writeHead(fault.status, { 'content-type': 'text/html', 'retry-after': String(fault.retry_after ?? 1) });
    return res.end('<html><body><h1>Service Unavailable</h1></body></html>');
  }
  const lifetime = fault && fault.action === 'expired' ? (fault.lifetime ?? -60) : 3599;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  const [roles, aud] = scope === GRAPH_SCOPE
    ? [app.graph_roles || [], 'https://graph.microsoft.com']
    : [app.roles, 'https://outlook.office365.com'];
  res.end(JSON.stringify({
    token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issueToken(clientId, roles, lifetime, aud),
  }));
}

// ---- Microsoft Graph: POST /v1.0/users/{mailbox}/sendMail with base64 MIME
function graphError(res, status, code, message, extraHeaders = {}) {
  stats.graph_refusals += 1;
  const requestId = crypto.randomUUID();
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...extraHeaders });
  res.end(JSON.stringify({ error: { code, message, innerError: {
    date: new Date().toISOString().replace(/\.\d+Z$/, ''), 'request-id': requestId, 'client-request-id': crypto.randomUUID(),
  } } }));
}

// Requests in flight per mailbox: Graph allows 4 at once.
const graphInFlight = {};

async function graphSendMail(req, res, mailbox) {
  stats.graph_requests += 1;
  const body = await readBody(req);
  if (req.method !== 'POST') return graphError(res, 405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
  const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
  const claims = verifyToken(bearer);
  if (!claims) return graphError(res, 401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
  if (claims.aud !== 'https://graph.microsoft.com') {
    return graphError(res, 401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
  }
  const fault = takeFault('graph');
  if (fault && fault.action === 'revoke') {
    revoked.add(bearer);
  }
  if (revoked.has(bearer)) {
    return graphError(res, 401, 'InvalidAuthenticationToken', 'Access token has been revoked.');
  }
  if (fault && fault.action === 'status' && fault.status === 429) {
    stats.graph_throttled += 1;
    return graphError(res, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.',
      { 'retry-after': String(fault.retry_after ?? 1) });
  }
  if (fault && fault.action === 'status') {
    return graphError(res, fault.status, fault.status === 504 ? 'UnknownError' : 'ServiceNotAvailable',
      'The service is temporarily unavailable.', { 'retry-after': String(fault.retry_after ?? 1) });
  }
  if (!DIRECTORY.includes(mailbox)) {
    return graphError(res, 404, 'ErrorInvalidUser', `The requested user '${mailbox}' is invalid.`);
  }
  const app = apps[claims.appid];
  if (!claims.roles.includes('Mail.Send') || !app || !app.mailboxes.includes(mailbox)) {
    return graphError(res, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
  }
  if (mailbox === ON_PREMISES) {
    return graphError(res, 404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
  }
  if (!/^text\/plain\b/.test(req.headers['content-type'] || '')) {
    return graphError(res, 415, 'ErrorInvalidRequest', 'The Content-Type header must be text/plain for a MIME message.');
  }
  const raw = Buffer.from(body, 'base64').toString();
  const header = (name) => ((raw.match(new RegExp(`^${name}:\\s*(.+(?:\\r?\\n[ \\t].+)*)$`, 'im')) || [])[1] || '').replace(/\r?\n[ \t]+/g, ' ').trim();
  const addresses = (text) => (text.match(/[^\s<>,"]+@[^\s<>,"]+/g) || []).map((a) => a.toLowerCase());
  if (!raw.includes('\n') || !header('From')) {
    return graphError(res, 400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
  }
  const from = addresses(header('From'))[0] || '';
  if (from !== mailbox) {
    return graphError(res, 403, 'ErrorSendAsDenied',
      'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.');
  }
  graphInFlight[mailbox] = (graphInFlight[mailbox] || 0) + 1;
  try {
    if (graphInFlight[mailbox] > 4) {
      stats.graph_throttled += 1;
      return graphError(res, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': '1' });
    }
    stats.graph_max_in_flight = Math.max(stats.graph_max_in_flight, graphInFlight[mailbox]);
    // Graph takes a moment per message; concurrent requests overlap here.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const to = [...addresses(header('To')), ...addresses(header('Cc'))];
    stats.graph_messages += 1;
    messages.push({
      at: Date.now(), via: 'graph', user: mailbox, from, to, message_id: header('Message-ID'), size: raw.length,
      subject: header('Subject'), raw: raw.length <= 65536 ? raw : undefined,
    });
    if (messages.length > 20000) messages.shift();
    res.writeHead(202, { 'request-id': crypto.randomUUID(), 'content-length': '0' });
    return res.end();
  } finally {
    graphInFlight[mailbox] -= 1;
  }
}
const revoked = new Set();

// Entra's checks of a certificate client assertion: a registered certificate
// named by x5t#S256, a valid PS256/RS256 signature, the token URL as audience,
// the app as issuer and subject, and a lifetime of at most 10 minutes.
function checkAssertion(jwt, app, clientId, ...audiences) {
  const [h, c, sig] = jwt.split('.');
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString());
    claims = JSON.parse(Buffer.from(c, 'base64url').toString());
  } catch {
    return { code: 50027, description: 'JWT token is invalid or malformed.' };
  }
  const cert = (app.certificates || []).find((x) =>
    crypto.createHash('sha256').update(x.raw).digest('base64url') === header['x5t#S256']);
  if (!cert) {
    return { code: 700027, description: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${header['x5t#S256']}']` };
  }
  const key = header.alg === 'PS256'
    ? { key: cert.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
    : cert.publicKey;
  const valid = ['PS256', 'RS256'].includes(header.alg)
    && crypto.verify('sha256', Buffer.from(`${h}.${c}`), key, Buffer.from(sig || '', 'base64url'));
  if (!valid) return { code: 700027, description: 'Client assertion contains an invalid signature.' };
  const now = Date.now() / 1000;
  if (!audiences.includes(claims.aud)) {
    return { code: 700021, description: `Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .` };
  }
  if (claims.iss !== clientId || claims.sub !== clientId) {
    return { code: 700023, description: 'Client assertion issuer or subject does not match the client.' };
  }
  if (!(claims.nbf <= now + 300 && claims.exp > now && claims.exp - claims.nbf <= 600)) {
    return { code: 700024, description: 'Client assertion is not within its valid time range.' };
  }
  return null;
}

// ---- SMTP servers
function exchangeError(code, text) {
  const err = new Error(text);
  err.responseCode = code;
  return err;
}

function onAuth(auth, session, callback) {
  if (auth.method === 'XOAUTH2') {
    const claims = verifyToken(auth.accessToken);
    const app = claims && apps[claims.appid];
    if (!claims || claims.aud !== 'https://outlook.office365.com') {
      stats.auth_failed += 1;
      return callback(exchangeError(535, '5.7.3 Authentication unsuccessful [PEER0001.contoso.test]'));
    }
    if (auth.username === SMTP_AUTH_DISABLED) {
      stats.auth_failed += 1;
      return callback(exchangeError(535, '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. [PEER0002.contoso.test]'));
    }
    if (!claims.roles.includes('SMTP.SendAsApp') || !app || !app.mailboxes.includes(auth.username)) {
      stats.auth_failed += 1;
      return callback(exchangeError(535, '5.7.3 Authentication unsuccessful [PEER0003.contoso.test]'));
    }
    if (overConnectionLimit(session, auth.username)) {
      return callback(exchangeError(432, '4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information. [Hostname=PEER0000.contoso.test]'));
    }
    stats.auth_ok += 1;
    return callback(null, { user: auth.username });
  }
  if (basicAuth.enabled && auth.username === RELAY_USER.username && auth.password === RELAY_USER.password) {
    stats.auth_ok += 1;
    return callback(null, { user: auth.username });
  }
  stats.auth_failed += 1;
  // A user that may sign in with a password, and a wrong one.
  if (basicAuth.enabled && auth.username === RELAY_USER.username) {
    return callback(exchangeError(535, '5.7.3 Authentication unsuccessful [PEER0007.contoso.test]'));
  }
  return callback(exchangeError(535, '5.7.139 Authentication unsuccessful, basic authentication is disabled. [PEER0004.contoso.test]'));
}

// Per-mailbox limits (off until a test sets them), the authenticated
// connections open per mailbox, and recipients accepted per mailbox.
const limits = { max_connections: 0, daily_recipients: 0 };
const openByUser = {};
const recipientsToday = {};
const countedSessions = new Map();

function overConnectionLimit(session, user) {
  if (limits.max_connections && (openByUser[user] || 0) >= limits.max_connections) {
    stats.refused_432 = (stats.refused_432 || 0) + 1;
    return true;
  }
  openByUser[user] = (openByUser[user] || 0) + 1;
  stats.max_open = Math.max(stats.max_open || 0, openByUser[user]);
  countedSessions.set(session.id, user);
  return false;
}

function onClose(session) {
  const user = countedSessions.get(session.id);
  if (user !== undefined) {
    countedSessions.delete(session.id);
    openByUser[user] -= 1;
  }
}

// Sockets of the Exchange-like server by client port, so a fault can drop one.
const sockets = new Map();

function refusal(at, callback) {
  const fault = takeFault(at);
  if (fault && fault.action === 'reply') {
    callback(exchangeError(fault.code, fault.text));
    return true;
  }
  return false;
}

function onConnect(session, callback) {
  const fault = takeFault('connect');
  if (fault && fault.action === 'hang') return; // never greet
  if (fault && fault.action === 'reply') return callback(exchangeError(fault.code, fault.text));
  return callback();
}

function onMailFrom(address, session, callback) {
  if (!refusal('mail', callback)) callback();
}

function onRcptTo(address, session, callback) {
  if (!refusal('rcpt', callback)) callback();
}

function onData(stream, session, callback) {
  const chunks = [];
  stream.on('data', (chunk) => chunks.push(chunk));
  stream.on('end', () => {
    const fault = takeFault('data');
    if (fault && fault.action === 'drop') {
      const socket = sockets.get(session.remotePort);
      if (socket) socket.destroy();
      return;
    }
    if (fault && fault.action === 'reply') return callback(exchangeError(fault.code, fault.text));
    const user = session.user;
    const count = session.envelope.rcptTo.length;
    if (limits.daily_recipients && (recipientsToday[user] || 0) + count > limits.daily_recipients) {
      stats.quota_refusals = (stats.quota_refusals || 0) + 1;
      return callback(exchangeError(554, '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot submit message. [PEER0000.contoso.test]'));
    }
    recipientsToday[user] = (recipientsToday[user] || 0) + count;
    const accept = () => {
      const raw = Buffer.concat(chunks).toString();
      const id = (raw.match(/^Message-ID:\s*(.+)$/im) || [])[1] || '';
      const subject = (raw.match(/^Subject:\s*(.+)$/im) || [])[1] || '';
      stats.messages += 1;
      messages.push({
        at: Date.now(), user: session.user, from: session.envelope.mailFrom && session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((r) => r.address), message_id: id.trim(), size: raw.length,
        subject: subject.trim(), raw: raw.length <= 65536 ? raw : undefined,
      });
      if (messages.length > 20000) messages.shift();
      callback(null, '2.6.0 Queued mail for delivery');
    };
    if (fault && fault.action === 'delay') setTimeout(accept, fault.ms || 0);
    else accept();
  });
}

const quiet = { logger: false, disableReverseLookup: true, size: 35 * 1024 * 1024 };
// Exchange-like submission port: STARTTLS, then AUTH XOAUTH2 (and basic auth for the relay user).
const exchange = new SMTPServer({
  ...quiet, name: 'PEER0000.contoso.test', secure: false, ...tlsOptions,
  authMethods: ['XOAUTH2', 'PLAIN', 'LOGIN'], onAuth, onData, onConnect, onMailFrom, onRcptTo, onClose,
});
exchange.server.on('connection', (socket) => {
  const port = socket.remotePort;
  sockets.set(port, socket);
  socket.on('close', () => sockets.delete(port));
});
// Exchange Online since basic authentication was retired: after STARTTLS it
// offers AUTH LOGIN XOAUTH2 and answers a password with 535 5.7.139.
const basicOff = new SMTPServer({
  ...quiet, name: 'PEER0005.contoso.test', secure: false, ...tlsOptions,
  authMethods: ['LOGIN', 'XOAUTH2'], onAuth, onData, onClose,
});
// The Exchange-like server behind a certificate that is wrong in one way.
const wrongCertificate = (tls) => new SMTPServer({
  ...quiet, name: 'PEER0006.contoso.test', secure: false, ...tls,
  authMethods: ['XOAUTH2', 'PLAIN', 'LOGIN'], onAuth, onData, onClose,
});
const otherNames = wrongCertificate(otherNamesTls);
const expired = wrongCertificate(expiredTls);
const notYetValid = wrongCertificate(notYetValidTls);
// A server that is busy: 421 at the greeting.
const busy = new SMTPServer({
  ...quiet, name: 'busy.contoso.test',
  onConnect(session, callback) { callback(exchangeError(421, '4.3.2 Service not available, closing transmission channel')); },
});
// A plain relay that offers no XOAUTH2 (and no TLS).
const noXoauth = new SMTPServer({
  ...quiet, name: 'relay.contoso.test', secure: false, hideSTARTTLS: true, allowInsecureAuth: true,
  authMethods: ['PLAIN', 'LOGIN'], onAuth, onData,
});
// A client that refuses our certificate makes smtp-server emit 'error'; that is
// an expected outcome here, not a reason to stop.
for (const server of [exchange, busy, noXoauth, basicOff, otherNames, expired, notYetValid]) {
  server.on('error', () => {});
}
// Accepts TCP and never says a word.
const silent = net.createServer((socket) => { socket.on('error', () => {}); });

// ---- an HTTP proxy (absolute-form requests and CONNECT), counting what goes through it
const PROXY_USER = 'proxy-user';
const PROXY_PASSWORD = 'Proxy-Passw0rd';
function proxyAuthorized(req) {
  const header = req.headers['proxy-authorization'] || '';
  const expected = 'Basic ' + Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64');
  return header === expected;
}
const proxy = http.createServer((req, res) => {
  if (!proxyAuthorized(req)) {
    res.writeHead(407, { 'proxy-authenticate': 'Basic realm="peer-proxy"' });
    return res.end();
  }
  stats.proxied += 1;
  const target = new URL(req.url);
  const headers = { ...req.headers };
  delete headers['proxy-authorization'];
  const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search,
    method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(upstream);
});
proxy.on('connect', (req, client, head) => {
  if (!proxyAuthorized(req)) {
    client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="peer-proxy"\r\n\r\n');
    return;
  }
  stats.proxied += 1;
  const [host, port] = req.url.split(':');
  const upstream = net.connect(Number(port), host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  client.on('error', () => upstream.destroy());
});

const tokenHttp = http.createServer(tokenEndpoint);
const tokenHttps = https.createServer(tlsOptions, tokenEndpoint);
tokenHttps.on('tlsClientError', () => {});
process.on('uncaughtException', (err) => console.error('peer error (ignored):', err.message));

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

const fixed = (name) => Number(process.env[`PEER_${name.toUpperCase()}_PORT`] || 0);
const ports = {
  token_http: await listen(tokenHttp, fixed('token_http')),
  token_https: await listen(tokenHttps, fixed('token_https')),
  smtp: await listen(exchange.server, fixed('smtp')),
  smtp_busy: await listen(busy.server, fixed('smtp_busy')),
  smtp_no_xoauth2: await listen(noXoauth.server, fixed('smtp_no_xoauth2')),
  smtp_silent: await listen(silent, fixed('smtp_silent')),
  smtp_basic_off: await listen(basicOff.server, fixed('smtp_basic_off')),
  smtp_other_names: await listen(otherNames.server, fixed('smtp_other_names')),
  smtp_expired: await listen(expired.server, fixed('smtp_expired')),
  smtp_not_yet_valid: await listen(notYetValid.server, fixed('smtp_not_yet_valid')),
  proxy: await listen(proxy, fixed('proxy')),
};
const info = {
  ...ports,
  ca_pem: caPem,
  tenant_id: TENANT.id,
  tenant_domain: TENANT.domains[0],
  client_secret: SECRET,
  proxy_user: PROXY_USER,
  proxy_password: PROXY_PASSWORD,
  relay_user: RELAY_USER,
};
// "Server down, then up": stop listening and cut every open session; then
// listen again on the same port.
async function smtpDown() {
  await new Promise((resolve) => {
    exchange.server.close(() => resolve());
    for (const socket of sockets.values()) socket.destroy();
  });
}
async function smtpUp() {
  if (!exchange.server.listening) await listen(exchange.server, ports.smtp);
}

const tmp = path.join(stateDir, 'peers.json.tmp');
fs.writeFileSync(tmp, JSON.stringify(info, null, 2));
fs.renameSync(tmp, path.join(stateDir, 'peers.json'));
console.log(`peers ready: ${JSON.stringify(ports)}`);

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// With PEERS_EXIT_WITH_STDIN=1, exit when the parent closes our stdin, so a
// test process that dies without cleaning up leaves no peers behind.
if (process.env.PEERS_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
