'use strict';

// The Express half of the `code` capture (captures/code.md): orders, users and the catalog,
// behind nginx (captures/tools/code.nginx.conf.template), which forwards /api/ unchanged.

const express = require('express');

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(express.json());

const CATALOG = [
  { sku: 'SKU-10042', name: 'Espresso cup', price_cents: 850 },
  { sku: 'SKU-10057', name: 'Milk jug', price_cents: 1490 },
  { sku: 'SKU-20311', name: 'Grinder', price_cents: 8900 },
];

function listCatalog(req, res) {
  res.json({ items: CATALOG });
}

app.use('/api/orders', require('./routes/orders'));
app.use('/api/users', require('./routes/users'));
app.get('/api/catalog', listCatalog);

const port = Number(process.argv[2] || process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`code express listening on 127.0.0.1:${port}`);
});
