// "Acme Shop" JSON REST API for rest_api.pcap (Node stdlib only).
//
//   node rest_api.js PORT
//
// All data comes from a seeded generator, so every response body is the same from run to run
// (the Date header aside). The routes, their auth and their data are described in
// ../rest_api.expected.md; ../rest_api.openapi.yaml documents most, not all, of them.
'use strict';

const http = require('http');
const zlib = require('zlib');
const crypto = require('crypto');

const PORT = Number(process.argv[2] || 8000);
const HOST = '127.0.0.1';

// --- credentials the API accepts (test values, not secrets) -----------------------------------
const JWT_SECRET = 'acme-captures-hs256-secret';
const LOGIN_EMAIL = 'ada.lovelace@example.com';
const LOGIN_PASSWORD = 'correct horse battery staple';
const BASIC_USERS = { partner: 'partner-s3cret', admin: 'admin-s3cret', analyst: 'analyst-s3cret' };
const OAUTH_CLIENTS = { 'ops-console': 'ops-console-client-secret' };
const API_KEYS = { ak_live_partner_7f3a9c2e51: 'partner' };
const QUERY_API_KEYS = { pk_geo_51b2e0d4a9: 'geo-partner' };
const INTERNAL_API_KEYS = { ik_internal_0c4f9b7e: 'ops' };
const FIXED_IAT = 1709251200; // 2024-03-01T00:00:00Z
const FAR_EXP = 4102444800; // 2100-01-01T00:00:00Z

// --- deterministic data -----------------------------------------------------------------------
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20240301);
const pick = (arr, r = rand) => arr[Math.floor(r() * arr.length)];
const int = (lo, hi, r = rand) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (n, r = rand) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
function uuid4(r = rand) {
  const h = hex(32, r).split('');
  h[12] = '4';
  h[16] = '89ab'[Math.floor(r() * 4)];
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
const iso = (secs) => new Date(secs * 1000).toISOString().replace('.000Z', 'Z');

const FIRST = ['grace', 'alan', 'katherine', 'edsger', 'barbara', 'donald', 'frances', 'john', 'radia', 'ken', 'margaret', 'dennis'];
const LAST = ['hopper', 'turing', 'johnson', 'dijkstra', 'liskov', 'knuth', 'allen', 'backus', 'perlman', 'thompson', 'hamilton', 'ritchie'];
const CITIES = [['Springfield', 'US'], ['Lyon', 'FR'], ['Leeds', 'GB'], ['Porto', 'PT'], ['Graz', 'AT'], ['Osaka', 'JP']];
const CATEGORIES = ['books', 'garden', 'kitchen', 'toys', 'tools'];
const ORDER_STATUS = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];

const users = new Map();
for (let id = 1001; id <= 1060; id++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  const [city, country] = pick(CITIES);
  users.set(id, {
    id,
    username: `${first}.${last}${id}`,
    email: `${first}.${last}.${id}@example.com`,
    display_name: `${first[0].toUpperCase()}${first.slice(1)} ${last[0].toUpperCase()}${last.slice(1)}`,
    middle_name: null,
    phone: `+1-202-555-${String(id % 10000).padStart(4, '0')}`,
    city,
    country,
    verified: rand() < 0.7,
    created_at: iso(1640995200 + int(0, 60_000_000)),
  });
}
Object.assign(users.get(1042), {
  username: 'ada.lovelace',
  email: LOGIN_EMAIL,
  display_name: 'Ada Lovelace',
  phone: '+1-202-555-0147',
  city: 'London',
  country: 'GB',
  verified: true,
});

const products = new Map();
for (let id = 1; id <= 240; id++) {
  products.set(id, {
    id,
    name: `${pick(['Compact', 'Deluxe', 'Classic', 'Eco', 'Pro'])} ${pick(['kettle', 'trowel', 'puzzle', 'lamp', 'notebook', 'wrench'])}`,
    category: pick(CATEGORIES),
    price: Math.round((2 + rand() * 120) * 100) / 100,
    in_stock: rand() < 0.8,
    rating: rand() < 0.2 ? null : Math.round((1 + rand() * 4) * 10) / 10,
    updated_at: iso(1704067200 + int(0, 6_000_000)),
  });
}

