// "Posture Shop" JSON API for posture.pcap (Node stdlib only).
//
//   node posture_server.js PORT
//
// A small shop API on Host shop.posture.test whose Zero-Trust flaws are real: some routes check
// credentials properly, others forget to, accept unsigned or expired JWTs, leak personal data or
// stack traces, or send a CORS policy that lets any site read them with the user's credentials.
// ../posture.md lists every route, the flaw it has on purpose and the finding it must produce;
// ../posture.openapi.yaml is the published description (it leaves out two routes on purpose).
//
// All data comes from fixed fixtures (posture_fixtures.json) and a seeded generator, so every
// response body is the same from run to run (the Date header aside).
'use strict';

const http = require('http');
const crypto = require('crypto');
const path = require('path');
const fs = require('fs');

const PORT = Number(process.argv[2] || 8088);
const HOST = '127.0.0.1';
const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'posture_fixtures.json'), 'utf8'));

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
const rand = mulberry32(20240917);
const pick = (arr) => arr[Math.floor(rand() * arr.length)];

const CATEGORIES = ['books', 'garden', 'kitchen', 'toys'];
const products = new Map();
for (let id = 1; id <= 40; id++) {
  products.set(id, {
    id,
    name: `${pick(['Compact', 'Classic', 'Eco', 'Pro'])} ${pick(['kettle', 'trowel', 'puzzle', 'lamp', 'notebook'])}`,
    category: pick(CATEGORIES),
    price: Math.round((2 + rand() * 80) * 100) / 100,
  });
}
const stock = new Map([...products.keys()].map((id) => [id, Math.floor(rand() * 60)]));

const customers = new Map(FX.customers.map((c) => [c.id, c]));
const customersByEmail = new Map(FX.customers.map((c) => [c.email, c]));

const orders = new Map();
for (const o of FX.orders) {
  const items = [1, 2].map(() => ({ product_id: 1 + Math.floor(rand() * 40), quantity: 1 + Math.floor(rand() * 3) }));
  orders.set(o.id, {
    id: o.id,
    customer_id: o.customer_id,
    status: pick(['paid', 'shipped', 'delivered']),
    items,
    total: Math.round(items.reduce((s, i) => s + i.quantity * products.get(i.product_id).price, 0) * 100) / 100,
    currency: 'EUR',
    carrier: pick(['DHL', 'UPS']),
  });
}

const REVIEW_TEXT = ['Does what it says.', 'Sturdy, would buy again.', 'Smaller than expected.', 'Great value.'];

// --- helpers ----------------------------------------------------------------------------------
class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function send(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
  res.end(body);
}

const b64url = (buf) => Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const hs256 = (secret, input) => b64url(crypto.createHmac('sha256', secret).update(input).digest());

function decodeJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url').toString()),
      claims: JSON.parse(Buffer.from(parts[1], 'base64url').toString()),
      parts,
    };
  } catch {
    return null;
  }
}

const unauthorized = (code, message) =>
  new HttpError(401, code, message, { 'WWW-Authenticate': `Bearer realm="shop", error="${code}"` });

function bearerJwt(req) {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!m) throw unauthorized('invalid_request', 'a bearer token is required');
  const jwt = decodeJwt(m[1]);
  if (!jwt) throw unauthorized('invalid_token', 'malformed token');
  return jwt;
}

// The verifier every route should use: HS256 with the production key only, `exp` required and
// checked, `alg: none` refused.
function requireJwt(req) {
  const jwt = bearerJwt(req);
  if (jwt.header.alg !== 'HS256') throw unauthorized('invalid_token', 'unsupported algorithm');
  if (hs256(FX.jwt_secret, `${jwt.parts[0]}.${jwt.parts[1]}`) !== jwt.parts[2]) throw unauthorized('invalid_token', 'bad signature');
  if (typeof jwt.claims.exp !== 'number') throw unauthorized('invalid_token', 'exp is required');
  if (jwt.claims.exp < Date.now() / 1000) throw unauthorized('invalid_token', 'token expired');
  return jwt.claims;
}

