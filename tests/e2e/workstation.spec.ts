/// <reference lib="dom" />
/**
 * The app as a researcher sees it on a laptop and on a monitor: every track drawn and on the first
 * screen, nothing overflowing, the face visible while rating, and the editing gestures that matter
 * (frame steps, dragging a segment's end, rating without a held button).
 */
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync, truncateSync } from 'node:fs';
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

/** The tracks that must be on the first screen once a run is shown. */
const TRACKS = ['time-axis', 'track-valence', 'track-arousal', 'track-expression', 'tier-active', 'track-au'];

/** Size, place and drawn pixels of a track's canvas (uPlot tracks: the chart's canvas). */
async function trackPixels(page: Page, testid: string) {
  return page.evaluate((id) => {
    const el = document.querySelector(`[data-testid="${id}"]`) as HTMLElement | null;
    if (!el) return null;
    const canvas = (el.tagName === 'CANVAS' ? el : el.querySelector('canvas')) as HTMLCanvasElement | null;
    if (!canvas) return null;
    const r = canvas.getBoundingClientRect();
    const ctx = canvas.getContext('2d');
    let drawn = 0;
    if (ctx && canvas.width && canvas.height) {
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) drawn++;
    }
    return { x: r.x, y: r.y, w: r.width, h: r.height, bottom: r.bottom, right: r.right, drawn, pixels: canvas.width * canvas.height, vw: innerWidth, vh: innerHeight };
  }, testid);
}

async function openActedClipWithRun(page: Page) {
  await page.goto(server.url); // sets the session cookie
  await page.goto(`${server.origin}/?video=${encodeURIComponent(path.join(samples, 'WolfgangLanger_Pexels.mp4'))}`);
  await expect(page.getByTestId('video-name')).toContainText('WolfgangLanger_Pexels.mp4', { timeout: 30_000 });
  if ((await page.getByTestId('run-select').locator('option').count()) < 2) {
    await page.getByTestId('tab-models').click();
    await page.getByTestId('run').click();
  }
  await expect.poll(async () => Number(await page.getByTestId('timeline').getAttribute('data-points')), { timeout: 180_000 }).toBeGreaterThan(400);
}

/** Each test annotates as its own annotator (the server's project is shared by the tests of this file). */
async function annotateAs(page: Page, name: string) {
  await page.getByTestId('tab-annotate').click();
  await page.getByTestId('annotator').fill(name);
  await page.getByTestId('annotator').press('Enter');
  await expect(page.getByTestId('tier-active')).toHaveAttribute('data-annotator', name);
}

/** Marks an expression segment the way an annotator does: jump to its start, press the class key, jump to its end, press it again. */
async function markSegment(page: Page, from: string, to: string, key: string) {
  for (const time of [from, to]) {
    await page.getByTestId('jump').fill(time);
    await page.getByTestId('jump').press('Enter');
    await page.keyboard.press(key);
  }
}

