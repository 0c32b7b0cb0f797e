'use strict';

const express = require('express');
const { TOKENS, requireAuth, requireAdmin } = require('../middleware/auth');

const router = express.Router();

// Test accounts: e-mail address -> [password, token].
const ACCOUNTS = {
  'alice@code.test': ['correct-horse-1', 'tok-alice-4f1c9e'],
  'bob@code.test': ['battery-staple-2', 'tok-bob-77a2d0'],
};

router.get('/me', requireAuth, (req, res) => {
  res.json(req.user);
});

router.post('/login', (req, res) => {
  const { email, password } = req.body || {};
  const account = ACCOUNTS[email];
  if (!account || account[0] !== password) {
    return res.status(401).json({ error: 'invalid_credentials' });
  }
  const token = account[1];
  res.json({ token, token_type: 'Bearer', user: TOKENS[token] });
});

router.post('/:userId/reset-password', requireAdmin, (req, res) => {
  res.status(202).json({ user_id: Number(req.params.userId), reset: 'sent' });
});

module.exports = router;