let ledgerSeq = 9007199254740993n; // beyond 2^53: an int64 that a double cannot hold
const orders = new Map();
const ordersByUser = new Map();
function makeOrder(userId, r = rand) {
  const items = Array.from({ length: int(1, 3, r) }, () => {
    const p = products.get(int(1, 240, r));
    return { product_id: p.id, quantity: int(1, 4, r), unit_price: p.price };
  });
  const [city, country] = pick(CITIES, r);
  const order = {
    id: uuid4(r),
    customer_id: userId,
    status: pick(ORDER_STATUS, r),
    items,
    total: Math.round(items.reduce((s, i) => s + i.quantity * i.unit_price, 0) * 100) / 100,
    currency: 'EUR',
    ledger_seq: ledgerSeq++,
    shipping: { city, country, express: r() < 0.3 },
    coupon: null,
    created_at: iso(1704067200 + int(0, 6_000_000, r)),
  };
  orders.set(order.id, order);
  if (!ordersByUser.has(userId)) ordersByUser.set(userId, []);
  ordersByUser.get(userId).push(order);
  return order;
}
for (const id of users.keys()) {
  const n = id === 1042 ? 6 : int(1, 3);
  for (let i = 0; i < n; i++) makeOrder(id);
}

const documents = new Map();
for (let i = 0; i < 30; i++) {
  const id = (0x65e1a2b3 + i * 7919).toString(16) + hex(16); // 24 hex digits, ObjectId-like
  documents.set(id, {
    id,
    title: `${pick(['Invoice', 'Contract', 'Receipt', 'Manual'])} ${1000 + i}`,
    owner_id: int(1001, 1060),
    size_bytes: int(2_000, 900_000),
    pages: int(1, 40),
    archived: rand() < 0.2,
    created_at: iso(1700000000 + i * 86400),
  });
}

const files = new Map();
for (let i = 0; i < 20; i++) {
  const sha = crypto.createHash('sha256').update(`acme-file-${i}`).digest('hex');
  files.set(sha, {
    sha256: sha,
    name: `${pick(['report', 'export', 'backup', 'photo'])}-${i}.${pick(['pdf', 'csv', 'tar.gz', 'jpg'])}`,
    size_bytes: int(1_000, 50_000_000),
    content_type: pick(['application/pdf', 'text/csv', 'application/gzip', 'image/jpeg']),
    uploaded_at: iso(1706745600 + i * 3600),
  });
}

// --- helpers ----------------------------------------------------------------------------------
class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function stringify(obj) {
  // JSON with BigInt values written as plain integers.
  return JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? `__int64__${v}` : v)).replace(
    /"__int64__(\d+)"/g,
    '$1',
  );
}

let requestCounter = 0;

function send(req, res, status, obj, headers = {}) {
  let body = Buffer.from(stringify(obj));
  const h = { 'Content-Type': 'application/json; charset=utf-8', ...headers };
  if (body.length >= 512 && /\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
    body = zlib.gzipSync(body, { level: 6 });
    h['Content-Encoding'] = 'gzip';
    h.Vary = 'Accept-Encoding';
  }
  h['Content-Length'] = body.length;
  res.writeHead(status, h);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

function makeJwt(claims) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = b64url(crypto.createHmac('sha256', JWT_SECRET).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    return { header, claims, parts };
  } catch {
    return null;
  }
}

