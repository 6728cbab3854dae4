import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { randomGruBundle } from '../helpers/bundles.js';
import { freshDir } from '../helpers/fixtures.js';

describe('affect-studio bundles', () => {
  it('lists, installs (a trained bundle becomes the default), switches the default and removes', async () => {
    const env = { AFFECT_STUDIO_DATA: freshDir('data') };
    const list0 = await runCli(['bundles', 'list'], env);
    expect(list0.code).toBe(0);
    expect(list0.stdout).toMatch(/^\* starter\s+starter\s+Starter bundle/m);

    const inst = await runCli(['bundles', 'install', randomGruBundle(freshDir('b'))], env);
    expect(inst.code).toBe(0);
    expect(inst.stdout).toMatch(/installed test-gru@0\.0\.1 \(temporal\).*now the default/);
    const list1 = await runCli(['bundles', 'list'], env);
    expect(list1.stdout).toMatch(/^\* test-gru@0\.0\.1\s+temporal/m);
    expect(list1.stdout).toMatch(/^ {2}starter/m);

    const show = await runCli(['bundles', 'show'], env);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: 'test-gru', kind: 'temporal', provenance: { trainedOn: 'nothing' } });

    expect((await runCli(['bundles', 'default', 'starter'], env)).code).toBe(0);
    expect((await runCli(['bundles', 'list'], env)).stdout).toMatch(/^\* starter/m);

    expect((await runCli(['bundles', 'remove', 'test-gru@0.0.1'], env)).code).toBe(0);
    const gone = await runCli(['bundles', 'remove', 'test-gru@0.0.1'], env);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/no installed bundle "test-gru@0\.0\.1"/);
    const bad = await runCli(['bundles', 'install', freshDir('empty')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no bundle\.json in the bundle folder/);
  });
});