for (const [width, height] of [[1280, 720], [1920, 1080]] as const) {
  test(`${width}×${height}: video and every track on the first screen, drawn, nothing overflowing`, async ({ page }) => {
    await page.setViewportSize({ width, height });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openActedClipWithRun(page);
    // an annotation, so the annotator's tier has something to draw
    await annotateAs(page, `layout${width}`);
    await markSegment(page, '0:02', '0:06', '1');
    await expect(page.getByTestId('tier-active')).toHaveAttribute('data-segments', /[1-9]/);
    await page.waitForTimeout(500);
    const video = await page.getByTestId('video').boundingBox();
    expect(video && video.width > 200 && video.y >= 0 && video.y + video.height <= height && video.x + video.width <= width).toBe(true);
    for (const id of TRACKS) {
      const t = await trackPixels(page, id);
      expect(t, id).not.toBeNull();
      if (!t) continue;
      expect(t.w, `${id} width`).toBeGreaterThan(width * 0.7);
      expect(t.h, `${id} height`).toBeGreaterThan(8);
      expect(t.bottom, `${id} below the first screen`).toBeLessThanOrEqual(height);
      expect(t.right, `${id} past the right edge`).toBeLessThanOrEqual(width);
      // drawn: more than a sliver of the canvas is painted
      expect(t.drawn / t.pixels, `${id} drawn pixels`).toBeGreaterThan(id === 'time-axis' ? 0.002 : 0.05);
    }
    const overflow = await page.evaluate(() => ({ x: document.documentElement.scrollWidth - innerWidth, y: document.documentElement.scrollHeight - innerHeight }));
    expect(overflow).toEqual({ x: 0, y: 0 });
    await page.screenshot({ path: path.join(shots, `workstation-${width}x${height}.png`) });

    // the layout follows the window: smaller, and back
    await page.setViewportSize({ width: Math.round(width * 0.8), height: Math.round(height * 0.9) });
    await page.waitForTimeout(400);
    const small = await trackPixels(page, 'track-au');
    expect(small && small.right <= Math.round(width * 0.8)).toBe(true);
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(400);
    const back = await trackPixels(page, 'track-au');
    expect(back && back.w > width * 0.7).toBe(true);
    expect(errors).toEqual([]);
  });
}

test('keys step frames without dropping presses; a segment made with keys has ends that drag', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openActedClipWithRun(page);
  await page.getByTestId('zoom-all').click();
  // 30 presses, 30 ms apart: 30 frames, none lost to a seek still under way
  await expect(page.getByTestId('frame-number')).toHaveText('1');
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(30);
  }
  await expect(page.getByTestId('frame-number')).toHaveText('31');

  // digits start and end a segment wherever focus is — even after typing into the jump box
  await page.getByTestId('jump').fill('0:05');
  await page.getByTestId('jump').press('Enter');
  await annotateAs(page, 'editor');
  await page.keyboard.press('4');
  await expect(page.getByTestId('pending')).toContainText('Happiness');
  for (let i = 0; i < 24; i++) await page.keyboard.press('ArrowRight');
  await page.keyboard.press('4');
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(1);
  const before = await page.getByTestId('segments').innerText();
  expect(before).toMatch(/Happiness 4\.9\d–5\.9\d s/);

  // drag the segment's end 2 s later on the tier
  const tier = page.getByTestId('tier-active');
  const box = await tier.boundingBox();
  if (!box) throw new Error('no tier');
  const view = await page.evaluate(() => document.querySelector('[data-testid=timeline]')?.textContent?.match(/(\d+\.\d)–(\d+\.\d) s/)?.slice(1).map(Number));
  const [v0, v1] = view ?? [0, 19.7];
  const x = (t: number) => box.x + ((t - v0) / (v1 - v0)) * box.width;
  const end = Number(/–(\d+\.\d+) s/.exec(before)?.[1]);
  await page.mouse.move(x(end), box.y + 8);
  await page.mouse.down();
  await page.mouse.move(x(end + 1), box.y + 8, { steps: 5 });
  await page.mouse.move(x(end + 2), box.y + 8, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => Number(/–(\d+\.\d+) s/.exec(await page.getByTestId('segments').innerText())?.[1])).toBeGreaterThan(end + 1.8);
  await expect(page.getByTestId('save-state')).toHaveText('saved');
  // undo brings the end back
  await page.getByTestId('undo').click();
  await expect.poll(async () => Number(/–(\d+\.\d+) s/.exec(await page.getByTestId('segments').innerText())?.[1])).toBeCloseTo(end, 1);
  await page.screenshot({ path: path.join(shots, 'workstation-editing.png') });
});