// Bearer JWT. `allowNone` models a vulnerable route that skips signature checks for alg "none".
function requireJwt(req, { allowNone = false } = {}) {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!m) throw new HttpError(401, 'unauthorized', 'bearer token required', { 'WWW-Authenticate': 'Bearer realm="acme"' });
  const jwt = decodeJwt(m[1]);
  if (!jwt) throw new HttpError(401, 'invalid_token', 'malformed token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  const alg = String(jwt.header.alg || '');
  if (alg.toLowerCase() === 'none') {
    if (!allowNone) throw new HttpError(401, 'invalid_token', 'unsigned tokens are not accepted', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  } else {
    const want = b64url(crypto.createHmac('sha256', JWT_SECRET).update(`${jwt.parts[0]}.${jwt.parts[1]}`).digest());
    if (alg !== 'HS256' || want !== jwt.parts[2]) throw new HttpError(401, 'invalid_token', 'bad signature', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  if (typeof jwt.claims.exp === 'number' && jwt.claims.exp < Date.now() / 1000) {
    throw new HttpError(401, 'token_expired', 'the access token has expired', { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="expired"' });
  }
  return jwt.claims;
}

const opaqueTokens = new Map([['st_4f9d2c8e1b7a6f30d5e9c2b8a4f1e7d3c6b0a9f2', 'ops-console']]);
function requireOpaque(req) {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!m || !opaqueTokens.has(m[1])) throw new HttpError(401, 'unauthorized', 'valid access token required', { 'WWW-Authenticate': 'Bearer realm="acme-ops"' });
  return opaqueTokens.get(m[1]);
}

function basicCredentials(req) {
  const m = /^Basic (\S+)$/.exec(req.headers.authorization || '');
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString();
  const i = text.indexOf(':');
  return i < 0 ? null : [text.slice(0, i), text.slice(i + 1)];
}
function requireBasic(req, table = BASIC_USERS) {
  const c = basicCredentials(req);
  if (!c || table[c[0]] !== c[1]) throw new HttpError(401, 'unauthorized', 'valid credentials required', { 'WWW-Authenticate': 'Basic realm="acme"' });
  return c[0];
}

function requireApiKey(req, table = API_KEYS) {
  const key = req.headers['x-api-key'];
  if (!key) throw new HttpError(401, 'unauthorized', 'X-API-Key header required');
  if (!table[key]) throw new HttpError(403, 'forbidden', 'API key not valid for this resource');
  return table[key];
}

const sessions = new Map();
function requireSession(req) {
  const m = /(?:^|;\s*)acme_session=([0-9a-f]+)/.exec(req.headers.cookie || '');
  if (!m || !sessions.has(m[1])) throw new HttpError(401, 'unauthorized', 'session required');
  return sessions.get(m[1]);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      let buf = Buffer.concat(parts);
      if ((req.headers['content-encoding'] || '').toLowerCase() === 'gzip') buf = zlib.gunzipSync(buf);
      resolve(buf);
    });
    req.on('error', reject);
  });
}

async function jsonBody(req) {
  const buf = await readBody(req);
  if (!/^application\/json/.test(req.headers['content-type'] || '')) throw new HttpError(415, 'unsupported_media_type', 'JSON expected');
  try {
    return JSON.parse(buf.toString());
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON');
  }
}

function page(list, q, maxLimit = 10) {
  const p = Math.max(1, Number(q.get('page') || 1));
  const limit = Math.min(maxLimit, Math.max(1, Number(q.get('limit') || 5)));
  const items = list.slice((p - 1) * limit, p * limit);
  return { data: items, page: p, limit: Math.min(limit, maxLimit), total: list.length, has_more: p * limit < list.length };
}

const publicUser = (u) => ({ id: u.id, username: u.username, email: u.email, display_name: u.display_name, middle_name: u.middle_name, phone: u.phone, verified: u.verified, created_at: u.created_at });
const orderSummary = (o) => ({ id: o.id, status: o.status, total: o.total, currency: o.currency, created_at: o.created_at });

function userOr404(id) {
  const u = users.get(Number(id));
  if (!u) throw new HttpError(404, 'not_found', `user ${id} not found`);
  return u;
}
function orderOr404(id) {
  const o = orders.get(id);
  if (!o) throw new HttpError(404, 'not_found', `order ${id} not found`);
  return o;
}
function luhn(num) {
  let sum = 0;
  for (let i = 0; i < num.length; i++) {
    let d = Number(num[num.length - 1 - i]);
    if (i % 2) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return num.length >= 12 && sum % 10 === 0;
}
function ibanValid(iban) {
  const s = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(s)) return false;
  const r = (s.slice(4) + s.slice(0, 4)).replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let m = 0;
  for (const ch of r) m = (m * 10 + Number(ch)) % 97;
  return m === 1;
}

