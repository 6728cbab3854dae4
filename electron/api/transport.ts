/**
 * What both transports (web server and Electron shell) do alike: call the API and turn its errors
 * into what the UI shows, serve the UI's static files, and the security headers of every answer.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeError, UserError } from '../../common/errors.js';
import type { ApiErrorBody } from './contract.js';
import type { ApiService } from './service.js';

/** The pages' Content-Security-Policy: only this origin's scripts; no inline scripts, no plugins, no framing. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:", "media-src 'self' blob:",
  "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cross-Origin-Opener-Policy': 'same-origin' };

export type ApiAnswer = { ok: true; value: unknown } | { ok: false; status: 400 | 500; error: ApiErrorBody };

/**
 * Calls an API method. A UserError is the caller's to fix (400, with its hint and file); anything
 * else is a bug, logged with its stack and reported as such (500).
 */
export async function answerCall(service: ApiService, method: string, args: unknown): Promise<ApiAnswer> {
  try {
    return { ok: true, value: await service.call(method, args) };
  } catch (err) {
    if (err instanceof UserError) return { ok: false, status: 400, error: { error: err.message, hint: err.hint, file: err.file } };
    console.error(err);
    return { ok: false, status: 500, error: { error: `internal error: ${describeError(err)}`, hint: 'this is a bug; the server log has the details' } };
  }
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.map': 'application/json', '.woff2': 'font/woff2',
};

/** decodeURIComponent without throwing: undefined for malformed escapes (`%E0%A4%A`) and NUL. */
export function safeDecode(s: string): string | undefined {
  let out: string;
  try {
    out = decodeURIComponent(s);
  } catch {
    return undefined;
  }
  return out.includes('\0') ? undefined : out;
}

export type StaticAnswer = { status: 200; file: string; headers: Record<string, string> } | { status: 404 | 500; error: string };

/**
 * The UI file for a URL path under `root`: paths that do not decode, or that resolve outside the
 * root, are not found; unknown paths get index.html (the UI routes itself).
 */
export function staticFile(root: string, urlPath: string): StaticAnswer {
  const base = path.resolve(root);
  const decoded = safeDecode(urlPath);
  if (decoded === undefined) return { status: 404, error: 'not found' };
  const file = path.resolve(base, `.${decoded === '/' ? '/index.html' : decoded}`);
  if (!file.startsWith(base + path.sep)) return { status: 404, error: 'not found' };
  const target = existsSync(file) && statSync(file).isFile() ? file : path.join(base, 'index.html');
  if (!existsSync(target)) return { status: 500, error: `the UI is not built (${base}); run \`npm run build\`` };
  const headers = { 'Content-Type': STATIC_TYPES[path.extname(target)] ?? 'application/octet-stream', 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS };
  return { status: 200, file: target, headers };
}
