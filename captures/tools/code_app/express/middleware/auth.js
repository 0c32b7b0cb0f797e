'use strict';

// Bearer tokens of the test accounts. A real service would verify a signed token or look the
// token up in a session store; a fixed table keeps the capture deterministic.
const TOKENS = {
  'tok-alice-4f1c9e': { id: 1001, email: 'alice@code.test', role: 'customer' },
  'tok-bob-77a2d0': { id: 1002, email: 'bob@code.test', role: 'customer' },
  'tok-carol-0b93e5': { id: 1003, email: 'carol@code.test', role: 'admin' },
};

function bearer(req) {
  const header = req.get('authorization') || '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? TOKENS[match[1]] : undefined;
}

function requireAuth(req, res, next) {
  const user = bearer(req);
  if (!user) {
    return res.status(401).json({ error: 'unauthorized', message: 'a valid bearer token is required' });
  }
  req.user = user;
  next();
}

function requireAdmin(req, res, next) {
  const user = bearer(req);
  if (!user) {
    return res.status(401).json({ error: 'unauthorized', message: 'a valid bearer token is required' });
  }
  if (user.role !== 'admin') {
    return res.status(403).json({ error: 'forbidden', message: 'administrators only' });
  }
  req.user = user;
  next();
}

module.exports = { TOKENS, requireAuth, requireAdmin };
