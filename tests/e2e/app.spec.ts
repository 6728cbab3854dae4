import { expect, test } from '@playwright/test';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { haveChromium, repo, samples, serve, type Served } from './server.js';

test.skip(!haveChromium, 'needs Chromium (Debian package "chromium"; .ci/run installs it)');

const shots = path.join(repo, 'test-results', 'screenshots');
mkdirSync(shots, { recursive: true });

let server: Served;
test.beforeAll(async () => {
  server = await serve();
});
test.afterAll(async () => {
  await server?.stop();
});

test('web mode: token required, CSP on pages, only opened files are served', async ({ request }) => {
  const anon = await request.post(`${server.origin}/api/app.info`, { data: {} });
  expect(anon.status()).toBe(401);
  expect((await anon.json()).error).toMatch(/token/);
  const page = await request.get(`${server.origin}/`);
  expect(page.status()).toBe(401);
  const ok = await request.post(`${server.origin}/api/app.info`, { data: {}, headers: { Authorization: `Bearer ${server.token}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).mode).toBe('web');
  const html = await request.get(server.url);
  expect(html.status()).toBe(200);
  expect(html.headers()['content-security-policy']).toMatch(/script-src 'self'/);
  expect(html.headers()['content-security-policy']).toMatch(/object-src 'none'/);
  const media = await request.get(`${server.origin}/media/not-opened`, { headers: { Authorization: `Bearer ${server.token}` } });
  expect(media.status()).toBe(404);
  const bad = await request.post(`${server.origin}/api/videos.open`, { data: { path: 42 }, headers: { Authorization: `Bearer ${server.token}` } });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error).toMatch(/invalid arguments for videos\.open: "path"/);
});

test('open a video, run the default bundle, see the curves, seek, annotate, undo, reload', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await expect(page.getByTestId('video-name')).toHaveText('no video open');

  await page.getByTestId('open-video').click();
  await page.getByTestId('browse-path').fill(path.join(samples, 'WolfgangLanger_Pexels.mp4'));
  await page.getByTestId('open-typed').click();
  await expect(page.getByTestId('video-name')).toContainText('WolfgangLanger_Pexels.mp4 · 640×360');
  await expect(page.getByTestId('timeline')).toHaveAttribute('data-points', '0');

  // run the default (starter) bundle: progress, then curves
  await page.getByTestId('run').click();
  await expect(page.getByTestId('run-progress')).toBeVisible();
  await expect.poll(async () => Number(await page.getByTestId('timeline').getAttribute('data-points')), { timeout: 120_000 }).toBeGreaterThan(400);
  await expect(page.getByTestId('timeline')).toHaveAttribute('data-series', '1'); // the run's valence curve
  await page.screenshot({ path: path.join(shots, 'timeline-after-run.png') });

  // seek: frame by frame, then by time
  await expect(page.getByTestId('frame-number')).toHaveText('1');
  await page.getByTestId('next-frame').click();
  await page.getByTestId('next-frame').click();
  await expect(page.getByTestId('frame-number')).toHaveText('3');
  await page.getByTestId('jump').fill('0:10');
  await page.getByTestId('jump').press('Enter');
  await expect(page.getByTestId('frame-number')).toHaveText('240'); // 10 s × 23.976 fps → frame 240 (1-based)

  // an expression segment with the keyboard: "4" (Happiness) at 10 s, "4" again 12 frames later
  await page.getByTestId('tab-annotate').click();
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('4');
  await expect(page.getByTestId('pending')).toContainText('recording Happiness');
  for (let i = 0; i < 12; i++) await page.getByTestId('next-frame').click();
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('4');
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(1);
  // the segment starts where frame 240 starts (239 / 23.976 s) and ends 12 frames later
  await expect(page.getByTestId('segments')).toContainText('Happiness 9.97–10.47 s');
  await page.screenshot({ path: path.join(shots, 'annotation.png') });

  // undo removes it, redo brings it back, undo again — then a second segment that stays
  await page.getByTestId('undo').click();
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(0);
  await page.keyboard.press('Control+Shift+Z');
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(1);
  await page.keyboard.press('Control+Z');
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(0);
  await page.getByTestId('class-5').click();
  await page.getByTestId('next-frame').click();
  await page.getByTestId('next-frame').click();
  await page.getByTestId('class-5').click();
  await expect(page.getByTestId('segments')).toContainText('Sadness');
  await expect(page.getByTestId('save-state')).toHaveText('saved');

  // reload: the video, its run, the tab and the saved annotation come back by themselves
  await page.reload();
  await expect(page.getByTestId('video-name')).toContainText('WolfgangLanger_Pexels.mp4');
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('segments')).toContainText('Sadness');
  await expect.poll(async () => Number(await page.getByTestId('timeline').getAttribute('data-points'))).toBeGreaterThan(400);

  // train on the annotated video from the Train tab, watch it finish, install the result
  await page.getByTestId('tab-train').click();
  await page.getByTestId('train-preset').selectOption('laptop-gru');
  await page.getByTestId('train-epochs').fill('2');
  await page.getByTestId('train-start').click();
  await expect(page.getByTestId('train-status')).toContainText('done', { timeout: 120_000 });
  await expect(page.getByTestId('train-epochs-table').locator('tbody tr')).toHaveCount(2);
  await page.getByTestId('train-install').click();
  await page.waitForTimeout(500);
  if (await page.getByTestId('error').count()) throw new Error(`install failed: ${await page.getByTestId('error').textContent()}`);
  await expect(page.getByTestId('train-status')).toContainText(/installed laptop-gru@1\.0\.0-e2(-s\d+)? as the default bundle/);
  await page.screenshot({ path: path.join(shots, 'training.png') });
  expect(errors).toEqual([]);
});

test('batch over a folder with one bad file: the good one is done, the bad one listed with its error', async ({ page }) => {
  const folder = path.join(server.dir, 'batch-in');
  mkdirSync(folder, { recursive: true });
  const ffmpeg = path.join(repo, 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '20', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', path.join(folder, 'pattern.mp4')]);
  copyFileSync(path.join(samples, 'single_face.mp4'), path.join(folder, 'single_face.mp4'));
  writeFileSync(path.join(folder, 'broken.mp4'), 'this is not a video');
  const out = path.join(server.dir, 'batch-out');

  await page.goto(server.url);
  await page.getByTestId('tab-batch').click();
  await page.getByTestId('batch-add-path').fill(folder);
  await page.getByTestId('batch-add').click();
  const rows = page.getByTestId('batch-items').locator('tbody tr');
  await expect(rows).toHaveCount(3);
  await page.getByTestId('batch-out').fill(out);
  await page.getByTestId('batch-start').click();
  await expect(page.locator('tr[data-status="failed"]')).toHaveCount(1, { timeout: 120_000 });
  await expect(page.locator('tr[data-status="done"]')).toHaveCount(1, { timeout: 120_000 });
  // the test pattern has no face: done, with that warning
  await expect(page.locator('tr[data-status="warned"]')).toContainText('pattern.mp4', { timeout: 120_000 });
  await expect(page.locator('tr[data-status="failed"]')).toContainText('broken.mp4');
  await expect(page.locator('tr[data-status="failed"]')).toContainText('not a video ffmpeg can read');
  await page.screenshot({ path: path.join(shots, 'batch.png') });
});
