/**
 * Model bundles: a folder with `bundle.json` and the ONNX file(s) it names. The manifest says what
 * the model predicts, which features it needs, how to run it (segment length, carried states) and
 * how to post-process it, and where it came from (data, metrics). Format: docs/bundles.md.
 */
import { UserError } from '../../common/errors.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AUS, EXPRESSIONS, TASKS } from '../../common/labels.js';
import { TemporalConfigSchema } from '../temporal/config.js';

export const BUNDLE_FORMAT = 'affect-studio-bundle/1';
export const MANIFEST_NAME = 'bundle.json';

const StateSchema = z.object({
  name: z.string().min(1),
  dims: z.array(z.union([z.number().int().positive(), z.literal('batch')])).refine((d) => d.filter((x) => x === 'batch').length === 1, 'exactly one "batch" axis'),
});

const ExtractorRefSchema = z.object({
  id: z.string().min(1),
  version: z.string().min(1),
  dim: z.number().int().positive(),
  /** For user extractors: their manifest, relative to the bundle folder. */
  manifest: z.string().optional(),
});

const MetricsSchema = z.record(z.string(), z.number());

export const BundleManifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, ".", "-" and "_" only'),
  version: z.string().min(1),
  description: z.string().min(1),
  /** "starter": rules over pretrained per-frame networks; "temporal": a trained temporal model; "ensemble": weighted members. */
  kind: z.enum(['starter', 'temporal', 'ensemble']),
  labels: z.object({ expressions: z.array(z.string()), aus: z.array(z.string()) }),
  tasks: z.array(z.enum(TASKS)).min(1),
  features: z.object({
    extractors: z.array(ExtractorRefSchema).min(1),
    /** Sum of the extractors' dims: the model's input width. */
    dim: z.number().int().positive(),
    /** "in-graph": baked into the ONNX file; "per-sequence": z-score over each sequence, done by the runtime. */
    normalization: z.enum(['in-graph', 'per-sequence', 'none']),
  }),
  /** Ensembles: member bundles (folders relative to this one) and their weights. */
  members: z.array(z.object({ path: z.string().min(1), weight: z.number().positive() })).min(1).optional(),
  model: z.object({
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    segmentLength: z.number().int().positive(),
    states: z.array(StateSchema).default([]),
    /** The architecture, for trained temporal bundles. */
    config: TemporalConfigSchema.optional(),
  }).optional(),
  postprocess: z.object({
    /** Centred moving-average half-windows (frames) for V and A; 0 = off. */
    smoothing: z.object({ valence: z.number().int().min(0), arousal: z.number().int().min(0) }),
    /** Probability above which an AU counts as present (12 values, AU order). */
    auThresholds: z.array(z.number().min(0).max(1)).length(AUS.length),
  }),
  provenance: z.object({
    summary: z.string().min(1),
    trainedOn: z.string().min(1),
    created: z.string().optional(),
    tool: z.string().optional(),
    preset: z.string().optional(),
    seed: z.number().optional(),
    epochs: z.number().optional(),
    /**
     * Trained bundles: which epoch's weights were exported — "overall" (the best validation P_MTL)
     * or "per-task" (an ensemble whose members are each task's best epoch, each predicting its tasks).
     */
    selection: z.enum(['overall', 'per-task']).optional(),
    validation: MetricsSchema.optional(),
  }),
});

export type BundleManifest = z.infer<typeof BundleManifestSchema>;

export interface LoadedBundle {
  dir: string;
  manifest: BundleManifest & { model: NonNullable<BundleManifest['model']> };
  /** sha256 of bundle.json and the model file: identifies exactly what ran (recorded in run.json). */
  hash: string;
  modelPath: string;
}

export interface LoadedEnsemble {
  dir: string;
  manifest: BundleManifest;
  hash: string;
  members: { bundle: LoadedBundle; weight: number }[];
}

/** A bundle that cannot be used, with the file and the field at fault. */
export class BundleError extends UserError {
  constructor(message: string, file: string, hint = 'fix or reinstall the bundle (format: docs/bundles.md)') {
    super(message, hint, file);
    this.name = 'BundleError';
  }
}

export function labelsMatchAbaw(m: BundleManifest): boolean {
  return m.labels.expressions.join() === EXPRESSIONS.join() && m.labels.aus.join() === AUS.join();
}

/** A bundle or an ensemble bundle (whose members are loaded, and checked, too). */
export function loadAnyBundle(dir: string): LoadedBundle | LoadedEnsemble {
  const m = readManifest(dir);
  if (m.manifest.kind !== 'ensemble') return loadBundle(dir);
  if (!m.manifest.members?.length) throw new BundleError('field "members": an ensemble needs members', m.file);
  const members = m.manifest.members.map((x) => {
    const sub = path.resolve(dir, x.path);
    const loaded = loadAnyBundle(sub);
    if ('members' in loaded) throw new BundleError(`field "members": ${x.path} is itself an ensemble (nesting is not supported)`, m.file);
    return { bundle: loaded, weight: x.weight };
  });
  const hash = createHash('sha256').update(readFileSync(m.file)).update(members.map((x) => x.bundle.hash).join()).digest('hex');
  return { dir, manifest: m.manifest, hash, members };
}

function readManifest(dir: string): { file: string; manifest: BundleManifest } {
  const file = path.join(dir, MANIFEST_NAME);
  if (!existsSync(file)) throw new BundleError(`no ${MANIFEST_NAME} in the bundle folder`, dir);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BundleError(`cannot be read as JSON (${(err as Error).message})`, file);
  }
  const parsed = BundleManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(`field "${issue.path.join('.') || '(root)'}": ${issue.message}`, file);
  }
  return { file, manifest: parsed.data };
}

export function loadBundle(dir: string): LoadedBundle {
  const { file, manifest: m } = readManifest(dir);
  if (m.kind === 'ensemble') throw new BundleError('is an ensemble bundle; load it with its members', file);
  if (!m.model) throw new BundleError('field "model": required for a model bundle', file);
  const dims = m.features.extractors.reduce((a, e) => a + e.dim, 0);
  if (dims !== m.features.dim) throw new BundleError(`field "features.dim" is ${m.features.dim} but the extractors' dims add up to ${dims}`, file);
  if (m.labels.expressions.length !== EXPRESSIONS.length || m.labels.aus.length !== AUS.length) {
    throw new BundleError(`field "labels": ${m.labels.expressions.length} expressions and ${m.labels.aus.length} AUs; this version reads the ABAW schema (8 and 12)`, file);
  }
  const modelPath = path.join(dir, m.model.file);
  if (!existsSync(modelPath)) throw new BundleError(`field "model.file": ${m.model.file} is missing from the bundle`, file);
  const modelBytes = readFileSync(modelPath);
  const modelSha = createHash('sha256').update(modelBytes).digest('hex');
  if (m.model.sha256 && m.model.sha256 !== modelSha) {
    throw new BundleError(`field "model.sha256" does not match ${m.model.file} (the file was changed or damaged)`, file);
  }
  const hash = createHash('sha256').update(readFileSync(file)).update(modelSha).digest('hex');
  return { dir, manifest: m as LoadedBundle['manifest'], hash, modelPath };
}