// --- routes -----------------------------------------------------------------------------------
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const routes = [];
const route = (method, pattern, fn) => routes.push({ method, re: new RegExp(`^${pattern}$`), fn });

route('GET', '/api/v1/health', async () => [200, { status: 'ok', version: '2.7.1', uptime_seconds: 86400, checks: { database: 'ok', cache: 'ok' } }]);

route('POST', '/api/v1/auth/login', async (req) => {
  const b = await jsonBody(req);
  if (typeof b.email !== 'string' || typeof b.password !== 'string') throw new HttpError(400, 'validation_failed', 'email and password are required');
  if (b.email !== LOGIN_EMAIL || b.password !== LOGIN_PASSWORD) throw new HttpError(401, 'invalid_credentials', 'email or password is wrong');
  const sid = crypto.createHash('sha256').update(`session:${b.email}`).digest('hex').slice(0, 32);
  sessions.set(sid, 1042);
  const token = makeJwt({ sub: '1042', name: 'Ada Lovelace', role: 'customer', amr: ['pwd'], iss: 'https://auth.acme.test', aud: 'acme-api', iat: FIXED_IAT, exp: FAR_EXP });
  return [200, { access_token: token, token_type: 'Bearer', expires_in: 3600, user: { id: 1042, email: LOGIN_EMAIL } }, { 'Set-Cookie': `acme_session=${sid}; Path=/; HttpOnly; SameSite=Lax` }];
});

route('POST', '/api/v1/auth/token', async (req) => {
  const client = requireBasic(req, OAUTH_CLIENTS);
  const form = new URLSearchParams((await readBody(req)).toString());
  if (form.get('grant_type') !== 'client_credentials') throw new HttpError(400, 'unsupported_grant_type', 'only client_credentials');
  const token = 'st_4f9d2c8e1b7a6f30d5e9c2b8a4f1e7d3c6b0a9f2';
  opaqueTokens.set(token, client);
  return [200, { access_token: token, token_type: 'Bearer', expires_in: 7200, scope: form.get('scope') || 'documents:read' }];
});

route('GET', '/api/v1/users/me', async (req) => {
  const claims = requireJwt(req);
  const u = userOr404(claims.sub);
  const profile = { ...publicUser(u), city: u.city, country: u.country, date_of_birth: null, ssn: null, marketing_opt_in: false };
  if (u.id === 1042) Object.assign(profile, { date_of_birth: '1985-12-10', ssn: '123-45-6789' });
  return [200, profile];
});

route('GET', '/api/v1/users/search', async (req, q) => {
  requireJwt(req);
  const term = (q.get('q') || '').toLowerCase();
  if (!term) throw new HttpError(400, 'validation_failed', 'q is required');
  const hits = [...users.values()].filter((u) => u.username.includes(term)).map((u) => ({ id: u.id, username: u.username, email: u.email }));
  const limit = Math.min(5, Number(q.get('limit') || 5));
  return [200, { query: term, count: hits.length, results: hits.slice(0, limit) }];
});

route('GET', '/api/v1/users/(\\d+)', async (req, _q, [id]) => {
  requireJwt(req);
  const u = userOr404(id);
  return [200, publicUser(u), { Deprecation: 'true', Sunset: 'Tue, 31 Dec 2024 23:59:59 GMT', Link: `</api/v2/users/${u.id}>; rel="successor-version"` }];
});

route('GET', '/api/v2/users/(\\d+)', async (req, _q, [id]) => {
  requireJwt(req);
  const u = userOr404(id);
  return [200, { data: { ...publicUser(u), address: { city: u.city, country: u.country } }, meta: { api_version: 2 } }];
});

route('PATCH', '/api/v2/users/(\\d+)', async (req, _q, [id]) => {
  const claims = requireJwt(req);
  const u = userOr404(id);
  if (String(u.id) !== String(claims.sub)) throw new HttpError(403, 'forbidden', 'you can only change your own profile');
  const b = await jsonBody(req);
  const allowed = ['display_name', 'phone', 'middle_name'];
  const bad = Object.keys(b).filter((k) => !allowed.includes(k));
  if (bad.length) throw new HttpError(400, 'validation_failed', `unknown fields: ${bad.join(', ')}`);
  Object.assign(u, b);
  return [200, { data: publicUser(u), meta: { api_version: 2, updated_fields: Object.keys(b) } }];
});

