/**
 * The desktop shell: one window on the renderer, the API over IPC, the media protocol, menus.
 * Security defaults: context isolation, sandboxed renderer without Node, a strict CSP, no
 * navigation, redirects or new windows, no permissions, no DevTools in packaged builds, every IPC
 * request validated by the API service, media served only for videos the user opened, and files
 * reachable only under folders the user chose in a native dialog (PathRoots).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, shell, type MenuItemConstructorOptions } from 'electron';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dataRoot, writeFileAtomic } from '../../common/node/storage.js';
import { ApiService } from '../api/service.js';
import { mediaResponse, wantsPlaybackCopy } from '../api/media.js';
import { answerCall, CONTENT_SECURITY_POLICY, SECURITY_HEADERS, staticFile } from '../api/transport.js';
import { PathRoots } from '../api/path-roots.js';
import { appPathOf, GrantedFolders, isAppPage, mediaIdOf } from './shell-guards.js';
import { VIDEO_EXTENSIONS } from '../engine/jobs/inputs.js';
import { packageRoot } from '../../common/node/version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RENDERER = path.join(packageRoot(), 'dist', 'renderer');
const recentFile = () => path.join(dataRoot(), 'recent-projects.json');
const granted = new GrantedFolders(path.join(dataRoot(), 'allowed-folders.json'));
const ALLOW_HINT = 'choose it with File → Allow Folder… (or File → Open Video…)';

// app://bundle/… serves the UI (a real origin for the CSP's 'self'); media://video/<id> the videos
protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: 'media', privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true } },
]);

let win: BrowserWindow | undefined;
let service: ApiService;
let roots: PathRoots;

/** What the user picked in a native dialog becomes reachable, now and in later sessions. */
function grant(p: string): void {
  roots.grant(p);
  try {
    granted.add(p);
  } catch (err) {
    console.error(err); // allowed for this session only
  }
}

function recentProjects(): string[] {
  try {
    return (JSON.parse(readFileSync(recentFile(), 'utf8')) as string[]).filter((p) => existsSync(p));
  } catch {
    return [];
  }
}

function openProject(dir: string): void {
  service?.close();
  roots = new PathRoots(granted.load(), ALLOW_HINT);
  service = new ApiService({
    projectDir: dir,
    mode: 'electron',
    mediaUrl: (id) => `media://video/${encodeURIComponent(id)}`,
    roots,
    hooks: {
      openVideo: async () => {
        const r = await dialog.showOpenDialog(win as BrowserWindow, { properties: ['openFile'], filters: [{ name: 'Videos', extensions: [...VIDEO_EXTENSIONS].map((e) => e.slice(1)) }] });
        if (r.canceled || !r.filePaths[0]) return null;
        grant(r.filePaths[0]);
        app.addRecentDocument(r.filePaths[0]);
        return r.filePaths[0];
      },
      openFolder: async () => {
        const r = await dialog.showOpenDialog(win as BrowserWindow, { properties: ['openDirectory'] });
        if (r.canceled || !r.filePaths[0]) return null;
        grant(r.filePaths[0]);
        return r.filePaths[0];
      },
    },
  });
  for (const p of service.problems()) void dialog.showMessageBox({ type: 'warning', message: 'Part of the project could not be read', detail: p });
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
        { label: 'Allow Folder…', click: async () => {
          // the UI may only name files under folders chosen here (or opened through a dialog)
          const r = await dialog.showOpenDialog(win as BrowserWindow, { title: 'Allow Affect Studio to use a folder', properties: ['openDirectory', 'createDirectory'] });
          if (!r.canceled && r.filePaths[0]) grant(r.filePaths[0]);
        } },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'reload' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]), { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
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

// every answer of the app's protocols carries the CSP as a header, not only the page's meta tag
const PROTOCOL_HEADERS = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, ...SECURITY_HEADERS };
const refuse = (status: number, text: string) => new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...PROTOCOL_HEADERS } });

function serveFile(root: string, url: string): Response {
  const pathname = appPathOf(url);
  if (pathname === undefined) return refuse(404, 'not found');
  const r = staticFile(root, pathname);
  if (r.status !== 200) return refuse(r.status, r.error);
  return new Response(readFileSync(r.file), { headers: r.headers });
}

function serveMedia(req: Request): Response {
  const id = mediaIdOf(req.url);
  // `?copy=1`: the playback copy made for browsers that cannot decode the original
  const copy = wantsPlaybackCopy(new URL(req.url));
  const file = id === undefined ? undefined : copy ? service.playbackCopyFile(id) : service.mediaFile(id);
  if (!file) return refuse(404, copy ? 'no playback copy of an opened video' : 'not an opened video');
  const r = mediaResponse(file, req.headers.get('range') ?? undefined);
  return new Response(r.body ? (Readable.toWeb(r.body) as ReadableStream) : null, { status: r.status, headers: { ...r.headers, ...PROTOCOL_HEADERS } });
}

/** A protocol handler that answers every request, however malformed: a throw here would reach no one. */
const guarded = (handle: (req: Request) => Response) => (req: Request): Response => {
  try {
    return handle(req);
  } catch (err) {
    console.error(err);
    return refuse(400, 'bad request');
  }
};

app.on('web-contents-created', (_e, contents) => {
  // no embedded pages, no new windows, no navigation or redirect away from the app, in any web contents
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e, url) => {
    if (!isAppPage(url)) e.preventDefault();
  });
});

app.whenReady().then(() => {
  protocol.handle('app', guarded((req) => serveFile(RENDERER, req.url)));
  protocol.handle('media', guarded(serveMedia));

  ipcMain.handle('api', async (event, method: unknown, args: unknown) => {
    // only our own page may call, and only with a method name and a plain object
    if (!isAppPage(event.senderFrame?.url)) return { ok: false, error: { error: 'request from an unknown page' } };
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
      devTools: !app.isPackaged,
    },
  });
  win.webContents.session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  win.webContents.session.setPermissionCheckHandler(() => false);

  openProject(recentProjects()[0] ?? path.join(dataRoot(), 'projects', 'default'));
  void win.loadURL('app://bundle/index.html');
});

app.on('window-all-closed', () => {
  service?.close();
  app.quit();
});
