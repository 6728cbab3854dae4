/**
 * The only bridge between the sandboxed page and the main process: two functions, no Node, no
 * Electron objects. Every call goes through the one validated API channel.
 */
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('affectStudio', {
  async invoke(method: string, args: unknown): Promise<unknown> {
    const r = (await ipcRenderer.invoke('api', String(method), args ?? {})) as { ok: boolean; value?: unknown; error?: unknown };
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  },
  on(listener: (event: string, payload: unknown) => void): () => void {
    const handler = (_e: unknown, event: string, payload: unknown) => listener(event, payload);
    ipcRenderer.on('event', handler);
    return () => ipcRenderer.removeListener('event', handler);
  },
});
