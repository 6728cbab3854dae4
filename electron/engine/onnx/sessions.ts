/**
 * The one place that creates ONNX Runtime sessions and decides where they run.
 *
 * `auto` tries the GPU providers that make sense on this platform and falls back to the CPU. A
 * provider that cannot start says so by throwing (WebGPU with no adapter, CUDA without its
 * libraries); that is caught, remembered, and the next candidate is tried. Every session records
 * the provider it actually runs on, so runs can report it.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { UserError } from '../../../common/errors.js';
import { GraphBuilder } from '../../../models/onnx/builder.js';
import { cacheRoot } from '../../../common/node/storage.js';
import { OptimizedModelCache } from './optimized-models.js';

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'webgpu', 'cuda', 'dml', 'coreml'] as const;
export type ExecutionProviderChoice = (typeof EXECUTION_PROVIDERS)[number];
export type ExecutionProvider = Exclude<ExecutionProviderChoice, 'auto'>;

/** GPU-first order per platform; CPU always last. */
export function autoProviderOrder(platform: NodeJS.Platform = process.platform): ExecutionProvider[] {
  if (platform === 'win32') return ['cuda', 'dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['cuda', 'webgpu', 'cpu'];
}

/**
 * onnxruntime-node ships CUDA support as a separate download (skipped by this project's .npmrc,
 * since offline machines cannot fetch it); trying it without the library only prints noise.
 */
function cudaInstalled(): boolean {
  try {
    const root = path.dirname(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(path.join(root, 'bin', 'napi-v6', process.platform, process.arch, lib));
  } catch {
    return false;
  }
}

/** Dawn (WebGPU) on Linux needs a Vulkan loader; without one it can only fail, noisily. */
function vulkanLoaderPresent(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64'];
  return dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

export interface ProviderAttempt {
  provider: ExecutionProvider;
  ok: boolean;
  error?: string;
}

export interface TensorOut {
  data: Float32Array;
  dims: number[];
}

export class ModelSession {
  constructor(
    readonly label: string,
    readonly provider: ExecutionProvider,
    private readonly session: ort.InferenceSession,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, { data: Float32Array; dims: number[] }>, outputs?: string[]): Promise<Record<string, TensorOut>> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', t.data, t.dims);
    const result = outputs ? await this.session.run(tensors, outputs) : await this.session.run(tensors);
    const out: Record<string, TensorOut> = {};
    for (const [name, t] of Object.entries(result)) out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export interface SessionFactoryOptions {
  provider?: ExecutionProviderChoice;
  /** Threads ONNX Runtime may use inside one operator (CPU). Default: all cores. */
  threads?: number;
  /** Candidates `auto` tries, in order, instead of the platform's (for tests and unusual machines). */
  autoOrder?: ExecutionProvider[];
  /** Folder of optimised CPU graphs (optimized-models.ts); false: optimise at every start. Default: in the cache folder. */
  optimizedModels?: string | false;
}

export class SessionFactory {
  readonly requested: ExecutionProviderChoice;
  /** Every provider tried, in order, with why it failed. */
  readonly attempts: ProviderAttempt[] = [];
  private readonly candidates: ExecutionProvider[];
  private readonly threads: number;
  private readonly made: { label: string; provider: string }[] = [];
  private readonly optimized: OptimizedModelCache | undefined;

  constructor(options: SessionFactoryOptions = {}) {
    this.requested = options.provider ?? 'auto';
    if (!EXECUTION_PROVIDERS.includes(this.requested)) {
      throw new UserError(`unknown execution provider "${this.requested}"`, `choose one of ${EXECUTION_PROVIDERS.join(', ')}`);
    }
    if (this.requested === 'auto') {
      this.candidates = [];
      for (const p of options.autoOrder ?? autoProviderOrder()) {
        const missing = options.autoOrder ? undefined
          : p === 'cuda' && !cudaInstalled() ? 'CUDA provider library not installed'
          : p === 'webgpu' && !vulkanLoaderPresent() ? 'no Vulkan loader (libvulkan.so.1)' : undefined;
        if (missing) this.attempts.push({ provider: p, ok: false, error: `skipped: ${missing}` });
        else this.candidates.push(p);
      }
    } else this.candidates = [this.requested];
    this.threads = options.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
    const optimizedDir = options.optimizedModels ?? path.join(cacheRoot(), 'models', 'optimized');
    this.optimized = optimizedDir === false ? undefined : new OptimizedModelCache(optimizedDir);
  }

  /** Every session made so far and the provider it runs on (a fallback shows here). */
  models(): { label: string; provider: string }[] {
    return this.made.map((m) => ({ ...m }));
  }

  /** The provider sessions run on so far (the first that worked), or undefined before any session. */
  get provider(): ExecutionProvider | undefined {
    return this.attempts.find((a) => a.ok)?.provider;
  }

  async create(model: string | Uint8Array, label: string): Promise<ModelSession> {
    // A file goes to ONNX Runtime by its path: it reads it faster than Node would (FaceRes: ~60 ms
    // less), and a saved optimised graph spares reading the model itself at all.
    if (typeof model === 'string' && !existsSync(model)) throw new UserError(`model file ${model} is missing`, 'reinstall the model or fix the path', model);
    // Once a provider has worked, start there: all models of a run share it unless one cannot.
    const working = this.provider;
    const order = working ? [working, ...this.candidates.filter((p) => p !== working)] : this.candidates;
    const errors: string[] = [];
    for (const provider of order) {
      try {
        const session = provider === 'cpu' && this.optimized ? await this.createCpu(model, this.optimized) : await this.session(model, provider);
        if (!this.attempts.some((a) => a.provider === provider && a.ok)) this.attempts.push({ provider, ok: true });
        this.made.push({ label, provider });
        return new ModelSession(label, provider, session);
      } catch (err) {
        const message = (err as Error).message.split('\n')[0];
        errors.push(`${provider}: ${message}`);
        if (!this.attempts.some((a) => a.provider === provider)) this.attempts.push({ provider, ok: false, error: message });
        if (isCorruptModel(message)) break; // no provider can run a file that does not parse
      }
    }
    const where = typeof model === 'string' ? model : label;
    throw new UserError(`cannot load model ${label} (${errors.join('; ')})`,
      this.requested === 'auto' || this.requested === 'cpu' ? 'the model file may be corrupt: delete it so it is rebuilt, or reinstall it' : 'try --ep auto or --ep cpu', where);
  }

  private session(model: string | Uint8Array, provider: ExecutionProvider, extra: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // A memory pattern is planned per input shape, and ours vary (batches of 1 to 8 faces, partial
      // batches at every flush): each new shape took a fresh block from the CPU arena, which never
      // shrinks, so peak memory crept up for minutes into a video (trained bundle, 10-minute loop:
      // 501–517 MiB with patterns, 417 without; same speed, same outputs).
      enableMemPattern: provider !== 'cpu',
      logSeverityLevel: 3,
      // Idle ORT threads spin by default, stealing the CPU that cropping and decoding need
      // between model runs on a two-core laptop.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      ...extra,
    };
    if (typeof model === 'string' && openableByPath(model)) return ort.InferenceSession.create(model, options);
    return ort.InferenceSession.create(typeof model === 'string' ? readFileSync(model) : model, options);
  }

  /** A CPU session from the saved optimised graph, or optimised now and saved for next time. */
  private async createCpu(model: string | Uint8Array, cache: OptimizedModelCache): Promise<ort.InferenceSession> {
    const file = cache.fileFor(model);
    if (existsSync(file)) {
      try {
        return await this.session(file, 'cpu', { graphOptimizationLevel: 'disabled' });
      } catch {
        rmSync(file, { force: true }); // damaged: made again below
      }
    }
    const slot = cache.slot(file);
    if (!slot) return this.session(model, 'cpu');
    try {
      const session = await this.session(model, 'cpu', { optimizedModelFilePath: slot.tmp });
      slot.keep();
      return session;
    } catch (err) {
      slot.drop();
      // saving can fail where loading does not (a full disk): the model itself decides
      if (isCorruptModel((err as Error).message)) throw err;
      return this.session(model, 'cpu');
    }
  }
}

/**
 * Whether ONNX Runtime may open the file itself. On Windows it has failed on paths outside the
 * ANSI code page (a user folder named in Japanese): such files are read here and passed as bytes.
 */
const openableByPath = (file: string): boolean => process.platform !== 'win32' || /^[\x20-\x7e]*$/.test(file);

/** What the machine offers for one execution provider. */
export interface ProviderReport {
  provider: ExecutionProvider;
  /** In this onnxruntime-node build (listSupportedBackends). */
  bundled: boolean;
  /** A session could be made on it. */
  usable: boolean;
  /** Why not (or undefined). */
  reason?: string;
}

/** A one-op model: enough to see whether a provider can make a session at all. */
function probeModel(): Uint8Array {
  const b = new GraphBuilder('probe');
  b.expose(b.op('Relu', [b.input('x', [1])]), 'y');
  return b.build({ producer: 'affect-studio provider probe' });
}

/**
 * Tries every execution provider of this platform (and any other the build bundles) with a tiny
 * model, and says which `auto` picks and why: the first that works in autoProviderOrder, skipping
 * those whose libraries are missing.
 */
export async function probeProviders(platform: NodeJS.Platform = process.platform): Promise<{ providers: ProviderReport[]; auto: ExecutionProvider; why: string }> {
  const bundled = new Set(ort.listSupportedBackends().map((b) => b.name));
  const order = autoProviderOrder(platform);
  const all = [...new Set<ExecutionProvider>([...order, ...EXECUTION_PROVIDERS.filter((p): p is ExecutionProvider => p !== 'auto' && bundled.has(p))])];
  const model = probeModel();
  const providers: ProviderReport[] = [];
  for (const provider of all) {
    const missing = provider === 'cuda' && !cudaInstalled() ? 'CUDA provider library not installed (run onnxruntime-node\'s install script with --onnxruntime-node-install=cuda12)'
      : provider === 'webgpu' && !vulkanLoaderPresent() ? 'no Vulkan loader (libvulkan.so.1)' : undefined;
    if (missing) {
      providers.push({ provider, bundled: bundled.has(provider), usable: false, reason: missing });
      continue;
    }
    const f = new SessionFactory({ provider });
    try {
      await (await f.create(model, 'probe')).release();
      providers.push({ provider, bundled: bundled.has(provider), usable: true });
    } catch (err) {
      providers.push({ provider, bundled: bundled.has(provider), usable: false, reason: f.attempts[0]?.error ?? (err as Error).message.split('\n')[0] });
    }
  }
  const auto = order.find((p) => providers.find((r) => r.provider === p)?.usable) ?? 'cpu';
  const passed = order.slice(0, order.indexOf(auto)).map((p) => `${p}: ${providers.find((r) => r.provider === p)?.reason ?? 'not usable'}`);
  const why = `first usable in ${platform}'s order ${order.join(' → ')}${passed.length ? `; passed over ${passed.join('; ')}` : ''}`;
  return { providers, auto, why };
}

function isCorruptModel(message: string): boolean {
  return /protobuf parsing failed|invalid model|Load model from .* failed|ModelProto does not have a graph/i.test(message);
}
