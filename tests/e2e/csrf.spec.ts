import { expect, test } from '@playwright/test';
import http from 'node:http';
import path from 'node:path';
import { haveChromium, samples, serve, type Served } from './server.js';

test.skip(!haveChromium, 'needs Chromium (Debian package "chromium"; .ci/run installs it)');

/**
 * Cross-site request forgery and WebSocket hijacking, in a real browser: the user has the app open
 * (its cookie is in the browser), and a page served from another port of the same machine — same
 * site for the browser, so the SameSite=Strict cookie goes along — tries to write an annotation
 * and listen to the app's events. Nothing may be written, nothing heard.
 */
let server: Served;
let attacker: http.Server;
let attackerOrigin: string;
let videoId: string;

test.beforeAll(async ({ request }) => {
  server = await serve();
  const auth = { Authorization: `Bearer ${server.token}` };
  const v = await request.post(`${server.origin}/api/videos.open`, { data: { path: path.join(samples, 'single_face.mp4') }, headers: auth });
  expect(v.status()).toBe(200);
  videoId = (await v.json()).videoId;
  const target = server.origin;
  const op = JSON.stringify({ videoId, annotator: 'mallory', ops: [{ type: 'segment.add', segment: { id: 'csrf', start: 0, end: 1, cls: 1 } }] });
  // the attacker's page: every way a page can send a request to another origin without CORS
  const page = `<!doctype html><meta charset="utf-8"><body>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="${target}/api/annotations.apply" enctype="text/plain" target="sink"><input name='${op.slice(0, -1)},"pad":"' value='"}'></form>
<script>
window.results = {};
const note = (k, v) => { window.results[k] = v; };
fetch('${target}/api/annotations.apply', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(op)} })
  .then(() => note('noCors', 'sent'), (e) => note('noCors', 'failed: ' + e.message));
fetch('${target}/api/annotations.apply', { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(op)} })
  .then((r) => note('cors', 'status ' + r.status), (e) => note('cors', 'failed'));
fetch('${target}/api/app.info', { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{}' })
  .then(() => note('info', 'sent'), () => note('info', 'failed'));
const ws = new WebSocket('${target.replace('http', 'ws')}/events');
ws.onopen = () => note('ws', 'open');
ws.onmessage = (m) => note('wsMessage', m.data);
ws.onerror = () => note('ws', 'error');
const video = document.createElement('video');
video.src = '${target}/media/${encodeURIComponent(videoId)}';
video.onloadedmetadata = () => note('video', 'loaded');
video.onerror = () => note('video', 'error');
document.body.append(video);
document.getElementById('f').submit();
note('formSubmitted', true);
</script></body>`;
  attacker = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', () => resolve()));
  attackerOrigin = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
});

test.afterAll(async () => {
  attacker?.close();
  await server?.stop();
});

test('a page on another port of the same machine can neither write nor listen', async ({ page, request }) => {
  // the user opens the app: the session cookie is now in the browser
  await page.goto(server.url);
  await expect(page.getByTestId('video-name')).toHaveText('no video open');
  const cookies = await page.context().cookies(server.origin);
  expect(cookies.map((c) => c.name)).toContain(`affect_studio_token_${new URL(server.origin).port}`);

  // then visits the attacker's page in another tab
  const evil = await page.context().newPage();
  await evil.goto(`${attackerOrigin}/`);
  await expect.poll(async () => evil.evaluate(() => Object.keys((globalThis as unknown as { results: object }).results).sort().join()), { timeout: 20_000 })
    .toBe(['cors', 'formSubmitted', 'info', 'noCors', 'video', 'ws'].join());
  const results = await evil.evaluate(() => (globalThis as unknown as { results: Record<string, unknown> }).results);
  expect(results.ws).toBe('error'); // the upgrade was refused
  expect(results.wsMessage).toBeUndefined();
  expect(results.cors).toBe('failed'); // preflight refused: the browser never sends the call
  expect(results.video).toBe('error'); // the app's video cannot be embedded elsewhere
  await evil.waitForTimeout(500); // let the form's navigation land

  // nothing was written: no annotator "mallory", no segment
  const auth = { Authorization: `Bearer ${server.token}` };
  const list = await request.post(`${server.origin}/api/annotations.list`, { data: { videoId }, headers: auth });
  expect(await list.json()).toEqual([]);

  // the app's own page, with the same cookie, still works through the same checks
  const own = await page.evaluate(async ([id]) => {
    const r = await fetch('/api/annotations.apply', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ videoId: id, annotator: 'alice', ops: [{ type: 'segment.add', segment: { id: 's', start: 0, end: 1, cls: 4 } }] }) });
    return r.status;
  }, [videoId]);
  expect(own).toBe(200);
  const after = await request.post(`${server.origin}/api/annotations.list`, { data: { videoId }, headers: auth });
  expect(await after.json()).toEqual(['alice']);
  const ws = await page.evaluate(() => new Promise<string>((resolve) => {
    const s = new WebSocket(`ws://${(globalThis as unknown as { location: { host: string } }).location.host}/events`);
    s.onopen = () => resolve('open');
    s.onerror = () => resolve('error');
  }));
  expect(ws).toBe('open');
});
