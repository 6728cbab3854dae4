/**
 * The desktop shell: one window on the renderer, the API over IPC, the media protocol, menus.
 * Security defaults: context isolation, sandboxed renderer without Node, a strict CSP, no
 * navigation or new windows, every IPC request validated by the API service, and media served
 * only for videos the user opened.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, shell, type MenuItemConstructorOptions } from 'electron';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dataRoot, writeFileAtomic } from '../../common/node/storage.js';
import { ApiService } from '../api/service.js';
import { mediaResponse, wantsPlaybackCopy } from '../api/media.js';
import { answerCall, staticFile } from '../api/transport.js';
import { VIDEO_EXTENSIONS } from '../engine/jobs/inputs.js';
import { packageRoot } from '../../common/node/version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RENDERER = path.join(packageRoot(), 'dist', 'renderer');
const recentFile = () => path.join(dataRoot(), 'recent-projects.json');

// app://bundle/… serves the UI (a real origin for the CSP's 'self'); media://video/<id> the videos
protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: 'media', privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true } },
]);

let win: BrowserWindow | undefined;
let service: ApiService;

function recentProjects(): string[] {
  try {
    return (JSON.parse(readFileSync(recentFile(), 'utf8')) as string[]).filter((p) => existsSync(p));
  } catch {
    return [];
  }
}

function openProject(dir: string): void {
  service?.close();
  service = new ApiService({
    projectDir: dir,
    mode: 'electron',
    mediaUrl: (id) => `media://video/${encodeURIComponent(id)}`,
    hooks: {
      openVideo: async () => {
        const r = await dialog.showOpenDialog(win as BrowserWindow, { properties: ['openFile'], filters: [{ name: 'Videos', extensions: [...VIDEO_EXTENSIONS].map((e) => e.slice(1)) }] });
        if (r.canceled || !r.filePaths[0]) return null;
        app.addRecentDocument(r.filePaths[0]);
        return r.filePaths[0];
      },
      openFolder: async () => {
        const r = await dialog.showOpenDialog(win as BrowserWindow, { properties: ['openDirectory'] });
        return r.canceled ? null : (r.filePaths[0] ?? null);
      },
    },
  });
  service.on((name, payload) => win?.webContents.send('event', name, payload));
  writeFileAtomic(recentFile(), JSON.stringify([dir, ...recentProjects().filter((p) => p !== dir)].slice(0, 10)));
  buildMenu();
  win?.webContents.reload();
}

function buildMenu(): void {
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open Project…', accelerator: 'CmdOrCtrl+Shift+O', click: async () => {
          const r = await dialog.showOpenDialog(win as BrowserWindow, { properties: ['openDirectory', 'createDirectory'] });
          if (!r.canceled && r.filePaths[0]) openProject(r.filePaths[0]);
        } },
        { label: 'Open Recent Project', submenu: recentProjects().map((p) => ({ label: p, click: () => openProject(p) })) },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
    },
    {
      label: 'Help',
      submenu: [
        { label: 'Keyboard shortcuts', click: () => dialog.showMessageBox(win as BrowserWindow, { message: 'Keyboard shortcuts', detail: 'Space: play / pause\n← →: previous / next frame (Shift: one second)\n0–7: start / end an expression segment, Esc cancels\nCtrl+Z / Ctrl+Shift+Z: undo / redo\nWhile rating: arrow keys move the rating' }) },
        { label: 'Documentation', click: () => void shell.openPath(path.join(packageRoot(), 'docs')) },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function serveFile(root: string, pathname: string): Response {
  const r = staticFile(root, pathname);
  if (r.status !== 200) return new Response(r.error, { status: r.status });
  return new Response(readFileSync(r.file), { headers: r.headers });
}

app.whenReady().then(() => {
  protocol.handle('app', (req) => serveFile(RENDERER, new URL(req.url).pathname));
  protocol.handle('media', (req) => {
    const url = new URL(req.url);
    const id = decodeURIComponent(url.pathname.slice(1));
    const copy = wantsPlaybackCopy(url);
    const file = copy ? service.playbackCopyFile(id) : service.mediaFile(id);
    if (!file) return new Response(copy ? 'no playback copy of an opened video' : 'not an opened video', { status: 404 });
    const r = mediaResponse(file, req.headers.get('range') ?? undefined);
    return new Response(r.body ? (Readable.toWeb(r.body) as ReadableStream) : null, { status: r.status, headers: r.headers });
  });

  ipcMain.handle('api', async (event, method: unknown, args: unknown) => {
    // only our own page may call, and only with a method name and a plain object
    if (!event.senderFrame?.url.startsWith('app://bundle/')) return { ok: false, error: { error: 'request from an unknown page' } };
    if (typeof method !== 'string' || (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args)))) {
      return { ok: false, error: { error: 'malformed request' } };
    }
    const answer = await answerCall(service, method, args);
    return answer.ok ? answer : { ok: false, error: answer.error };
  });

  win = new BrowserWindow({
    width: 1400,
    height: 950,
    title: 'Affect Studio',
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  openProject(recentProjects()[0] ?? path.join(dataRoot(), 'projects', 'default'));
  void win.loadURL('app://bundle/index.html');
});

app.on('window-all-closed', () => {
  service?.close();
  app.quit();
});
