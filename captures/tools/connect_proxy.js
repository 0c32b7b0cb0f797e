// A tiny HTTP proxy (Node stdlib) for connect.pcap, plus the origin server behind it.
//
//   node connect_proxy.js PROXY_PORT ORIGIN_PORT USER PASSWORD
//
// Proxy (127.0.0.1:PROXY_PORT), which needs `Proxy-Authorization: Basic` for everything:
//   - CONNECT host:port without credentials -> 407 with `Proxy-Authenticate: Basic` and a small
//     body, and the connection stays HTTP, so the client can retry on it (curl --proxy-anyauth).
//   - CONNECT to any port but ORIGIN_PORT -> 403 with a small body; the connection stays HTTP.
//   - CONNECT 127.0.0.1:ORIGIN_PORT with credentials -> 200, then bytes relayed both ways.
//   - GET http://127.0.0.1:ORIGIN_PORT/... (absolute form) with credentials -> forwarded.
// Origin (127.0.0.1:ORIGIN_PORT): answers every request with a small JSON document.
//
// Node hands a CONNECT request's socket over to the 'connect' listener and stops parsing it; to
// keep the connection as HTTP after a refusal, the listener gives the socket back to the server
// (`server.emit('connection', socket)`) after putting unread bytes back.
'use strict';

const http = require('http');
const net = require('net');

const proxyPort = Number(process.argv[2] || 3128);
const originPort = Number(process.argv[3] || 8082);
const user = process.argv[4] || 'user';
const password = process.argv[5] || 'pass';
const HOST = '127.0.0.1';
const expectedAuth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

// --- origin -----------------------------------------------------------------------------------
const origin = http.createServer((req, res) => {
  const body = JSON.stringify({ origin: true, method: req.method, path: req.url, note: 'served by the origin' }) + '\n';
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});

// --- proxy ------------------------------------------------------------------------------------
function refusal(status, reason, extraHeaders, message) {
  const body = JSON.stringify({ error: reason.toLowerCase().replace(/ /g, '_'), message }) + '\n';
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    extraHeaders.map((h) => `${h}\r\n`).join('') +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    '\r\n' +
    body
  );
}

const proxy = http.createServer((req, res) => {
  // Forward-proxy requests (absolute-form target).
  if (req.headers['proxy-authorization'] !== expectedAuth) {
    const body = JSON.stringify({ error: 'proxy_authentication_required' }) + '\n';
    res.writeHead(407, {
      'Proxy-Authenticate': 'Basic realm="shadowtap-captures"',
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  let target;
  try {
    target = new URL(req.url);
  } catch {
    res.writeHead(400, { 'Content-Length': 0 });
    res.end();
    return;
  }
  const headers = { ...req.headers };
  delete headers['proxy-authorization'];
  const up = http.request(
    { host: target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers },
    (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on('error', () => {
    res.writeHead(502, { 'Content-Length': 0 });
    res.end();
  });
  req.pipe(up);
});

proxy.on('connect', (req, socket, head) => {
  const giveBack = (response) => {
    socket.write(response);
    if (head && head.length) socket.unshift(head);
    proxy.emit('connection', socket); // keep parsing this connection as HTTP
  };
  if (req.headers['proxy-authorization'] !== expectedAuth) {
    giveBack(refusal(407, 'Proxy Authentication Required', ['Proxy-Authenticate: Basic realm="shadowtap-captures"'], 'credentials needed'));
    return;
  }
  const [host, portText] = req.url.split(':');
  const port = Number(portText);
  if (host !== HOST || port !== originPort) {
    giveBack(refusal(403, 'Forbidden', [], `tunnels to ${req.url} are not allowed`));
    return;
  }
  const up = net.connect(port, host, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head && head.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  up.on('error', () => socket.destroy());
  socket.on('error', () => up.destroy());
});

origin.listen(originPort, HOST, () => console.error(`origin listening on ${HOST}:${originPort}`));
proxy.listen(proxyPort, HOST, () => console.error(`proxy listening on ${HOST}:${proxyPort}`));

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