route('PUT', '/api/v1/users/(\\d+)/bank-account', async (req, _q, [id]) => {
  const claims = requireJwt(req);
  const u = userOr404(id);
  if (String(u.id) !== String(claims.sub)) throw new HttpError(403, 'forbidden', 'not your account');
  const b = await jsonBody(req);
  if (!ibanValid(String(b.iban || ''))) throw new HttpError(400, 'validation_failed', 'iban is not valid');
  const iban = b.iban.replace(/\s+/g, '');
  return [200, { user_id: u.id, account_holder: b.account_holder, iban_masked: `${iban.slice(0, 4)}${'*'.repeat(iban.length - 8)}${iban.slice(-4)}`, bic: b.bic || null, verified: false, updated_at: '2024-03-01T12:00:00Z' }];
});

route('GET', '/api/v1/users/(\\d+)/orders', async (req, q, [id]) => {
  const claims = requireJwt(req);
  const u = userOr404(id);
  if (String(u.id) !== String(claims.sub)) throw new HttpError(403, 'forbidden', 'not your orders');
  let list = ordersByUser.get(u.id) || [];
  if (q.get('status')) list = list.filter((o) => o.status === q.get('status'));
  return [200, page(list.map(orderSummary), q)];
});

route('GET', `/api/v1/users/(\\d+)/orders/(${UUID})`, async (req, _q, [id, oid]) => {
  const claims = requireJwt(req);
  const u = userOr404(id);
  if (String(u.id) !== String(claims.sub)) throw new HttpError(403, 'forbidden', 'not your order');
  const o = orderOr404(oid);
  if (o.customer_id !== u.id) throw new HttpError(404, 'not_found', `order ${oid} not found for user ${id}`);
  return [200, o];
});

route('GET', `/api/v1/orders/(${UUID})`, async (req, _q, [oid]) => {
  requireJwt(req);
  const o = orderOr404(oid);
  return [200, o, { Deprecation: 'true', Link: `</api/v2/orders/${o.id}>; rel="successor-version"` }];
});

route('GET', `/api/v2/orders/(${UUID})`, async (req, _q, [oid]) => {
  requireJwt(req);
  const o = orderOr404(oid);
  return [200, { data: o, links: { self: `/api/v2/orders/${o.id}`, customer: `/api/v2/users/${o.customer_id}` } }];
});

const orderRand = mulberry32(777);
route('POST', '/api/v1/orders', async (req) => {
  const claims = requireJwt(req);
  const b = await jsonBody(req);
  const errors = [];
  if (!Array.isArray(b.items) || b.items.length === 0) errors.push({ field: 'items', problem: 'must be a non-empty array' });
  for (const [i, it] of (Array.isArray(b.items) ? b.items : []).entries()) {
    if (!products.has(it.product_id)) errors.push({ field: `items[${i}].product_id`, problem: 'unknown product' });
    if (!Number.isInteger(it.quantity) || it.quantity < 1) errors.push({ field: `items[${i}].quantity`, problem: 'must be a positive integer' });
  }
  if (errors.length) throw Object.assign(new HttpError(400, 'validation_failed', 'the order is not valid'), { details: errors });
  const o = makeOrder(Number(claims.sub), orderRand);
  o.items = b.items.map((it) => ({ ...it, unit_price: products.get(it.product_id).price }));
  o.total = Math.round(o.items.reduce((s, i) => s + i.quantity * i.unit_price, 0) * 100) / 100;
  o.status = 'pending';
  o.coupon = b.coupon || null;
  return [201, o, { Location: `/api/v2/orders/${o.id}` }];
});

