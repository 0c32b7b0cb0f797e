'use strict';

const express = require('express');
const { requireAuth, requireAdmin } = require('../middleware/auth');

const router = express.Router();

// Orders are generated from their id, so every id the clients ask for exists.
function orderFor(orderId, customerId) {
  const n = Number(orderId);
  return {
    id: n,
    customer_id: customerId,
    status: ['pending', 'paid', 'shipped', 'delivered'][n % 4],
    total_cents: 1000 + ((n * 7919) % 9000),
    currency: 'EUR',
  };
}

let nextOrderId = 50001;

router.get('/', requireAuth, (req, res) => {
  const orders = [40011, 40012, 40013].map((id) => orderFor(id, req.user.id));
  res.json({ orders, count: orders.length });
});

router.get('/:orderId', requireAuth, (req, res) => {
  if (!/^\d+$/.test(req.params.orderId)) {
    return res.status(400).json({ error: 'bad_request', message: 'orderId must be numeric' });
  }
  res.json(orderFor(req.params.orderId, req.user.id));
});

router.post('/', requireAuth, (req, res) => {
  const items = Array.isArray(req.body && req.body.items) ? req.body.items : [];
  if (items.length === 0) {
    return res.status(422).json({ error: 'invalid', message: 'an order needs at least one item' });
  }
  const order = orderFor(nextOrderId++, req.user.id);
  order.status = 'pending';
  order.items = items;
  res.status(201).location(`/api/orders/${order.id}`).json(order);
});

router.delete('/:orderId', requireAdmin, (req, res) => {
  res.status(204).end();
});

module.exports = router;
