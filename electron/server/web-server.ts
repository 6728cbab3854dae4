/**
 * Web mode: the same UI and API as the desktop app, over HTTP + WebSocket, for lab servers without
 * a display. Bound to loopback by default; every route needs the per-session token, given once in
 * the printed URL (as Jupyter does) and then kept in an HttpOnly cookie.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiService } from '../api/service.js';
import { mediaResponse, wantsPlaybackCopy } from '../api/media.js';
import { answerCall, SECURITY_HEADERS, staticFile } from '../api/transport.js';

export interface WebServerOptions {
  service: ApiService;
  staticDir: string;
  host?: string;
  port?: number;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'affect_studio_token';
function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE) return v;
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

export async function startWebServer(options: WebServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const { service } = options;
  let port = options.port ?? 0;

  const authorised = (req: http.IncomingMessage, url: URL): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return sameToken(bearer, token) || sameToken(cookieToken(req), token) || sameToken(url.searchParams.get('token'), token);
  };
  // A page on another site could point a victim's browser at localhost under its own name (DNS
  // rebinding): only requests addressed to this server's own host names are answered.
  const allowedHost = (req: http.IncomingMessage): boolean => {
    const h = (req.headers.host ?? '').toLowerCase();
    return [`${host}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(h) || host === '0.0.0.0' || host === '::';
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
    res.end(JSON.stringify(body));
  };

  const serveStatic = (res: http.ServerResponse, pathname: string) => {
    const r = staticFile(options.staticDir, pathname);
    if (r.status !== 200) return json(res, r.status, { error: r.error });
    res.writeHead(200, r.headers);
    createReadStream(r.file).pipe(res);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!allowedHost(req)) return json(res, 403, { error: 'unexpected Host header' });
    if (!authorised(req, url)) {
      return json(res, 401, { error: 'missing or wrong token: open the URL printed by `affect-studio serve` (it ends in ?token=…)' });
    }
    if (url.searchParams.has('token') && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
      // keep the token in a cookie, and out of the address bar and history
      res.writeHead(302, { 'Set-Cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`, Location: withoutToken(url), ...SECURITY_HEADERS });
      return res.end();
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return json(res, 405, { error: 'use POST' });
      const method = url.pathname.slice(5);
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 16 << 20) req.destroy();
        else chunks.push(c);
      });
      req.on('end', async () => {
        let args: unknown;
        try {
          args = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        } catch {
          return json(res, 400, { error: 'request body is not JSON' });
        }
        const answer = await answerCall(service, method, args);
        if (answer.ok) json(res, 200, answer.value);
        else json(res, answer.status, answer.error);
      });
      return;
    }
    if (url.pathname.startsWith('/media/')) {
      const id = decodeURIComponent(url.pathname.slice(7));
      const copy = wantsPlaybackCopy(url);
      const file = copy ? service.playbackCopyFile(id) : service.mediaFile(id);
      if (!file) return json(res, 404, { error: copy ? 'no playback copy of an opened video' : 'not an opened video' });
      const r = mediaResponse(file, req.headers.range);
      res.writeHead(r.status, { ...r.headers, ...SECURITY_HEADERS });
      if (r.body) r.body.pipe(res);
      else res.end();
      return;
    }
    serveStatic(res, url.pathname);
  });

  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/events' || !allowedHost(req) || !authorised(req, url)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return socket.destroy();
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
    });
  });
  const unsubscribe = service.on((name, payload) => {
    const msg = JSON.stringify({ event: name, payload });
    for (const ws of sockets) ws.send(msg);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as { port: number }).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
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