const paymentRand = mulberry32(4111);
route('POST', '/api/v1/payments', async (req) => {
  requireJwt(req);
  const b = await jsonBody(req);
  const card = String((b.card && b.card.number) || '').replace(/\D/g, '');
  if (!luhn(card)) throw new HttpError(400, 'validation_failed', 'card number is not valid');
  const masked = `${card.slice(0, 6)}${'*'.repeat(card.length - 10)}${card.slice(-4)}`;
  if (card === '4000000000000002') {
    return [402, { error: 'card_declined', message: 'the card was declined', card: { brand: 'visa', last4: card.slice(-4) }, request_id: `req_${++requestCounter}` }];
  }
  return [201, { id: uuid4(paymentRand), order_id: b.order_id, status: 'authorized', amount: b.amount, currency: b.currency, card: { brand: 'visa', masked_number: masked, last4: card.slice(-4), exp_month: b.card.exp_month, exp_year: b.card.exp_year }, three_d_secure: false, captured: false, created_at: '2024-03-01T12:00:00Z' }];
});

route('GET', '/api/v1/products', async (_req, q) => {
  let list = [...products.values()];
  if (q.get('category')) list = list.filter((p) => p.category === q.get('category'));
  if (q.get('in_stock') === 'true') list = list.filter((p) => p.in_stock);
  const pg = page(list.map((p) => ({ id: p.id, name: p.name, price: p.price })), q);
  return [200, { products: pg.data, page: pg.page, total: pg.total }, { Deprecation: 'true', Link: '</api/v2/products>; rel="successor-version"' }];
});

route('GET', '/api/v2/products', async (_req, q) => {
  let list = [...products.values()];
  if (q.get('category')) list = list.filter((p) => p.category === q.get('category'));
  if (q.get('active') === 'true') list = list.filter((p) => p.in_stock);
  if (q.get('since')) {
    const since = Date.parse(q.get('since'));
    if (Number.isNaN(since)) throw new HttpError(400, 'validation_failed', 'since must be an RFC 3339 date-time');
    list = list.filter((p) => Date.parse(p.updated_at) >= since);
  }
  if (q.get('sort') === 'price') list = [...list].sort((a, b) => a.price - b.price || a.id - b.id);
  return [200, page(list, q)];
});

route('GET', '/api/v2/products/(\\d+)', async (_req, _q, [id]) => {
  const p = products.get(Number(id));
  if (!p) throw new HttpError(404, 'not_found', `product ${id} not found`);
  return [200, { data: { ...p, dimensions_cm: [10.5, 20, 3.25], tags: [p.category, p.in_stock ? 'available' : 'backorder'] } }];
});

const carts = new Map();
const cartOf = (uid) => {
  if (!carts.has(uid)) carts.set(uid, { items: [], nextId: 1 });
  return carts.get(uid);
};
const cartView = (uid) => {
  const c = cartOf(uid);
  const subtotal = Math.round(c.items.reduce((s, i) => s + i.quantity * i.unit_price, 0) * 100) / 100;
  return { user_id: uid, items: c.items, item_count: c.items.length, subtotal, currency: 'EUR' };
};
route('GET', '/api/v1/cart', async (req) => [200, cartView(requireSession(req))]);
route('POST', '/api/v1/cart/items', async (req) => {
  const uid = requireSession(req);
  const b = await jsonBody(req);
  const p = products.get(b.product_id);
  if (!p) throw new HttpError(404, 'not_found', `product ${b.product_id} not found`);
  const c = cartOf(uid);
  const item = { id: c.nextId++, product_id: p.id, quantity: b.quantity || 1, unit_price: p.price, gift: Boolean(b.gift) };
  c.items.push(item);
  return [201, item, { Location: `/api/v1/cart/items/${item.id}` }];
});
route('DELETE', '/api/v1/cart/items/(\\d+)', async (req, _q, [id]) => {
  const c = cartOf(requireSession(req));
  const i = c.items.findIndex((it) => it.id === Number(id));
  if (i < 0) throw new HttpError(404, 'not_found', `cart item ${id} not found`);
  c.items.splice(i, 1);
  return [204, null];
});

