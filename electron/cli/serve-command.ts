/**
 * `affect-studio serve`: the desktop app's UI in a browser, for machines without a display.
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { dataRoot } from '../../common/node/storage.js';
import { ApiService } from '../api/service.js';
import { EXECUTION_PROVIDERS, type ExecutionProviderChoice } from '../engine/onnx/sessions.js';
import { resolveVideoTools } from '../engine/video/binaries.js';
import { packageRoot } from '../../common/node/version.js';
import { startWebServer } from '../server/web-server.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0 picks a free one)');
  return n;
}

export const defaultProjectDir = (): string => path.join(dataRoot(), 'projects', 'default');

export function serveCommand(): Command {
  return new Command('serve')
    .description('Serve the Affect Studio UI over HTTP for a browser (lab servers without a display).')
    .addHelpText('after', '\nPrints the URL to open, with its per-session token (http://127.0.0.1:PORT/?token=…). Without the token\n' +
      'every route answers 401. Bound to loopback unless --host says otherwise: to reach it from another\n' +
      'machine, prefer an SSH tunnel (ssh -L PORT:127.0.0.1:PORT server) to --host 0.0.0.0.')
    .option('--port <n>', 'port (0: any free port)', port, 8765)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--project <dir>', 'project folder (runs, annotations, batch queue)', defaultProjectDir())
    .addOption(new Option('--ep <provider>', 'where models run').choices([...EXECUTION_PROVIDERS]).default('auto'))
    .option('--cache <dir>', 'feature cache folder')
    .action(async (flags: { port: number; host: string; project: string; ep: string; cache?: string }) => {
      const service = new ApiService({
        projectDir: path.resolve(flags.project),
        mode: 'web',
        mediaUrl: (id) => `/media/${encodeURIComponent(id)}`,
        tools: resolveVideoTools(),
        engine: { provider: flags.ep as ExecutionProviderChoice, cacheDir: flags.cache ? path.resolve(flags.cache) : undefined },
      });
      const server = await startWebServer({ service, staticDir: path.join(packageRoot(), 'dist', 'renderer'), host: flags.host, port: flags.port });
      process.stdout.write(`Affect Studio is running. Open this URL in a browser:\n\n    ${server.url}\n\nProject: ${path.resolve(flags.project)}\nPress Ctrl+C to stop.\n`);
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
