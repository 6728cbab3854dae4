/**
 * Whether the engine can be reached (web mode): a banner says so when the server is down, the
 * session token is no longer accepted, or a request has been waiting unusually long.
 */
export type ConnectionState = 'ok' | 'unreachable' | 'unauthorized' | 'slow';

export const connection = $state({ state: 'ok' as ConnectionState, detail: '' });

export function setConnection(state: ConnectionState, detail = ''): void {
  if (connection.state !== state || connection.detail !== detail) Object.assign(connection, { state, detail });
}