test('rating: the pad follows the pointer with no button held, each take starts at neutral, Esc ends it, the face stays visible', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openActedClipWithRun(page);
  await annotateAs(page, 'rater');
  await page.getByTestId('tab-rate').click();
  await page.getByTestId('rating-panel').locator('select').nth(2).selectOption('0'); // no countdown
  await page.getByTestId('start-rating').click();
  await expect(page.getByTestId('rating-live')).toBeVisible();
  const pad = await page.getByTestId('rating-pad').boundingBox();
  const video = await page.getByTestId('video').boundingBox();
  if (!pad || !video) throw new Error('no pad or video');
  // the whole video (the face) is on screen beside the pad, not under it
  expect(video.y + video.height).toBeLessThanOrEqual(720);
  expect(pad.x >= video.x + video.width || pad.y >= video.y + video.height).toBe(true);
  // move without pressing any button: up-right (positive valence and arousal)
  for (let i = 0; i < 20; i++) {
    await page.mouse.move(pad.x + pad.width * (0.6 + i * 0.015), pad.y + pad.height * (0.4 - i * 0.01));
    await page.waitForTimeout(40);
  }
  await expect(page.getByTestId('rating-live')).toContainText('mouse');
  await page.screenshot({ path: path.join(shots, 'workstation-rating.png') });
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('start-rating')).toBeVisible();
  await expect(page.getByTestId('takes').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('takes')).toContainText('mouse');
  const samples = Number(/(\d+) samples/.exec(await page.getByTestId('takes').innerText())?.[1]);
  expect(samples).toBeGreaterThan(5);
  // the take is a series of the valence chart, labelled by annotator and take number
  await expect(page.getByTestId('legend')).toContainText('rater take 1');

  // a second take with the keyboard starts at neutral and is recorded as a keyboard take
  await page.getByTestId('start-rating').click();
  await expect(page.getByTestId('rating-live')).toContainText('V 0.00 · A 0.00');
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('ArrowLeft');
    await page.waitForTimeout(60);
  }
  await page.keyboard.press(' ');
  await expect(page.getByTestId('takes').locator('li')).toHaveCount(2);
  await expect(page.getByTestId('takes').locator('li').nth(1)).toContainText('keyboard');
});

test('pre-fill says what it would add, keeps the annotator\'s own segment, and Undo takes it back', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openActedClipWithRun(page);
  await annotateAs(page, 'prefiller');
  await markSegment(page, '0:02', '0:06', '1');
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(1);
  const mine = await page.getByTestId('segments').innerText();

  await page.getByTestId('prefill').click();
  const confirm = page.getByTestId('merge-confirm');
  await expect(confirm).toContainText(/would add \d+ expression segment\(s\)/);
  await expect(confirm).toContainText('Your own 1 segment(s)');
  await page.screenshot({ path: path.join(shots, 'workstation-prefill-confirm.png') });
  await page.getByTestId('merge-accept').click();
  await expect.poll(async () => page.getByTestId('segments').locator('li').count()).toBeGreaterThan(3);
  // the annotator's segment is there as it was; no suggestion overlaps it
  await expect(page.getByTestId('segments')).toContainText(mine.split('\n')[0]);
  const inside = await page.getByTestId('segments').locator('li').evaluateAll((lis) => lis.map((li) => li.textContent ?? '')
    .map((t) => /(\d+\.\d+)–(\d+\.\d+) s/.exec(t)).filter(Boolean).map((m) => [Number(m?.[1]), Number(m?.[2])]));
  const own = /(\d+\.\d+)–(\d+\.\d+) s/.exec(mine)?.slice(1).map(Number) as number[];
  expect(inside.filter(([a, b]) => a < own[1] - 0.01 && b > own[0] + 0.01)).toEqual([own]);
  await expect(page.getByTestId('save-state')).toHaveText('saved');
  await page.getByTestId('undo').click();
  await expect(page.getByTestId('segments').locator('li')).toHaveCount(1);
  await expect(page.getByTestId('segments')).toContainText(mine.split('\n')[0]);
});