route('GET', '/api/v1/documents', async (req, q) => {
  requireOpaque(req);
  return [200, page([...documents.values()].map((d) => ({ id: d.id, title: d.title })), q)];
});
route('GET', '/api/v1/documents/([0-9a-f]{24})', async (req, _q, [id]) => {
  requireOpaque(req);
  const d = documents.get(id);
  if (!d) throw new HttpError(404, 'not_found', `document ${id} not found`);
  return [200, d];
});
route('DELETE', '/api/v1/documents/([0-9a-f]{24})', async (req, _q, [id]) => {
  requireOpaque(req);
  if (!documents.delete(id)) throw new HttpError(404, 'not_found', `document ${id} not found`);
  return [204, null];
});

route('GET', '/api/v1/files', async (req, q) => {
  requireOpaque(req);
  return [200, page([...files.values()].map((f) => ({ sha256: f.sha256, name: f.name })), q)];
});
route('GET', '/api/v1/files/([0-9a-f]{64})', async (req, _q, [sha]) => {
  requireOpaque(req);
  const f = files.get(sha);
  if (!f) throw new HttpError(404, 'not_found', 'no file with that hash');
  return [200, { ...f, download_url: `/api/v1/files/${sha}/content`, virus_scan: { clean: true, scanned_at: f.uploaded_at } }];
});

route('GET', '/api/v1/reports/(\\d{4}-\\d{2}-\\d{2})', async (req, _q, [day]) => {
  requireBasic(req);
  const t = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== day) {
    // A bug on purpose: an impossible calendar date crashes the handler.
    throw new Error(`RangeError: invalid date ${day}`);
  }
  const r = mulberry32(t / 1000);
  return [200, { date: day, orders: int(40, 400, r), revenue: Math.round(r() * 5e6) / 100, refunds: int(0, 12, r), conversion_rate: Math.round(r() * 1e4) / 1e4, top_category: pick(CATEGORIES, r), generated_at: `${day}T23:59:59Z`, final: true }];
});

route('GET', '/api/v2/metrics', async (req, q) => {
  requireApiKey(req);
  const from = Date.parse(q.get('from') || '');
  const to = Date.parse(q.get('to') || '');
  if (Number.isNaN(from) || Number.isNaN(to) || to <= from) throw new HttpError(400, 'validation_failed', 'from and to must be RFC 3339 date-times, from < to');
  const step = { minute: 60e3, hour: 3600e3, day: 86400e3 }[q.get('granularity') || 'hour'];
  if (!step) throw new HttpError(400, 'validation_failed', 'granularity must be minute, hour or day');
  const r = mulberry32(from / 1000);
  const points = [];
  for (let t = from; t < to && points.length < 12; t += step) {
    const p = { ts: new Date(t).toISOString().replace('.000Z', 'Z'), requests: int(100, 5000, r), errors: int(0, 40, r), latency_ms_p50: Math.round(r() * 5000) / 100 };
    if (q.get('include_p99') === 'true') p.latency_ms_p99 = Math.round(r() * 50000) / 100;
    points.push(p);
  }
  return [200, { granularity: q.get('granularity') || 'hour', points }];
});

route('POST', '/api/v2/events', async (req) => {
  requireApiKey(req);
  const b = await jsonBody(req);
  if (!Array.isArray(b.events)) throw new HttpError(400, 'validation_failed', 'events must be an array');
  return [202, { accepted: b.events.length, rejected: 0, batch_id: b.batch_id }];
});

route('GET', '/api/v1/geo/lookup', async (_req, q) => {
  const key = q.get('api_key');
  if (!key) throw new HttpError(401, 'unauthorized', 'api_key query parameter required');
  if (!QUERY_API_KEYS[key]) throw new HttpError(403, 'forbidden', 'api_key not valid');
  const ip = q.get('ip') || '';
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new HttpError(400, 'validation_failed', 'ip must be an IPv4 address');
  const r = mulberry32(ip.split('.').reduce((a, b) => a * 256 + Number(b), 0));
  const [city, country] = pick(CITIES, r);
  return [200, { ip, city, country, latitude: Math.round((r() * 180 - 90) * 1e4) / 1e4, longitude: Math.round((r() * 360 - 180) * 1e4) / 1e4, asn: int(1000, 65000, r), is_proxy: false }];
});