// The loyalty service's own middleware (a flaw on purpose): it tries every key of its key ring,
// which still holds the development default, and never looks at `exp`.
function requireJwtLoyalty(req) {
  const jwt = bearerJwt(req);
  if (jwt.header.alg !== 'HS256') throw unauthorized('invalid_token', 'unsupported algorithm');
  const input = `${jwt.parts[0]}.${jwt.parts[1]}`;
  if (![FX.jwt_secret, FX.jwt_dev_secret].some((k) => hs256(k, input) === jwt.parts[2])) {
    throw unauthorized('invalid_token', 'bad signature');
  }
  return jwt.claims;
}

// The admin middleware (a flaw on purpose): an unsigned token (alg "none") skips the signature
// check, like the classic JWT library bug.
function requireJwtAdmin(req) {
  const jwt = bearerJwt(req);
  const alg = String(jwt.header.alg || '');
  if (alg.toLowerCase() !== 'none') return requireJwt(req);
  if (typeof jwt.claims.exp === 'number' && jwt.claims.exp < Date.now() / 1000) throw unauthorized('invalid_token', 'token expired');
  return jwt.claims;
}

function requireApiKey(req, q, { allowQuery = false, table = FX.api_keys } = {}) {
  let key = req.headers['x-api-key'];
  // The flaw of /api/v2/price-list: old POS terminals cannot set headers, so the key is also
  // taken from the query string.
  if (!key && allowQuery) key = q.get('api_key');
  if (!key) throw new HttpError(401, 'unauthorized', 'an API key is required');
  if (!table[key]) throw new HttpError(403, 'forbidden', 'API key not valid');
  return table[key];
}

function requireBasic(req) {
  const m = /^Basic (\S+)$/.exec(req.headers.authorization || '');
  const text = m ? Buffer.from(m[1], 'base64').toString() : '';
  const i = text.indexOf(':');
  if (i < 0 || FX.basic_users[text.slice(0, i)] !== text.slice(i + 1)) {
    throw new HttpError(401, 'unauthorized', 'valid credentials required', { 'WWW-Authenticate': 'Basic realm="shop-reports"' });
  }
  return text.slice(0, i);
}

function pageParams(q) {
  const page = Number(q.get('page') || 1);
  const limit = Number(q.get('limit') || 5);
  if (!Number.isInteger(page) || page < 1) throw new HttpError(400, 'validation_failed', 'page must be a positive integer');
  if (!Number.isInteger(limit) || limit < 1 || limit > 10) throw new HttpError(400, 'validation_failed', 'limit must be between 1 and 10');
  return { page, limit };
}

function productOr404(id) {
  const p = products.get(Number(id));
  if (!p) throw new HttpError(404, 'not_found', `product ${id} not found`);
  return p;
}

function normalizeCoupon(coupon) {
  // Crashes with a TypeError when a client sends a number: the bug behind the 500.
  return coupon.trim().toUpperCase();
}

