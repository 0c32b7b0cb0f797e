// Node stdlib HTTP server for the engine edge-case captures (chunked, continue, upgrade).
//
//   node edge_server.js PORT [PLAIN_PORT]
//
// PORT serves every route below and handles WebSocket upgrades on /ws (a hand-written 101 and a
// minimal RFC 6455 echo loop). PLAIN_PORT, when given, serves the same routes from a second
// server with no 'upgrade' listener, so a request offering `Upgrade: h2c` is answered as plain
// HTTP/1.1 and the connection stays HTTP (an upgrade offered but declined).
//
// Everything is deterministic apart from the Date header.
'use strict';

const http = require('http');
const zlib = require('zlib');
const crypto = require('crypto');

const port = Number(process.argv[2] || 8081);
const plainPort = process.argv[3] ? Number(process.argv[3]) : null;
const HOST = '127.0.0.1';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Fixed JSON document for the gzip route (about 4 KB before compression).
const catalog = {
  generated: '2024-03-01T12:00:00Z',
  items: Array.from({ length: 40 }, (_, i) => ({
    id: 1000 + i,
    sku: `SKU-${String(i * 37).padStart(5, '0')}`,
    title: `Fixture item number ${i}`,
    price: Math.round((i * 3.7 + 1.99) * 100) / 100,
    in_stock: i % 3 !== 0,
  })),
};

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function sendJson(res, status, obj, extra = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    ...extra,
  });
  res.end(body);
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${HOST}`);
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /hello': {
      const body = 'hello from the edge-case server\n';
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    case 'GET /chunked/stream': {
      // No Content-Length: Node uses chunked transfer coding; one chunk per write, spaced out so
      // they tend to travel in separate segments.
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      for (let i = 1; i <= 5; i++) {
        res.write(`chunk ${i} of 5: ${'abcdefghij'.repeat(i * 3)}\n`);
        await pause(5);
      }
      res.end();
      return;
    }
    case 'GET /chunked/trailers': {
      // Trailers (the request says `TE: trailers`): a checksum computed while streaming.
      const pieces = ['first piece of a body with a trailer\n', 'second piece\n', 'third and last piece\n'];
      const hash = crypto.createHash('sha256');
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Content-SHA256' });
      for (const p of pieces) {
        hash.update(p);
        res.write(p);
        await pause(5);
      }
      res.addTrailers({ 'X-Content-SHA256': hash.digest('hex') });
      res.end();
      return;
    }
    case 'GET /chunked/gzip': {
      // gzip via zlib, streamed: Content-Encoding gzip over chunked transfer coding.
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
      const gz = zlib.createGzip({ level: 6 });
      gz.pipe(res);
      const text = JSON.stringify(catalog, null, 1);
      const half = Math.floor(text.length / 2);
      gz.write(text.slice(0, half));
      gz.flush(); // a first chunk before the rest
      await pause(5);
      gz.end(text.slice(half));
      return;
    }
    case 'GET /chunked/empty': {
      // Headers sent before the end: chunked framing with an empty body ("0\r\n\r\n" only).
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.flushHeaders();
      await pause(5);
      res.end();
      return;
    }
    case 'GET /nocontent':
    case 'DELETE /nocontent': {
      res.writeHead(204);
      res.end();
      return;
    }
    case 'POST /chunked/upload':
    case 'POST /upload/small':
    case 'PUT /upload/large':
    case 'POST /upload/forbidden': {
      const body = await readBody(req);
      const status = url.pathname === '/chunked/upload' ? 200 : 201;
      sendJson(res, status, {
        received: body.length,
        sha256: crypto.createHash('sha256').update(body).digest('hex'),
        chunked: req.headers['transfer-encoding'] === 'chunked',
      });
      return;
    }
    default:
      sendJson(res, 404, { error: 'not_found', path: url.pathname });
  }
}

function onRequest(req, res) {
  handle(req, res).catch((err) => {
    console.error(err);
    res.destroy();
  });
}

// --- WebSocket (RFC 6455), just enough for an echo loop -------------------------------------

function wsFrame(opcode, payload) {
  const len = payload.length;
  let head;
  if (len < 126) {
    head = Buffer.from([0x80 | opcode, len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

function onUpgrade(req, socket, head) {
  const key = req.headers['sec-websocket-key'];
  const isWs = (req.headers.upgrade || '').toLowerCase() === 'websocket';
  if (req.url !== '/ws' || !isWs || !key) {
    const body = 'upgrade not supported here\n';
    socket.end(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n' +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    return;
  }
  const accept = crypto
    .createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      '\r\n',
  );
  // A greeting, then a text frame whose payload looks like an HTTP response: inside a tunnel it
  // must not be parsed as one.
  socket.write(wsFrame(0x1, Buffer.from('welcome to the echo service')));
  socket.write(wsFrame(0x1, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')));

  let buf = head && head.length ? Buffer.from(head) : Buffer.alloc(0);
  const pump = () => {
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 0x0f;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskLen = masked ? 4 : 0;
      if (buf.length < off + maskLen + len) return;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      const payload = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + maskLen + len);
      if (opcode === 0x8) {
        socket.end(wsFrame(0x8, payload.subarray(0, 2)));
        return;
      } else if (opcode === 0x9) {
        socket.write(wsFrame(0xa, payload));
      } else if (opcode === 0x1 || opcode === 0x2) {
        socket.write(wsFrame(opcode, payload)); // echo
      }
    }
  };
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    pump();
  });
  socket.on('error', () => socket.destroy());
  pump();
}

// --- servers ----------------------------------------------------------------------------------

const server = http.createServer({ keepAliveTimeout: 30000 }, onRequest);
// Expect: 100-continue: answer 100 (and read the body) except on /upload/forbidden, which gets a
// final 403 at once, so the client never sends its body.
server.on('checkContinue', (req, res) => {
  if (req.url.startsWith('/upload/forbidden')) {
    sendJson(res, 403, { error: 'forbidden', message: 'uploads to this path are not allowed' }, { Connection: 'close' });
    return;
  }
  res.writeContinue();
  onRequest(req, res);
});
server.on('upgrade', onUpgrade);
server.listen(port, HOST, () => console.error(`edge_server listening on ${HOST}:${port}`));

if (plainPort) {
  const plain = http.createServer({ keepAliveTimeout: 30000 }, onRequest);
  plain.listen(plainPort, HOST, () => console.error(`edge_server (no upgrade) listening on ${HOST}:${plainPort}`));
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