test('a video the browser cannot decode (HEVC) plays from an H.264 copy, and the player says so', async ({ page }) => {
  const hevc = path.resolve(repo, '../shared/data/videos/face_noface.mov');
  test.skip(!existsSync(hevc), 'needs the team\'s HEVC clip ../shared/data/videos/face_noface.mov');
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(server.url);
  await page.goto(`${server.origin}/?video=${encodeURIComponent(hevc)}`);
  await expect(page.getByTestId('video-name')).toContainText('face_noface.mov', { timeout: 60_000 });
  await expect(page.getByTestId('playback-note')).toContainText('H.264 copy', { timeout: 180_000 });
  await expect(page.getByTestId('video')).toHaveAttribute('data-copy', '1');
  // the copy decodes: the element has a picture, and frame steps follow the original's frame times
  await expect.poll(() => page.getByTestId('video').evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.videoWidth > 0), { timeout: 60_000 }).toBe(true);
  await page.getByTestId('next-frame').click();
  await page.getByTestId('next-frame').click();
  await expect(page.getByTestId('frame-number')).toHaveText('3');
  const drawn = await page.getByTestId('video').evaluate((v: HTMLVideoElement) => {
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 36;
    const ctx = c.getContext('2d');
    ctx?.drawImage(v, 0, 0, 64, 36);
    const d = ctx?.getImageData(0, 0, 64, 36).data ?? new Uint8ClampedArray();
    let bright = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) bright++;
    return bright;
  });
  expect(drawn).toBeGreaterThan(100); // not a black rectangle
  await page.screenshot({ path: path.join(shots, 'workstation-hevc-copy.png') });
});

test('batch: a truncated file and a mostly face-less video are "done, with warnings" in amber, with the reason', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  const folder = path.join(server.dir, 'warn-in');
  mkdirSync(folder, { recursive: true });
  const truncated = path.join(folder, 'truncated.mp4');
  copyFileSync(path.join(samples, 'WolfgangLanger_Pexels.mp4'), truncated);
  truncateSync(truncated, Math.floor(statSync(truncated).size * 0.45));
  const ffmpeg = path.join(repo, 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-frames:v', '25', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', path.join(folder, 'no-face.mp4')]);
  await page.goto(server.url);
  await page.getByTestId('tab-batch').click();
  await page.getByTestId('batch-add-path').fill(folder);
  await page.getByTestId('batch-add').click();
  await page.getByTestId('batch-out').fill(path.join(server.dir, 'warn-out'));
  await page.getByTestId('batch-start').click();
  const warned = page.locator('tr[data-status="warned"]');
  await expect(warned).toHaveCount(2, { timeout: 180_000 });
  await expect(warned.filter({ hasText: 'truncated.mp4' })).toContainText(/decoded \d+ of the 472 frames|truncated/);
  await expect(warned.filter({ hasText: 'no-face.mp4' })).toContainText('no face');
  const bg = await warned.first().evaluate((tr) => getComputedStyle(tr).backgroundColor);
  expect(bg).toBe('rgb(255, 251, 235)'); // amber, not the green of a clean "done"
  await page.screenshot({ path: path.join(shots, 'workstation-batch-warnings.png') });
});

test('agreement: kappa and alpha between human raters, the model pre-fill tier not counted', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openActedClipWithRun(page);
  for (const [name, cls] of [['rater-a', '4'], ['rater-b', '4']] as const) {
    await annotateAs(page, name);
    await markSegment(page, '0:10', '0:14', cls);
  }
  await page.getByTestId('tab-agreement').click();
  await page.getByTestId('compute-agreement').click();
  await expect(page.getByTestId('agreement-pairs')).toContainText('rater-a – rater-b');
  await expect(page.getByTestId('agreement-alpha')).toContainText(/over \d+ frames/);
  await page.screenshot({ path: path.join(shots, 'workstation-agreement.png') });
});

test('when the server goes away, a banner says so and what to do', async ({ page }) => {
  const own = await serve();
  try {
    await page.goto(own.url);
    await expect(page.getByTestId('video-name')).toHaveText('no video open');
    await own.stop();
    await expect(page.getByTestId('connection-banner')).toHaveAttribute('data-state', 'unreachable', { timeout: 30_000 });
    await expect(page.getByTestId('connection-banner')).toContainText('affect-studio serve');
  } finally {
    await own.stop();
  }
});