function priceOrder(body) {
  if (!Array.isArray(body.items) || body.items.length === 0) throw new HttpError(400, 'validation_failed', 'items must be a non-empty array');
  for (const it of body.items) productOr404(it.product_id);
  const coupon = body.coupon === undefined ? null : normalizeCoupon(body.coupon);
  const total = body.items.reduce((s, it) => s + it.quantity * products.get(it.product_id).price, 0);
  return { coupon, total: Math.round(total * (coupon === 'WELCOME10' ? 0.9 : 1) * 100) / 100 };
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString() || 'null'));
      } catch {
        reject(new HttpError(400, 'invalid_json', 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

// --- routes -----------------------------------------------------------------------------------
// cors: 'public' (Access-Control-Allow-Origin: *, no credentials), 'credentialed' (only the
// allow-listed origin, with credentials), 'broken' (* together with credentials: the flaw).
const routes = [];
const route = (method, pattern, cors, fn) => routes.push({ method, re: new RegExp(`^${pattern}$`), cors, fn });
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

route('GET', '/api/health', 'public', async () => [200, { status: 'ok', service: 'shop', version: '3.4.0' }]);

route('GET', '/api/v2/products', 'public', async (_req, q) => {
  const { page, limit } = pageParams(q);
  const list = [...products.values()];
  return [200, { data: list.slice((page - 1) * limit, page * limit), page, limit, total: list.length, has_more: page * limit < list.length }];
});

route('GET', '/api/v2/products/(\\d+)', 'public', async (_req, _q, [id]) => [200, { data: productOr404(id) }]);

// Public reviews that embed the reviewer's contact details (a flaw on purpose).
route('GET', '/api/v2/products/(\\d+)/reviews', 'public', async (_req, _q, [id]) => {
  const p = productOr404(id);
  const reviews = FX.customers.slice(0, 2).map((c, i) => ({
    rating: 3 + ((p.id + i) % 3),
    text: REVIEW_TEXT[(p.id + i) % REVIEW_TEXT.length],
    reviewer: { name: c.name, email: c.email, phone: c.phone },
  }));
  return [200, { product_id: p.id, reviews }];
});

// Deprecated in the spec (superseded by GET /api/v2/products), still served.
route('GET', '/api/v2/search', 'public', async (_req, q) => {
  const term = String(q.get('q') || '').toLowerCase();
  const hits = [...products.values()].filter((p) => p.name.toLowerCase().includes(term)).slice(0, 5);
  return [200, { query: term, results: hits.map((p) => ({ id: p.id, name: p.name, price: p.price })) }, { Deprecation: 'true', Link: '</api/v2/products>; rel="successor-version"' }];
});

// The v1 catalogue: removed from the spec when v2 shipped, never switched off.
route('GET', '/api/v1/products', 'public', async (_req, q) => {
  const { page, limit } = pageParams(q);
  const list = [...products.values()].map((p) => ({ id: p.id, title: p.name, price_eur: p.price }));
  return [200, { products: list.slice((page - 1) * limit, page * limit), page }];
});

route('GET', '/api/v2/customers/lookup', 'credentialed', async (req, q) => {
  requireJwt(req);
  const c = customersByEmail.get(q.get('email') || '');
  if (!c) throw new HttpError(404, 'not_found', 'no customer with that email');
  return [200, { data: c }];
});

route('GET', '/api/v2/customers/(\\d+)', 'credentialed', async (req, _q, [id]) => {
  requireJwt(req);
  const c = customers.get(Number(id));
  if (!c) throw new HttpError(404, 'not_found', `customer ${id} not found`);
  return [200, { data: c }];
});

// The spec requires a bearer token; the handler forgot to check it (a flaw on purpose: the
// "track your order" links in e-mails call it without one).
route('GET', `/api/v2/orders/(${UUID})`, 'credentialed', async (_req, _q, [oid]) => {
  const o = orders.get(oid);
  if (!o) throw new HttpError(404, 'not_found', `order ${oid} not found`);
  return [200, { data: o }];
});

route('POST', '/api/v2/orders', 'credentialed', async (req) => {
  const claims = requireJwt(req);
  const body = await readJson(req);
  if (body === null || typeof body !== 'object') throw new HttpError(400, 'validation_failed', 'a JSON object is required');
  const { coupon, total } = priceOrder(body);
  const o = { id: FX.new_order_id, customer_id: Number(claims.sub), status: 'pending', items: body.items, total, currency: 'EUR', carrier: null, coupon };
  orders.set(o.id, o);
  return [201, { data: o }, { Location: `/api/v2/orders/${o.id}` }];
});

route('GET', '/api/v2/loyalty/balance', 'credentialed', async (req) => {
  const claims = requireJwtLoyalty(req);
  const id = Number(claims.sub);
  return [200, { customer_id: id, points: (id * 37) % 5000, tier: customers.has(id) ? customers.get(id).tier : 'basic' }];
});

route('GET', '/api/v2/admin/users', 'credentialed', async (req) => {
  const claims = requireJwtAdmin(req);
  if (claims.role !== 'admin') throw new HttpError(403, 'forbidden', 'admin role required');
  return [200, { data: FX.customers.map((c) => ({ id: c.id, email: c.email, tier: c.tier })) }];
});

// CORS: `*` together with credentials (a flaw on purpose, copied from a tutorial).
route('GET', '/api/v2/wishlist', 'broken', async (req) => {
  const claims = requireJwt(req);
  return [200, { customer_id: Number(claims.sub), product_ids: [3, 14, 27] }];
});

// No rate limiting at all (the flaw the scraper shows); properly authenticated otherwise.
route('GET', '/api/v2/stock/(\\d+)', 'credentialed', async (req, q, [id]) => {
  requireApiKey(req, q);
  const p = productOr404(id);
  return [200, { product_id: p.id, available: stock.get(p.id) }];
});

route('GET', '/api/v2/price-list', 'credentialed', async (req, q) => {
  requireApiKey(req, q, { allowQuery: true });
  const cat = q.get('category');
  const list = [...products.values()].filter((p) => !cat || p.category === cat).slice(0, 6);
  return [200, { currency: 'EUR', prices: list.map((p) => ({ id: p.id, price: p.price })) }];
});

route('GET', '/api/v2/reports/sales', 'credentialed', async (req, q) => {
  requireBasic(req);
  const month = q.get('month') || '';
  if (!/^\d{4}-\d{2}$/.test(month)) throw new HttpError(400, 'validation_failed', 'month must be YYYY-MM');
  const r = mulberry32(Number(month.replace('-', '')));
  return [200, { month, orders: 100 + Math.floor(r() * 900), revenue_eur: Math.round(r() * 5e6) / 100, refunds: Math.floor(r() * 20) }];
});

// Left out of the spec (a shadow route): the ops dashboard's metrics.
route('GET', '/api/internal/metrics', 'credentialed', async (req, q) => {
  requireApiKey(req, q, { table: FX.ops_api_keys });
  return [200, { uptime_s: 86400, requests_total: 1048576, errors_total: 211, heap_mb: 61.5, event_loop_lag_ms: 1.8 }];
});

// --- server -----------------------------------------------------------------------------------
function corsHeaders(req, mode) {
  if (mode === 'public') return { 'Access-Control-Allow-Origin': '*' };
  if (mode === 'broken') return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Credentials': 'true' };
  const origin = req.headers.origin;
  if (origin && FX.cors_allowed_origins.includes(origin)) {
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  }
  return {};
}

// What a stack trace looks like to the client: the real one, with the deployment path.
// (Frames inside Node itself are left out, so the body does not depend on the Node version.)
function publicStack(err) {
  return String(err.stack)
    .split('\n')
    .filter((line) => !/^\s+at .*node:internal/.test(line))
    .join('\n')
    .split(__dirname)
    .join('/srv/shop')
    .replace(/posture_server\.js/g, 'server.js');
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${FX.host}`);
  let found = null;
  let pathMatched = false;
  for (const r of routes) {
    const m = r.re.exec(url.pathname);
    if (!m) continue;
    pathMatched = true;
    if (r.method === req.method) {
      found = [r, m.slice(1)];
      break;
    }
  }
  if (!found) {
    if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${req.method} not allowed here`);
    throw new HttpError(404, 'not_found', `no route for ${url.pathname}`);
  }
  const [r, params] = found;
  res.corsHeaders = corsHeaders(req, r.cors);
  const [status, body, headers] = await r.fn(req, url.searchParams, params);
  send(res, status, body, { ...res.corsHeaders, ...(headers || {}) });
}

const server = http.createServer({ keepAliveTimeout: 120000 }, (req, res) => {
  handle(req, res).catch((err) => {
    req.resume();
    const cors = res.corsHeaders || {};
    if (err instanceof HttpError) {
      send(res, err.status, { error: err.code, message: err.message }, { ...cors, ...err.headers });
    } else {
      // The verbose error handler (a flaw on purpose): development mode left on in production.
      console.error(err);
      send(res, 500, { error: 'internal_error', message: err.message, stack: publicStack(err) }, cors);
    }
  });
});
server.listen(PORT, HOST, () => console.error(`posture_server listening on ${HOST}:${PORT}`));

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
