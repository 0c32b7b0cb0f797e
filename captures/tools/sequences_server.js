// "Seq Shop" JSON API for sequences.pcap (Node stdlib only). See ../sequences.md.
//
//   node sequences_server.js PORT
//
// Routes (Host shop.seq.test):
//   POST /api/login             {"username","password"} -> an HS256 JWT (sub = the user id)
//   GET  /api/products?page=N   the catalogue, 4 per page, in a fixed "featured" order
//   GET  /api/products/{id}     one product
//   POST /api/cart/items        {"product_id","quantity"} -> 201, the cart summary
//   GET  /api/cart              the caller's cart
//   POST /api/checkout          {"payment_method",...} -> 201, an order from the cart. Flaw: with
//                               an empty cart it trusts the "items" of the request body, so a
//                               client can check out without the cart step.
//   GET  /api/orders/{id}       one of the caller's orders
//   GET  /api/users/{id}        a user's profile. Flaw (broken object-level authorization): any
//                               logged-in user gets ANY user's profile.
//   GET  /api/health            liveness, no credentials
// Everything but login and health needs `Authorization: Bearer <jwt>` (checked: HS256, the
// server's key, exp). All data comes from fixed tables and a seeded generator; order ids are
// handed out in sequence, so every body is the same from run to run (the JWT's iat/exp aside,
// whose length does not change).
'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const PORT = Number(process.argv[2] || 8089);
const HOST = '127.0.0.1';
const FX = JSON.parse(fs.readFileSync(path.join(__dirname, 'sequences_fixtures.json'), 'utf8'));
// The signing key (a test value: 32 random bytes, base64url). Strong, so that no weak-secret
// finding muddies this scenario.
const JWT_SECRET = '9KLvYyEqa_4fSkv7aOFmP8JU1pOvac2xHtn-8SK4BV0';
const TOKEN_LIFETIME = 3600;

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
const rand = mulberry32(20241128);
const pick = (arr) => arr[Math.floor(rand() * arr.length)];

const ADJ = ['Compact', 'Deluxe', 'Classic', 'Eco', 'Pro', 'Mini'];
const NOUN = ['kettle', 'trowel', 'puzzle', 'lamp', 'notebook', 'wrench', 'teapot', 'kite'];
const CATEGORIES = ['books', 'garden', 'kitchen', 'toys', 'tools'];
const products = new Map();
for (let id = 1; id <= 60; id++) {
  products.set(id, {
    id,
    name: `${pick(ADJ)} ${pick(NOUN)}`,
    category: pick(CATEGORIES),
    price: Math.round((3 + rand() * 90) * 100) / 100,
    in_stock: rand() < 0.85,
  });
}
// The "featured" order of the listing: a seeded shuffle, so a page holds non-adjacent ids.
const featured = [...products.keys()];
for (let i = featured.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [featured[i], featured[j]] = [featured[j], featured[i]];
}
const PER_PAGE = 4;

const FIRST = ['ada', 'alan', 'grace', 'edsger', 'barbara', 'donald', 'frances', 'john', 'radia', 'ken', 'margaret', 'dennis'];
const LAST = ['hopper', 'turing', 'johnson', 'liskov', 'knuth', 'allen', 'backus', 'perlman', 'thompson', 'hamilton'];
const CITIES = ['Springfield', 'Lyon', 'Leeds', 'Porto', 'Graz', 'Osaka'];
const profiles = new Map();
function addProfile(id, username) {
  const first = username ? username.split('.')[0] : pick(FIRST);
  const last = username ? username.split('.')[1] : pick(LAST);
  profiles.set(id, {
    id,
    username: username || `${first}.${last}${id}`,
    name: `${first[0].toUpperCase()}${first.slice(1)} ${last[0].toUpperCase()}${last.slice(1)}`,
    email: `${first}.${last}.${id}@example.com`,
    phone: `+1-202-555-${String(id % 10000).padStart(4, '0')}`,
    city: pick(CITIES),
  });
}
const accounts = new Map(Object.entries(FX.accounts).map(([id, a]) => [Number(id), a]));
for (const [id, a] of accounts) addProfile(id, a.username);
for (let id = FX.directory_ids[0]; id <= FX.directory_ids[1]; id++) addProfile(id, null);

const carts = new Map(); // user id -> [{product_id, quantity, unit_price}]
const orders = new Map(); // order id -> order
let nextOrderId = 50001;

// --- helpers ----------------------------------------------------------------------------------
class HttpError extends Error {
  constructor(status, code, headers = {}) {
    super(code);
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

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const sign = (data) => b64url(crypto.createHmac('sha256', JWT_SECRET).update(data).digest());

function makeJwt(sub) {
  const iat = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256' })); // no `typ` (optional): shorter requests
  const body = b64url(JSON.stringify({ sub: String(sub), iat, exp: iat + TOKEN_LIFETIME }));
  return `${head}.${body}.${sign(`${head}.${body}`)}`;
}

function requireUser(req) {
  const unauthorized = new HttpError(401, 'unauthorized', { 'WWW-Authenticate': 'Bearer realm="seq-shop"' });
  const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(req.headers.authorization || '');
  if (!m) throw unauthorized;
  let head, claims;
  try {
    head = JSON.parse(Buffer.from(m[1], 'base64url').toString());
    claims = JSON.parse(Buffer.from(m[2], 'base64url').toString());
  } catch {
    throw unauthorized;
  }
  const want = Buffer.from(sign(`${m[1]}.${m[2]}`));
  const got = Buffer.from(m[3]);
  if (head.alg !== 'HS256' || want.length !== got.length || !crypto.timingSafeEqual(want, got)) throw unauthorized;
  if (typeof claims.exp !== 'number' || claims.exp < Date.now() / 1000) throw unauthorized;
  const id = Number(claims.sub);
  if (!accounts.has(id)) throw unauthorized;
  return id;
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString() || 'null'));
      } catch {
        reject(new HttpError(400, 'invalid_json'));
      }
    });
    req.on('error', reject);
  });
}

