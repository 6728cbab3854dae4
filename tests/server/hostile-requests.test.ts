/**
 * The real `affect-studio serve`, sent a corpus of hostile and faulty requests: malformed request
 * lines and escapes, wrong hosts, foreign origins on HTTP and the WebSocket, wrong content types,
 * huge bodies, traversal ids, files that are not videos or lie outside the allowed folders. Each
 * gets its status, and after each the server still answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { CLI } from '../helpers/cli.js';
import { freshDir, testPatternVideo, tools } from '../helpers/fixtures.js';
import { execFileSync } from 'node:child_process';

interface Server {
  proc: ChildProcess;
  port: number;
  token: string;
  out: string;
  err: string;
}

async function serve(args: string[], env: Record<string, string> = {}): Promise<Server> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { env: { ...process.env, AFFECT_STUDIO_DATA: freshDir('data'), ...env } });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /http:\/\/[^\s/]+:(\d+)\/\?token=(\S+)/.exec(out);
      if (found) resolve(found);
    });
    proc.on('exit', (code) => reject(new Error(`serve exited (${code}): ${out}${err}`)));
  });
  return { proc, port: Number(m[1]), token: m[2], get out() { return out; }, get err() { return err; } } as Server;
}

const stop = (s: Server | undefined) => new Promise<void>((resolve) => {
  if (!s || s.proc.exitCode !== null) return resolve();
  s.proc.once('exit', () => resolve());
  s.proc.kill('SIGTERM');
});

/** Sends raw bytes; resolves with the status code of the answer (0: the connection closed without one). */
function raw(port: number, bytes: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (code: number) => {
      socket.destroy();
      resolve(code);
    };
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) done(Number(m[1]));
    });
    socket.on('error', () => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    socket.on('close', () => done(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    socket.write(bytes);
  });
}

async function api(s: Server, method: string, args: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: { error?: string; [k: string]: unknown } }> {
  const r = await fetch(`http://127.0.0.1:${s.port}/api/${method}`, {
    method: 'POST', body: JSON.stringify(args), headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json', ...headers },
  });
  return { status: r.status, body: (await r.json()) as { error?: string } };
}

async function stillServing(s: Server): Promise<void> {
  expect(s.proc.exitCode).toBeNull();
  const r = await api(s, 'app.info', {});
  expect(r.status).toBe(200);
}

function wsStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(0));
  });
}

