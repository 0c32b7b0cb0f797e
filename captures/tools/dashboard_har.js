// Records captures/dashboard.har: headless Chromium (playwright-core) browsing shadowtap's own
// dashboard, its HAR saved by the browser (recordHar, bodies embedded). tests/sources.rs ingests it
// with `--source har` and finds the dashboard's own routes.
//
//   node captures/tools/dashboard_har.js http://127.0.0.1:8097 captures/dashboard.har
//
// Needs a dashboard serving an inventory (`shadowtap serve --db ... --listen 127.0.0.1:8097`),
// chromium at /usr/bin/chromium (or CHROMIUM) and playwright-core on NODE_PATH.
const { chromium } = require('playwright-core');

(async () => {
  const base = process.argv[2];
  const out = process.argv[3];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  const context = await browser.newContext({ recordHar: { path: out, content: 'embed' } });
  const page = await context.newPage();
  const ids = await (await fetch(base + '/api/endpoints?per=10&sort=requests')).json();
  // A few pages (the file stays small): each loads the same stylesheet, script and icon.
  const pages = ['/', '/endpoints', '/hosts', '/endpoints/' + ids.endpoints[0].id,
    '/endpoints/' + ids.endpoints[1].id];
  for (const p of pages) {
    await page.goto(base + p, { waitUntil: 'networkidle' });
  }
  // The JSON API, as the dashboard's own scripts and users call it.
  for (const p of ['/api/endpoints?per=10', '/api/findings', '/api/hosts']) {
    await page.goto(base + p, { waitUntil: 'networkidle' });
  }
  await context.close();
  await browser.close();
})();