function cartSummary(cart) {
  const total = Math.round(cart.reduce((s, i) => s + i.quantity * i.unit_price, 0) * 100) / 100;
  return { items: cart.reduce((s, i) => s + i.quantity, 0), total };
}

function productOr404(id) {
  const p = products.get(Number(id));
  if (!p) throw new HttpError(404, 'not_found');
  return p;
}

// --- routes -----------------------------------------------------------------------------------
const routes = [];
const route = (method, pattern, fn) => routes.push({ method, re: new RegExp(`^${pattern}$`), fn });

route('GET', '/api/health', async () => [200, { status: 'ok' }]);

route('POST', '/api/login', async (req) => {
  const b = await readJson(req);
  const id = b && [...accounts].find(([, a]) => a.username === b.username && a.password === b.password)?.[0];
  if (!id) throw new HttpError(401, 'invalid_credentials');
  return [200, { access_token: makeJwt(id), token_type: 'Bearer', expires_in: TOKEN_LIFETIME, user_id: id }];
});

route('GET', '/api/products', async (req, m, q) => {
  requireUser(req);
  const page = Math.max(1, Number(q.get('page') || 1));
  const ids = featured.slice((page - 1) * PER_PAGE, page * PER_PAGE);
  return [200, { page, total: products.size, items: ids.map((id) => ({ id, name: products.get(id).name, price: products.get(id).price })) }];
});

route('GET', '/api/products/(\\d+)', async (req, m) => {
  requireUser(req);
  return [200, productOr404(m[1])];
});

route('POST', '/api/cart/items', async (req) => {
  const uid = requireUser(req);
  const b = await readJson(req);
  const p = productOr404(b && b.product_id);
  const quantity = Number(b.quantity) || 1;
  if (!carts.has(uid)) carts.set(uid, []);
  const cart = carts.get(uid);
  const line = cart.find((i) => i.product_id === p.id);
  if (line) line.quantity += quantity;
  else cart.push({ product_id: p.id, quantity, unit_price: p.price });
  return [201, cartSummary(cart)];
});

route('GET', '/api/cart', async (req) => {
  const uid = requireUser(req);
  const cart = carts.get(uid) || [];
  return [200, { lines: cart, ...cartSummary(cart) }];
});

route('POST', '/api/checkout', async (req) => {
  const uid = requireUser(req);
  const b = (await readJson(req)) || {};
  let lines = carts.get(uid) || [];
  if (!lines.length && Array.isArray(b.items)) {
    // The flaw: no cart, so take the client's word for what is bought (and skip the cart's
    // stock and price checks).
    lines = b.items.map((i) => ({ product_id: productOr404(i.product_id).id, quantity: Number(i.quantity) || 1, unit_price: productOr404(i.product_id).price }));
  }
  if (!lines.length) throw new HttpError(409, 'cart_empty');
  const order = { id: nextOrderId++, user_id: uid, status: 'placed', lines, ...cartSummary(lines), payment_method: String(b.payment_method || 'card') };
  orders.set(order.id, order);
  carts.delete(uid);
  return [201, { order_id: order.id, status: order.status, total: order.total }];
});

route('GET', '/api/orders/(\\d+)', async (req, m) => {
  const uid = requireUser(req);
  const o = orders.get(Number(m[1]));
  if (!o || o.user_id !== uid) throw new HttpError(404, 'not_found');
  return [200, o];
});

route('GET', '/api/users/(\\d+)', async (req, m) => {
  requireUser(req); // ... and nothing else: any logged-in user reads any profile (BOLA)
  const p = profiles.get(Number(m[1]));
  if (!p) throw new HttpError(404, 'not_found');
  return [200, p];
});

// --- server -----------------------------------------------------------------------------------
// keepAliveTimeout 0: idle keep-alive connections stay open until the client closes them (and no
// Keep-Alive header is sent), so a persona's pause never makes the server hang up.
const server = http.createServer({ keepAliveTimeout: 0 }, async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    for (const r of routes) {
      const m = r.re.exec(url.pathname);
      if (!m) continue;
      if (r.method !== req.method) throw new HttpError(405, 'method_not_allowed');
      const [status, body, headers] = await r.fn(req, m, url.searchParams);
      send(res, status, body, headers);
      return;
    }
    throw new HttpError(404, 'not_found');
  } catch (e) {
    if (!(e instanceof HttpError)) {
      console.error(e);
      e = new HttpError(500, 'internal_error');
    }
    req.resume();
    send(res, e.status, { error: e.code }, e.headers);
  }
});
server.listen(PORT, HOST, () => console.error(`sequences_server listening on ${HOST}:${PORT}`));
