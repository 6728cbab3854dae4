/**
 * What the web server checks before a request reaches a route, as plain functions (so they can be
 * tested without a server):
 * - the request target is an origin-form path (`/x?y`), never an absolute URL or garbage;
 * - the Host header names this server (DNS rebinding), also when it listens beyond loopback;
 * - requests that change state (API calls, the events WebSocket) come from this server's own pages:
 *   `Origin` must be one of its origins and `Sec-Fetch-Site` (when the browser sends it) must be
 *   same-origin. Ports do not separate sites: a page on 127.0.0.1:other is "same-site" and gets
 *   the SameSite=Strict cookie, so the cookie alone proves nothing;
 * - other requests (pages, media) refuse subresource loads from other origins (Fetch Metadata
 *   resource isolation); navigations are allowed, as they cannot read the answer.
 * Clients that are not browsers send neither header: they still need the token.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface HostPolicy {
  /** Host names (no port) this server answers to, lower case; IPv6 in brackets. */
  names: Set<string>;
  port: number;
}

/** The names a server answers to: loopback, the address it listens on (unless a wildcard) and `--allow-host` names. */
export function hostPolicy(listenHost: string, port: number, allowHosts: string[] = []): HostPolicy {
  const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  const names = new Set(LOOPBACK_NAMES);
  if (!['0.0.0.0', '::', '[::]'].includes(listenHost)) names.add(bracket(listenHost.toLowerCase()));
  for (const h of allowHosts) names.add(bracket(h.trim().toLowerCase()));
  return { names, port };
}

/** `host[:port]` → its parts; undefined when it is not a plain host (userinfo, paths, junk). */
export function parseHostHeader(value: string | undefined): { name: string; port: number } | undefined {
  if (!value) return undefined;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  return { name: m[1].toLowerCase(), port: m[2] === undefined ? 80 : Number(m[2]) };
}

export function hostAllowed(hostHeader: string | undefined, policy: HostPolicy): boolean {
  const h = parseHostHeader(hostHeader);
  return !!h && h.port === policy.port && policy.names.has(h.name);
}

/** True when `origin` (an Origin header) is one of this server's own origins. */
export function isOwnOrigin(origin: string, policy: HostPolicy): boolean {
  const m = /^http:\/\/([^/?#]+)$/i.exec(origin.trim());
  return !!m && hostAllowed(m[1], policy);
}

/**
 * Why a state-changing request (API call, WebSocket upgrade) is refused as cross-origin, or
 * undefined when it may proceed.
 */
export function crossOriginReason(headers: IncomingHttpHeaders, policy: HostPolicy): string | undefined {
  const origin = headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, policy)) return `requests from ${origin === 'null' ? 'an opaque origin' : origin} are not accepted`;
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `cross-origin requests are not accepted (Sec-Fetch-Site: ${site})`;
  return undefined;
}

/** Why a read (page, script, video) is refused as a subresource of another origin's page, or undefined. */
export function foreignLoadReason(headers: IncomingHttpHeaders): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return undefined;
  const navigation = headers['sec-fetch-mode'] === 'navigate' && (headers['sec-fetch-dest'] ?? 'document') === 'document';
  return navigation ? undefined : `loading this from another site's page is not allowed (Sec-Fetch-Site: ${site})`;
}

/**
 * The request target as a URL, for origin-form targets only (`/path?query`); undefined for
 * absolute URLs, `*`, or anything that does not parse.
 */
export function requestTarget(raw: string | undefined): URL | undefined {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//')) return undefined;
  try {
    return new URL(raw, 'http://server.invalid');
  } catch {
    return undefined;
  }
}

/** Only JSON bodies are API calls: HTML forms and no-cors fetches cannot send this type. */
export function isJsonContentType(value: string | undefined): boolean {
  return !!value && /^application\/json\s*(;|$)/i.test(value.trim());
}