// Documented in the OpenAPI document but never called by the clients (dormant).
route('POST', '/api/v1/auth/refresh', async (req) => {
  const b = await jsonBody(req);
  if (typeof b.refresh_token !== 'string') throw new HttpError(400, 'validation_failed', 'refresh_token is required');
  throw new HttpError(401, 'invalid_grant', 'refresh token not recognised');
});
route('DELETE', '/api/v2/users/(\\d+)', async (req, _q, [id]) => {
  const claims = requireJwt(req);
  if (String(id) !== String(claims.sub)) throw new HttpError(403, 'forbidden', 'you can only delete your own account');
  users.delete(Number(id));
  return [204, null];
});
route('GET', '/api/v2/orders', async (req, q) => {
  const claims = requireJwt(req);
  return [200, page((ordersByUser.get(Number(claims.sub)) || []).map(orderSummary), q)];
});
route('GET', '/api/v2/products/(\\d+)/reviews', async (_req, q, [id]) => {
  if (!products.has(Number(id))) throw new HttpError(404, 'not_found', `product ${id} not found`);
  return [200, page([], q)];
});

// --- routes left out of the OpenAPI document (shadow endpoints) -------------------------------
route('GET', '/api/v1/internal/debug', async () => [200, { service: 'acme-api', build: 'a1b2c3d', node: process.version.replace(/\.\d+\.\d+$/, '.x'), pid: 4242, heap_used_mb: 48.5, feature_flags: { new_checkout: true, legacy_v1: true }, recent_errors: [] }]);

route('GET', '/api/v1/internal/config', async (req) => {
  requireApiKey(req, INTERNAL_API_KEYS);
  return [200, { environment: 'staging', database: { host: 'db.internal.acme.test', port: 5432, pool_size: 20 }, storage: { provider: 'aws-s3', bucket: 'acme-staging-uploads', region: 'eu-west-1', aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }, cache_ttl_seconds: 300 }];
});

route('GET', '/api/v1/admin/export', async (req, q) => {
  const who = requireBasic(req);
  if (who !== 'admin') throw new HttpError(403, 'forbidden', 'admin role required');
  const limit = Math.min(25, Number(q.get('limit') || 25));
  return [200, { format: q.get('format') || 'json', exported_at: '2024-03-01T12:00:00Z', users: [...users.values()].slice(0, limit).map((u) => ({ id: u.id, email: u.email, phone: u.phone, city: u.city, verified: u.verified })) }];
});

route('POST', '/api/v1/admin/users/(\\d+)/impersonate', async (req, _q, [id]) => {
  const claims = requireJwt(req, { allowNone: true });
  if (claims.role !== 'admin') throw new HttpError(403, 'forbidden', 'admin role required');
  const u = userOr404(id);
  return [200, { impersonating: u.id, email: u.email, session_token: crypto.createHash('sha256').update(`imp:${u.id}`).digest('hex').slice(0, 40), expires_in: 900 }];
});

// --- server -----------------------------------------------------------------------------------
async function handle(req, res) {
  const url = new URL(req.url, 'http://api.acme.test');
  let pathMatched = false;
  for (const r of routes) {
    const m = r.re.exec(url.pathname);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== req.method) continue;
    const [status, body, headers] = await r.fn(req, url.searchParams, m.slice(1));
    if (body === null) {
      res.writeHead(status, headers || {});
      res.end();
    } else {
      send(req, res, status, body, headers || {});
    }
    return;
  }
  if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${req.method} not allowed here`);
  throw new HttpError(404, 'not_found', `no route for ${url.pathname}`);
}

const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  handle(req, res).catch((err) => {
    req.resume();
    const id = `req_${String(++requestCounter).padStart(6, '0')}`;
    if (err instanceof HttpError) {
      const body = { error: err.code, message: err.message, request_id: id };
      if (err.details) body.details = err.details;
      send(req, res, err.status, body, err.headers);
    } else {
      send(req, res, 500, { error: 'internal_error', message: 'an unexpected error occurred', request_id: id, trace: String(err.message) });
    }
  });
});
server.listen(PORT, HOST, () => console.error(`rest_api listening on ${HOST}:${PORT}`));

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
