/**
 * The UI's only way to the engine. In the desktop app the preload exposes `window.affectStudio`
 * (Electron IPC); in a browser the same calls go over HTTP, and events over a WebSocket.
 */
import type { ApiErrorBody, EventName, Events, Method, RequestOf, Responses } from '../../../electron/api/contract.js';
import { setConnection } from './connection.svelte.js';

export interface Bridge {
  invoke(method: string, args: unknown): Promise<unknown>;
  on(listener: (event: string, payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    affectStudio?: Bridge;
  }
}

export class ApiError extends Error {
  constructor(readonly body: ApiErrorBody) {
    super(body.error);
  }
  /** One line for the user: what, where, and what to do. */
  get text(): string {
    return `${this.body.file ? `${this.body.file}: ` : ''}${this.body.error}${this.body.hint ? ` — ${this.body.hint}` : ''}`;
  }
}

/** A request still unanswered after this long turns the banner to "not responding". */
const SLOW_MS = 10_000;
/** How often web mode checks that the server is there and still knows us. */
const HEARTBEAT_MS = 10_000;

function webBridge(): Bridge {
  const listeners = new Set<(event: string, payload: unknown) => void>();
  let retry = 1000;
  const connect = () => {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/events`);
    socket.onopen = () => (retry = 1000);
    socket.onmessage = (m) => {
      const { event, payload } = JSON.parse(m.data as string) as { event: string; payload: unknown };
      for (const l of listeners) l(event, payload);
    };
    // back off while the server is away; the heartbeat tells the user why
    socket.onclose = () => {
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30_000);
    };
  };
  connect();

  const post = async (method: string, args: unknown): Promise<Response> => {
    const slow = setTimeout(() => setConnection('slow', method), SLOW_MS);
    try {
      const res = await fetch(`/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(args ?? {}), credentials: 'same-origin' });
      setConnection(res.status === 401 ? 'unauthorized' : 'ok');
      return res;
    } catch (err) {
      setConnection('unreachable', (err as Error).message);
      throw new ApiError({ error: 'the Affect Studio server cannot be reached', hint: 'is `affect-studio serve` still running? Start it again and open the URL it prints' });
    } finally {
      clearTimeout(slow);
    }
  };
  setInterval(() => void post('app.info', {}).catch(() => undefined), HEARTBEAT_MS);

  return {
    async invoke(method, args) {
      const res = await post(method, args);
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new ApiError({ error: `the server answered ${res.status} without a readable body` });
      }
      if (!res.ok) throw new ApiError(body as ApiErrorBody);
      return body;
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const bridge: Bridge = typeof window !== 'undefined' && window.affectStudio ? window.affectStudio : webBridge();

export async function call<M extends Method>(method: M, args: RequestOf<M> = {} as RequestOf<M>): Promise<Responses[M]> {
  try {
    return (await bridge.invoke(method, args)) as Responses[M];
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // Electron rejects with a plain Error whose message carries the JSON body
    const text = (err as Error).message;
    const json = /\{.*\}$/s.exec(text)?.[0];
    if (json) {
      try {
        throw new ApiError(JSON.parse(json) as ApiErrorBody);
      } catch (e) {
        if (e instanceof ApiError) throw e;
      }
    }
    throw new ApiError({ error: text });
  }
}

export function onEvent<E extends EventName>(name: E, fn: (payload: Events[E]) => void): () => void {
  return bridge.on((event, payload) => {
    if (event === name) fn(payload as Events[E]);
  });
}

export const isDesktop = (): boolean => typeof window !== 'undefined' && !!window.affectStudio;
