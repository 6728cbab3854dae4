/**
 * Web mode: the same UI and API as the desktop app, over HTTP + WebSocket, for lab servers without
 * a display. Bound to loopback by default; every route needs the per-session token, given once in
 * the printed URL (as Jupyter does) and then kept in an HttpOnly cookie. Threat model: docs/app.md.
 *
 * No request may take the server down: each is answered inside a guard (a malformed one gets a
 * 4xx), and what the request guard checks (request-guard.ts) comes before any route.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeError } from '../../common/errors.js';
import type { ApiService } from '../api/service.js';
import { mediaResponse, wantsPlaybackCopy } from '../api/media.js';
import { answerCall, safeDecode, SECURITY_HEADERS, staticFile } from '../api/transport.js';
import { crossOriginReason, foreignLoadReason, hostAllowed, hostPolicy, isJsonContentType, requestTarget, type HostPolicy } from './request-guard.js';

export interface WebServerOptions {
  service: ApiService;
  staticDir: string;
  host?: string;
  port?: number;
  token?: string;
  /** Host names besides loopback this server answers to (`serve --allow-host`). */
  allowHosts?: string[];
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** The largest API request body (a batch of annotation edits is far smaller). */
export const MAX_BODY_BYTES = 16 << 20;

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: http.IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name) return v;
  }
  return undefined;
}

/**
 * Where the token redirect goes: the same path and query (a deep link such as `?video=/data/clip.mp4`
 * survives), minus the token. Always a path on this server: leading slashes are collapsed, so a
 * path like `//other.host` cannot turn the redirect into one to another site.
 */
export function withoutToken(url: URL): string {
  const params = new URLSearchParams(url.search);
  params.delete('token');
  const query = params.toString();
  return `${url.pathname.replace(/^\/+/, '/')}${query ? `?${query}` : ''}`;
}

