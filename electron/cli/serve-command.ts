/**
 * `affect-studio serve`: the desktop app's UI in a browser, for machines without a display.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { dataRoot } from '../../common/node/storage.js';
import { ApiService } from '../api/service.js';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../engine/onnx/sessions.js';
import { resolveVideoTools } from '../engine/video/binaries.js';
import { packageRoot } from '../../common/node/version.js';
import { startWebServer } from '../server/web-server.js';
import { isLoopback } from '../server/request-guard.js';
import { PathRoots } from '../api/path-roots.js';
import { UserError } from '../../common/errors.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0 picks a free one)');
  return n;
}

export const defaultProjectDir = (): string => path.join(dataRoot(), 'projects', 'default');

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function hostName(value: string): string {
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/i.test(value)) throw new InvalidArgumentError('expected a host name or address, without port or scheme (e.g. labserver.example.org)');
  return value;
}

/** The folders a browser may reach: each must exist; none given means the user's home folder. */
function rootFolders(given: string[] | undefined): string[] {
  const roots = given?.length ? given : [os.homedir()];
  return roots.map((r) => {
    const abs = path.resolve(r);
    let dir = false;
    try {
      dir = statSync(abs).isDirectory();
    } catch {
      /* reported below */
    }
    if (!dir) throw new UserError('--root is not an existing folder', 'give folders that exist', abs);
    return abs;
  });
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('Serve the Affect Studio UI over HTTP for a browser (lab servers without a display).')
    .addHelpText('after', '\nPrints the URL to open, with its per-session token (http://127.0.0.1:PORT/?token=…). Without the token\n' +
      'every route answers 401. Videos, imports and output folders must lie under a --root (default: your home\n' +
      'folder). Bound to loopback unless --host says otherwise: to reach it from another machine, prefer an SSH\n' +
      'tunnel (ssh -L PORT:127.0.0.1:PORT server, then open the URL on your machine) to --host 0.0.0.0, which\n' +
      'serves plain HTTP (token in clear) to every network this machine is on. Security model: docs/app.md.')
    .option('--port <n>', 'port (0: any free port)', port, 8765)
    .option('--host <address>', 'address to listen on (anything but loopback prints a warning; see --allow-host)', '127.0.0.1')
    .option('--allow-host <name>', 'a host name browsers use to reach this server besides localhost (repeat; needed with --host)', (v: string, prev?: string[]) => collect(hostName(v), prev))
    .option('--root <dir>', 'a folder whose videos and subfolders the browser may use (repeat; default: your home folder)', collect)
    .option('--project <dir>', 'project folder (runs, annotations, batch queue)', defaultProjectDir())
    .addOption(new Option('--ep <provider>', 'where models run').choices([...EXECUTION_PROVIDERS]).default('auto'))
    .option('--cache <dir>', 'feature cache folder')
    .action(async (flags: { port: number; host: string; allowHost?: string[]; root?: string[]; project: string; ep: string; cache?: string }) => {
      const roots = new PathRoots(rootFolders(flags.root), 'start `affect-studio serve` with --root <folder> to allow it');
      const service = new ApiService({
        projectDir: path.resolve(flags.project),
        mode: 'web',
        mediaUrl: (id) => `/media/${encodeURIComponent(id)}`,
        tools: resolveVideoTools(),
        roots,
        engine: { provider: flags.ep as ExecutionProviderChoice, cacheDir: flags.cache ? path.resolve(flags.cache) : undefined },
      });
      if (!isLoopback(flags.host)) {
        process.stderr.write(`WARNING: --host ${flags.host} listens beyond this machine, over plain HTTP: the token and everything the UI shows\n` +
          '  travel unencrypted, and anyone who can reach this port can try it. Prefer an SSH tunnel:\n' +
          `    ssh -L ${flags.port || 8765}:127.0.0.1:${flags.port || 8765} ${os.hostname()}   (then open the URL below on your own machine)\n` +
          (flags.allowHost?.length ? `  Browsers may reach it as: ${flags.allowHost.join(', ')} (and localhost).\n`
            : '  Only localhost names are accepted in the Host header: add --allow-host <name> for the name browsers use.\n'));
      }
      const server = await startWebServer({ service, staticDir: path.join(packageRoot(), 'dist', 'renderer'), host: flags.host, port: flags.port, allowHosts: flags.allowHost });
      process.stdout.write(`Affect Studio is running. Open this URL in a browser:\n\n    ${server.url}\n\nProject: ${path.resolve(flags.project)}\nFolders the browser may use: ${roots.list().join(', ')}\nPress Ctrl+C to stop.\n`);
      for (const p of service.problems()) process.stderr.write(`warning: ${p}\n`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
