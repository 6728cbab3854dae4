import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../models/onnx/builder.js';
import { autoProviderOrder, SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { UserError } from '../../common/errors.js';

function reluModel(): Uint8Array {
  const b = new GraphBuilder('relu');
  b.expose(b.op('Relu', [b.input('x', [4])]), 'y');
  return b.build({ producer: 'test' });
}

describe('execution providers', () => {
  it('auto tries the GPU providers that fit the platform, CPU last', () => {
    expect(autoProviderOrder('linux')).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(autoProviderOrder('win32')).toEqual(['cuda', 'dml', 'webgpu', 'cpu']);
    expect(autoProviderOrder('darwin')).toEqual(['coreml', 'webgpu', 'cpu']);
  });

  it('an unknown provider is a clear error', () => {
    const err = (() => { try { new SessionFactory({ provider: "tpu" as never }); } catch (e) { return e as UserError; } })();
    expect(err?.describe()).toMatch(/unknown execution provider "tpu".*auto, cpu, webgpu/);
  });

  it('a provider that throws (WebGPU without an adapter) is caught and the next one is used, and the run says which ran', async () => {
    const f = new SessionFactory({ provider: 'auto', autoOrder: ['webgpu', 'cpu'] });
    const s = await f.create(reluModel(), 'relu');
    const out = await s.run({ x: { data: new Float32Array([-1, 2, -3, 4]), dims: [4] } });
    expect(Array.from(out.y.data)).toEqual([0, 2, 0, 4]);
    const first = f.attempts[0];
    expect(first.provider).toBe('webgpu');
    // a machine with a GPU runs it on WebGPU; one without records why not and falls back
    if (first.ok) expect(s.provider).toBe('webgpu');
    else {
      expect(first.error).toMatch(/adapter|WebGPU|webgpu/i);
      expect(s.provider).toBe('cpu');
    }
    expect(f.provider).toBe(s.provider);
  });

  it('auto on this machine reports skipped providers with their reason', async () => {
    const f = new SessionFactory();
    const s = await f.create(reluModel(), 'relu');
    expect(['cpu', 'webgpu', 'cuda', 'dml', 'coreml']).toContain(s.provider);
    for (const a of f.attempts.filter((x) => !x.ok)) expect(a.error).toBeTruthy();
  });

  it('an explicitly chosen provider that cannot run says what to do', async () => {
    const f = new SessionFactory({ provider: 'coreml' });
    if (process.platform === 'darwin') return; // CoreML exists there
    const err = await f.create(reluModel(), 'relu').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).describe()).toMatch(/cannot load model relu \(coreml: .*\).*try --ep auto or --ep cpu/);
  });

  it('a missing model file names the file', async () => {
    const err = await new SessionFactory({ provider: 'cpu' }).create('/nonexistent/model.onnx', 'm').then(() => undefined, (e: unknown) => e);
    expect((err as UserError).describe()).toMatch(/\/nonexistent\/model\.onnx: model file .* is missing/);
  });
});
