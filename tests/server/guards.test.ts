/**
 * The checks that keep requests and paths in bounds, one function at a time: the web server's
 * request guard, the desktop shell's URL and page checks (plain Node: no Electron needed), the
 * allowed folders, ids, and output names that never collide.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crossOriginReason, foreignLoadReason, hostAllowed, hostPolicy, isJsonContentType, isLoopback, requestTarget } from '../../electron/server/request-guard.js';
import { safeDecode, staticFile } from '../../electron/api/transport.js';
import { appPathOf, GrantedFolders, isAppPage, mediaIdOf } from '../../electron/shell/shell-guards.js';
import { PathRoots } from '../../electron/api/path-roots.js';
import { pathInside } from '../../common/node/confined-path.js';
import { isSafeId } from '../../common/ids.js';
import { assignStems } from '../../electron/engine/jobs/inputs.js';
import { Requests } from '../../electron/api/contract.js';
import { freshDir } from '../helpers/fixtures.js';

describe('request guard (web server)', () => {
  const policy = hostPolicy('127.0.0.1', 8765, ['lab.example.org']);

  it('takes only origin-form request targets', () => {
    expect(requestTarget('/api/app.info?x=1')?.pathname).toBe('/api/app.info');
    for (const bad of ['http://[::1', 'http://127.0.0.1:8765/', '*', '//evil.example/x', '', undefined, 'x']) expect(requestTarget(bad)).toBeUndefined();
  });

  it('decodes percent-escapes without throwing', () => {
    expect(safeDecode('%E0%A4%A')).toBeUndefined();
    expect(safeDecode('a%00b')).toBeUndefined();
    expect(safeDecode('clip%20one')).toBe('clip one');
    expect(staticFile(freshDir('ui'), '/%E0%A4%A')).toEqual({ status: 404, error: 'not found' });
  });

  it('answers only to its own host names and port', () => {
    expect(hostAllowed('127.0.0.1:8765', policy)).toBe(true);
    expect(hostAllowed('localhost:8765', policy)).toBe(true);
    expect(hostAllowed('[::1]:8765', policy)).toBe(true);
    expect(hostAllowed('LAB.example.org:8765', policy)).toBe(true);
    for (const bad of ['evil.com', 'evil.com:8765', '127.0.0.1:8766', '127.0.0.1', 'user@127.0.0.1:8765', '127.0.0.1:8765/x', undefined]) expect(hostAllowed(bad, policy)).toBe(false);
    // listening everywhere does not switch the check off
    const wide = hostPolicy('0.0.0.0', 8765);
    expect(hostAllowed('evil.com:8765', wide)).toBe(false);
    expect(hostAllowed('0.0.0.0:8765', wide)).toBe(false);
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });

  it('state-changing requests: only this server\'s own origin passes', () => {
    expect(crossOriginReason({}, policy)).toBeUndefined(); // curl, scripts: the token decides
    expect(crossOriginReason({ origin: 'http://127.0.0.1:8765', 'sec-fetch-site': 'same-origin' }, policy)).toBeUndefined();
    expect(crossOriginReason({ origin: 'http://localhost:8765' }, policy)).toBeUndefined();
    expect(crossOriginReason({ origin: 'http://127.0.0.1:9999' }, policy)).toMatch(/127\.0\.0\.1:9999 are not accepted/);
    expect(crossOriginReason({ origin: 'null' }, policy)).toMatch(/opaque origin/);
    expect(crossOriginReason({ origin: 'https://127.0.0.1:8765' }, policy)).toBeDefined();
    expect(crossOriginReason({ 'sec-fetch-site': 'same-site' }, policy)).toMatch(/same-site/);
    expect(crossOriginReason({ origin: 'http://127.0.0.1:8765', 'sec-fetch-site': 'cross-site' }, policy)).toBeDefined();
  });

  it('reads: other sites may navigate to a page but not embed it or its videos', () => {
    expect(foreignLoadReason({})).toBeUndefined();
    expect(foreignLoadReason({ 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'no-cors' })).toBeUndefined();
    expect(foreignLoadReason({ 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' })).toBeUndefined();
    expect(foreignLoadReason({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' })).toBeUndefined();
    expect(foreignLoadReason({ 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'video' })).toMatch(/another site/);
    expect(foreignLoadReason({ 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' })).toBeDefined();
  });

  it('API calls must be JSON', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    for (const bad of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', undefined]) expect(isJsonContentType(bad)).toBe(false);
  });
});

describe('desktop shell guards (plain Node)', () => {
  it('protocol URLs: malformed escapes and other hosts are refused, never thrown', () => {
    expect(mediaIdOf('media://video/clip-1a2b3c4d')).toBe('clip-1a2b3c4d');
    expect(mediaIdOf('media://video/Z%C3%B6e-1a2b3c4d')).toBe('Zöe-1a2b3c4d');
    expect(mediaIdOf('media://video/%E0%A4%A')).toBeUndefined();
    expect(mediaIdOf('media://video/a%2Fb')).toBeUndefined();
    expect(mediaIdOf('media://other/x')).toBeUndefined();
    expect(mediaIdOf('not a url')).toBeUndefined();
    expect(appPathOf('app://bundle/assets/x.js')).toBe('/assets/x.js');
    expect(appPathOf('app://elsewhere/x')).toBeUndefined();
  });

  it('only the app\'s own pages may call the API or be redirected to', () => {
    expect(isAppPage('app://bundle/index.html')).toBe(true);
    for (const bad of ['app://bundle.evil/index.html', 'https://bundle/', 'file:///app/bundle', 'media://video/x', '', undefined]) expect(isAppPage(bad)).toBe(false);
  });

  it('folders chosen in dialogs are kept between sessions; a damaged list only means asking again', () => {
    const dir = freshDir('grants');
    const file = path.join(dir, 'allowed-folders.json');
    const g = new GrantedFolders(file);
    expect(g.load()).toEqual([]);
    g.add(dir);
    expect(new GrantedFolders(file).load()).toEqual([dir]);
    writeFileSync(file, '["/x", ');
    expect(g.load()).toEqual([]);
  });
});

describe('paths from requests stay inside', () => {
  it('ids are names, never paths', () => {
    for (const ok of ['clip-1a2b3c4d', 'Zoë_3.take-2', '20261130-ab12']) expect(isSafeId(ok)).toBe(true);
    for (const bad of ['..', '.', '../../../secret', 'a/b', 'a\\b', '.hidden', '', 'x\0y', 'a b']) expect(isSafeId(bad)).toBe(false);
    const runsGet = Requests['runs.get'].safeParse({ runId: '../../../secret' });
    expect(runsGet.success).toBe(false);
    expect(Requests['train.start'].safeParse({ preset: 'laptop-gru', name: '..' }).success).toBe(false);
    expect(Requests['annotations.load'].safeParse({ videoId: 'v', annotator: '..' }).success).toBe(false);
    const root = freshDir('store');
    expect(() => pathInside(root, 'run id', '..')).toThrow(/invalid run id/);
    expect(() => pathInside(root, 'run id', 'a', '../../x')).toThrow(/invalid run id/);
    expect(pathInside(root, 'run id', 'a', 'b')).toBe(path.join(root, 'a', 'b'));
  });

  it('roots: links cannot lead out, new folders under a root are fine, the rest is refused with the file named', () => {
    const base = freshDir('roots');
    const inside = path.join(base, 'allowed');
    const outside = path.join(base, 'secret');
    mkdirSync(inside);
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'key.txt'), 'x');
    symlinkSync(outside, path.join(inside, 'link'));
    const roots = new PathRoots([inside], 'start with --root');
    expect(roots.check(path.join(inside, 'new', 'out'), 'output folder')).toBe(path.join(inside, 'new', 'out'));
    expect(() => roots.check(path.join(inside, 'link', 'key.txt'), 'video')).toThrow(/the video is outside the folders this session may use/);
    expect(() => roots.check(path.join(inside, '..', 'secret'), 'folder')).toThrow(/outside/);
    expect(() => roots.check('/etc/passwd', 'video')).toThrow(/outside/);
    expect(roots.allows(inside)).toBe(true);
    expect(roots.rootOf(path.join(inside, 'a'))).toBe(inside);
    roots.grant(outside);
    expect(roots.allows(path.join(inside, 'link', 'key.txt'))).toBe(true);
  });
});

describe('output names never collide', () => {
  it('same stem in one folder, in two folders, differing in case, or taken by an earlier run: distinct names, said why', () => {
    const v = assignStems(['/d/clip.mp4', '/d/clip.mov', '/e/clip.mp4', '/d/other.mp4', '/d/Other.MKV', '/d/solo.mp4']);
    const stems = v.map((x) => x.stem.toLowerCase());
    expect(new Set(stems).size).toBe(v.length);
    expect(v.find((x) => x.file === '/d/solo.mp4')).toEqual({ file: '/d/solo.mp4', stem: 'solo' });
    for (const x of v.filter((y) => !y.file.endsWith('solo.mp4'))) {
      expect(x.stem).toMatch(/^(clip|other|Other)-[0-9a-f]{6}$/);
      expect(x.renamed).toMatch(/another input is also named/);
    }
    // a generated name never equals another input's own name
    const tricky = assignStems(['/a/x.mp4', '/b/x.mp4', `/c/x-${assignStems(['/a/x.mp4', '/b/x.mp4'])[0].stem.slice(2)}.mp4`]);
    expect(new Set(tricky.map((x) => x.stem)).size).toBe(3);
    const later = assignStems(['/new/clip.mp4'], ['clip']);
    expect(later[0].stem).not.toBe('clip');
    expect(later[0].renamed).toMatch(/earlier run/);
  });
});