/** A bare HTTP answer on a raw socket (client errors, refused upgrades), then the socket is closed. */
function refuseSocket(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

export async function startWebServer(options: WebServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const { service } = options;
  let policy: HostPolicy = hostPolicy(host, options.port ?? 0, options.allowHosts);
  // cookies ignore ports: one name per server, so two servers on one machine do not evict each other
  let cookie = 'affect_studio_token';

  const authorised = (req: http.IncomingMessage, url: URL): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return sameToken(bearer, token) || sameToken(cookieToken(req, cookie), token) || sameToken(url.searchParams.get('token'), token);
  };

  const json = (res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...extra });
    res.end(JSON.stringify(body));
  };

  const serveStatic = (res: http.ServerResponse, pathname: string, head: boolean) => {
    const r = staticFile(options.staticDir, pathname);
    if (r.status !== 200) return json(res, r.status, { error: r.error });
    const stream = createReadStream(r.file);
    stream.on('error', () => json(res, 404, { error: 'not found' }));
    stream.once('open', () => {
      res.writeHead(200, r.headers);
      if (head) {
        stream.destroy();
        res.end();
      } else stream.pipe(res);
    });
  };

  const serveMedia = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const id = safeDecode(url.pathname.slice(7));
    // `?copy=1`: the playback copy made for browsers that cannot decode the original
    const copy = wantsPlaybackCopy(url);
    const file = id === undefined ? undefined : copy ? service.playbackCopyFile(id) : service.mediaFile(id);
    if (!file) return json(res, 404, { error: copy ? 'no playback copy of an opened video' : 'not an opened video' });
    let r;
    try {
      r = mediaResponse(file, req.headers.range);
    } catch {
      return json(res, 404, { error: 'the video is no longer there' });
    }
    res.writeHead(r.status, { ...r.headers, ...SECURITY_HEADERS });
    if (r.body && req.method !== 'HEAD') {
      r.body.on('error', () => res.destroy());
      r.body.pipe(res);
    } else {
      r.body?.destroy();
      res.end();
    }
  };

  const callApi = (req: http.IncomingMessage, res: http.ServerResponse, method: string) => {
    if (req.method !== 'POST') return json(res, 405, { error: 'use POST' }, { Allow: 'POST' });
    const refused = crossOriginReason(req.headers, policy);
    if (refused) return json(res, 403, { error: refused });
    if (!isJsonContentType(req.headers['content-type'])) {
      return json(res, 415, { error: 'API calls must send Content-Type: application/json' });
    }
    // an oversized body is answered 413 at once and the rest read and dropped (a client that is
    // still sending could not read the answer if the connection were cut); past 4× the limit, cut
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const refuseSize = () => {
      tooLarge = true;
      chunks.length = 0;
      json(res, 413, { error: `request body over ${MAX_BODY_BYTES >> 20} MiB` });
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) refuseSize();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (tooLarge) {
        if (size > 4 * MAX_BODY_BYTES) req.destroy();
        return;
      }
      if (size > MAX_BODY_BYTES) refuseSize();
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) return;
      let args: unknown;
      try {
        args = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        return json(res, 400, { error: 'request body is not JSON' });
      }
      answerCall(service, method, args).then(
        (answer) => (answer.ok ? json(res, 200, answer.value) : json(res, answer.status, answer.error)),
        (err: unknown) => json(res, 500, { error: `internal error: ${describeError(err)}` }),
      );
    });
  };

  const route = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = requestTarget(req.url);
    if (!url) return json(res, 400, { error: 'malformed request target' });
    if (!hostAllowed(req.headers.host, policy)) return json(res, 403, { error: 'unexpected Host header' });
    if (!authorised(req, url)) {
      return json(res, 401, { error: 'missing or wrong token: open the URL printed by `affect-studio serve` (it ends in ?token=…)' });
    }
    if (url.pathname.startsWith('/api/')) return callApi(req, res, url.pathname.slice(5));
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'use GET' }, { Allow: 'GET, HEAD' });
    const foreign = foreignLoadReason(req.headers);
    if (foreign) return json(res, 403, { error: foreign });
    if (url.searchParams.has('token')) {
      // keep the token in a cookie, and out of the address bar and history
      res.writeHead(302, { 'Set-Cookie': `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`, Location: withoutToken(url), ...SECURITY_HEADERS });
      return res.end();
    }
    if (url.pathname.startsWith('/media/')) return serveMedia(req, res, url);
    serveStatic(res, url.pathname, req.method === 'HEAD');
  };

  const server = http.createServer((req, res) => {
    // nothing a request does may escape into the event loop: that would stop the server
    req.on('error', () => res.destroy());
    res.on('error', () => res.destroy());
    try {
      route(req, res);
    } catch (err) {
      console.error(err);
      json(res, 500, { error: `internal error: ${describeError(err)}`, hint: 'this is a bug; the server log has the details' });
    }
  });

  // the server never reads what the page sends on the socket: a small limit keeps floods out
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = requestTarget(req.url);
      if (!url || url.pathname !== '/events') return refuseSocket(socket, 404, 'Not Found');
      if (!hostAllowed(req.headers.host, policy)) return refuseSocket(socket, 403, 'Forbidden');
      if (crossOriginReason(req.headers, policy)) return refuseSocket(socket, 403, 'Forbidden');
      if (!authorised(req, url)) return refuseSocket(socket, 401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        ws.on('error', () => ws.terminate());
        ws.on('close', () => sockets.delete(ws));
      });
    } catch (err) {
      console.error(err);
      refuseSocket(socket, 400, 'Bad Request');
    }
  });
  const unsubscribe = service.on((name, payload) => {
    const msg = JSON.stringify({ event: name, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(msg);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  policy = hostPolicy(host, port, options.allowHosts);
  cookie = `affect_studio_token_${port}`;
  // the printed address must be one the Host check accepts
  const wildcard = ['0.0.0.0', '::'].includes(host);
  const shownHost = wildcard ? (options.allowHosts?.[0] ?? '127.0.0.1') : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      service.close();
    },
  };
}