describe('serve under hostile requests', () => {
  let s: Server;
  let root: string;
  let outside: string;
  beforeAll(async () => {
    const base = freshDir('hostile');
    root = path.join(base, 'allowed');
    outside = path.join(base, 'secret');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
    writeFileSync(path.join(root, 'notes.ans'), 'not a video, but ffprobe reads ANSI art\n');
    execFileSync(tools.ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48', '-frames:v', '1', path.join(root, 'picture.png')]);
    copyFileSync(testPatternVideo(10, 25), path.join(root, 'clip.mp4'));
    copyFileSync(testPatternVideo(10, 25), path.join(outside, 'clip.mp4'));
    s = await serve(['--project', path.join(base, 'project'), '--root', root]);
  });
  afterAll(async () => stop(s));

  const auth = () => `Authorization: Bearer ${s.token}\r\n`;
  const host = () => `Host: 127.0.0.1:${s.port}\r\n`;

  const rawCases: [string, number, () => string | Buffer][] = [
    ['absolute-form target that does not parse, no token', 400, () => `GET http://[::1 HTTP/1.1\r\n${host()}\r\n`],
    ['malformed escape in a page path', 404, () => `GET /%E0%A4%A HTTP/1.1\r\n${host()}${auth()}\r\n`],
    ['malformed escape in a media id', 404, () => `GET /media/%E0%A4%A HTTP/1.1\r\n${host()}${auth()}\r\n`],
    ['NUL in a path', 404, () => `GET /index.html%00.png HTTP/1.1\r\n${host()}${auth()}\r\n`],
    ['a request line that is not HTTP', 400, () => 'GARBAGE\r\n\r\n'],
    ['asterisk target', 400, () => `GET * HTTP/1.1\r\n${host()}${auth()}\r\n`],
    ['absolute URL to this server', 400, () => `GET http://127.0.0.1:${s.port}/ HTTP/1.1\r\n${host()}${auth()}\r\n`],
    ['foreign Host header (DNS rebinding)', 403, () => `GET / HTTP/1.1\r\nHost: evil.example:${s.port}\r\n${auth()}\r\n`],
    ['headers over the parser\'s limit', 431, () => `GET / HTTP/1.1\r\n${host()}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['broken chunked body', 400, () => `POST /api/app.info HTTP/1.1\r\n${host()}${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
    ['body declared over 16 MiB', 413, () => `POST /api/app.info HTTP/1.1\r\n${host()}${auth()}Content-Type: application/json\r\nContent-Length: ${17 << 20}\r\n\r\n{`],
    ['PUT on a page', 405, () => `PUT / HTTP/1.1\r\n${host()}${auth()}Content-Length: 0\r\n\r\n`],
    ['GET on the API', 405, () => `GET /api/app.info HTTP/1.1\r\n${host()}${auth()}\r\n`],
    ['a video embedded by another site\'s page', 403, () => `GET /media/x HTTP/1.1\r\n${host()}${auth()}Sec-Fetch-Site: same-site\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: video\r\n\r\n`],
  ];
  it.each(rawCases)('%s → %i, and the server goes on', async (_name, status, request) => {
    expect(await raw(s.port, request())).toBe(status);
    await stillServing(s);
  });

  it('a body streamed past 16 MiB is cut off with 413', async () => {
    const r = await new Promise<number>((resolve) => {
      const socket = net.connect(s.port, '127.0.0.1', () => {
        socket.write(`POST /api/app.info HTTP/1.1\r\n${host()}${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(1 << 20, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 20 && socket.writable) {
            sent++;
            if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      let got = '';
      socket.on('data', (d) => {
        got += d.toString('latin1');
        const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
        if (m) {
          socket.destroy();
          resolve(Number(m[1]));
        }
      });
      socket.on('error', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    });
    expect(r).toBe(413);
    await stillServing(s);
  });

  const apiCases: [string, number, string, unknown, Record<string, string>, RegExp][] = [
    ['text/plain body (a no-cors fetch)', 415, 'annotations.apply', {}, { 'Content-Type': 'text/plain' }, /Content-Type: application\/json/],
    ['form body', 415, 'app.info', {}, { 'Content-Type': 'application/x-www-form-urlencoded' }, /application\/json/],
    ['foreign Origin', 403, 'app.info', {}, { Origin: 'http://127.0.0.1:1' }, /not accepted/],
    ['opaque Origin', 403, 'app.info', {}, { Origin: 'null' }, /opaque/],
    ['same-site fetch metadata', 403, 'app.info', {}, { 'Sec-Fetch-Site': 'same-site' }, /Sec-Fetch-Site: same-site/],
    ['runs.get with a traversal id', 400, 'runs.get', { runId: '../../../secret' }, {}, /"runId"/],
    ['runs.list with a traversal id', 400, 'runs.list', { videoId: '..' }, {}, /"videoId"/],
    ['annotations.list with a traversal id', 400, 'annotations.list', { videoId: '../../..' }, {}, /"videoId"/],
    ['train.start named ..', 400, 'train.start', { preset: 'laptop-gru', name: '..' }, {}, /"name"/],
    ['unknown method', 400, '__proto__', {}, {}, /unknown API method/],
  ];
  it.each(apiCases)('API: %s → %i', async (_name, status, method, args, headers, message) => {
    const r = await api(s, method, args, headers);
    expect(r.status).toBe(status);
    expect(r.body.error).toMatch(message);
    await stillServing(s);
  });

  it('a body that is not JSON → 400', async () => {
    const r = await fetch(`http://127.0.0.1:${s.port}/api/app.info`, { method: 'POST', body: '{"a":', headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    await stillServing(s);
  });

  it('files: only videos, only under --root; the browser cannot leave the root', async () => {
    for (const [file, message] of [
      [path.join(root, 'notes.ans'), /is not a video \(ffprobe reads it as "tty"/],
      [path.join(root, 'picture.png'), /is not a video \(ffprobe reads it as "png_pipe"/],
      [path.join(outside, 'clip.mp4'), /the video is outside the folders this session may use/],
      [path.join(outside, 'secret.txt'), /outside/],
      [path.join(root, '..', 'secret', 'secret.txt'), /outside/],
    ] as const) {
      const r = await api(s, 'videos.open', { path: file });
      expect(r.status, file).toBe(400);
      expect(`${r.body.error}`).toMatch(message);
    }
    const ok = await api(s, 'videos.open', { path: path.join(root, 'clip.mp4') });
    expect(ok.status).toBe(200);
    const media = await fetch(`http://127.0.0.1:${s.port}/media/${encodeURIComponent(ok.body.videoId as string)}`, { headers: { Authorization: `Bearer ${s.token}` } });
    expect(media.status).toBe(200);
    expect(media.headers.get('content-type')).toBe('video/mp4');

    const list = await api(s, 'fs.list', {});
    expect(list.body.path).toBe(root);
    expect(list.body.parent).toBeNull(); // the root is as high as the browser goes
    for (const p of ['/etc', outside, os.homedir()]) expect((await api(s, 'fs.list', { path: p })).status).toBe(400);
    const info = await api(s, 'app.info', {});
    expect(info.body.roots).toEqual([root]);

    for (const [method, args] of [
      ['batch.start', { outDir: path.join(outside, 'out') }],
      ['batch.add', { paths: [outside] }],
      ['runs.import', { videoId: ok.body.videoId, path: path.join(outside, 'secret.txt') }],
      ['annotations.export', { videoId: ok.body.videoId, annotator: 'a', dir: outside }],
      ['annotations.import', { videoId: ok.body.videoId, annotator: 'a', dir: outside }],
      ['runs.start', { videoId: ok.body.videoId, bundles: [outside] }],
    ] as const) {
      const r = await api(s, method, args);
      expect(r.status, method).toBe(400);
      expect(`${r.body.error}`, method).toMatch(/outside the folders this session may use/);
    }
    await stillServing(s);
  });

  it('WebSocket: foreign origins and missing tokens are refused; the app\'s own origin connects', async () => {
    const url = `ws://127.0.0.1:${s.port}/events`;
    expect(await wsStatus(url, { Origin: 'http://127.0.0.1:1', Authorization: `Bearer ${s.token}` })).toBe(403);
    expect(await wsStatus(url, { Origin: 'http://evil.example', Cookie: `affect_studio_token_${s.port}=${s.token}` })).toBe(403);
    expect(await wsStatus(url, { 'Sec-Fetch-Site': 'same-site', Authorization: `Bearer ${s.token}` })).toBe(403);
    expect(await wsStatus(url, { Origin: `http://127.0.0.1:${s.port}` })).toBe(401);
    expect(await wsStatus(`ws://127.0.0.1:${s.port}/%E0%A4%A`, { Authorization: `Bearer ${s.token}` })).toBe(404);
    expect(await wsStatus(url, { Origin: `http://127.0.0.1:${s.port}`, Cookie: `affect_studio_token_${s.port}=${s.token}` })).toBe(101);
    await stillServing(s);
  });
});

describe('serve beyond loopback', () => {
  let s: Server | undefined;
  afterAll(async () => stop(s));

  it('--host 0.0.0.0 warns, and keeps the Host check (names from --allow-host)', async () => {
    s = await serve(['--project', freshDir('p'), '--host', '0.0.0.0', '--allow-host', 'lab.example.org', '--root', freshDir('r')]);
    expect(s.err).toMatch(/WARNING: --host 0\.0\.0\.0 listens beyond this machine, over plain HTTP/);
    expect(s.err).toMatch(/ssh -L/);
    expect(s.out).toMatch(/http:\/\/lab\.example\.org:\d+\/\?token=/);
    expect(await raw(s.port, `GET / HTTP/1.1\r\nHost: evil.com\r\nAuthorization: Bearer ${s.token}\r\n\r\n`)).toBe(403);
    expect(await raw(s.port, `GET / HTTP/1.1\r\nHost: evil.com:${s.port}\r\nAuthorization: Bearer ${s.token}\r\n\r\n`)).toBe(403);
    expect(await raw(s.port, `GET /api/x HTTP/1.1\r\nHost: lab.example.org:${s.port}\r\nAuthorization: Bearer ${s.token}\r\n\r\n`)).toBe(405);
    const r = await api(s, 'app.info', {}, { Origin: `http://lab.example.org:${s.port}` });
    expect(r.status).toBe(200);
  });

  it('a --root that does not exist stops serve with a clear error', async () => {
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--project', freshDir('p'), '--root', '/nowhere/at/all'], { env: { ...process.env, AFFECT_STUDIO_DATA: freshDir('data') } });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code) => resolve({ code, err }));
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\/nowhere\/at\/all: --root is not an existing folder/);
    expect(existsSync('/nowhere')).toBe(false);
  });
});
