/**
 * User-registered image extractors: a JSON manifest next to an ONNX file describes how to feed it
 * (see docs/extractors.md). This is how researchers plug in their own backbones.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../../common/errors.js';
import type { SessionFactory } from '../onnx/sessions.js';
import { ImageModelExtractor } from './image-model.js';

const ManifestSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'letters, digits, "-" and "_" only'),
  version: z.union([z.string().min(1), z.number()]).transform(String),
  description: z.string().default(''),
  model: z.string().min(1),
  input: z.object({
    name: z.string().optional(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    layout: z.enum(['nchw', 'nhwc']).default('nchw'),
    channels: z.enum(['rgb', 'bgr', 'gray']).default('rgb'),
    /** Pixels arrive in 0…255; they are multiplied by pixelScale, then normalised with mean/std. */
    pixelScale: z.number().positive().default(1 / 255),
    mean: z.array(z.number()).min(1).max(3).default([0, 0, 0]),
    std: z.array(z.number().positive()).min(1).max(3).default([1, 1, 1]),
  }),
  output: z.string().optional(),
  crop: z.discriminatedUnion('alignment', [
    z.object({ alignment: z.literal('box'), scale: z.number().positive().default(1.2) }),
    z.object({ alignment: z.literal('fivepoint') }),
  ]).default({ alignment: 'box', scale: 1.2 }),
  /** Optional: the output width the model must produce (checked on load). */
  dim: z.number().int().positive().optional(),
});

export type ExtractorManifest = z.infer<typeof ManifestSchema>;

export function readExtractorManifest(file: string): ExtractorManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`extractor manifest cannot be read (${(err as Error).message})`, 'it must be a JSON file; see docs/extractors.md', file);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`extractor manifest: field "${issue.path.join('.') || '(root)'}": ${issue.message}`, 'see docs/extractors.md for the manifest format', file);
  }
  return parsed.data;
}

export async function loadManifestExtractor(file: string, sessions: SessionFactory): Promise<ImageModelExtractor> {
  const m = readExtractorManifest(file);
  const modelPath = path.resolve(path.dirname(file), m.model);
  if (!existsSync(modelPath)) throw new UserError(`extractor model file ${modelPath} is missing`, 'fix "model" in the manifest (a path relative to the manifest)', file);
  const session = await sessions.create(modelPath, m.id);
  const output = m.output ?? session.outputNames[0];
  const extractor = await ImageModelExtractor.create({
    id: m.id,
    version: m.version,
    description: m.description || `user model ${path.basename(modelPath)}`,
    session,
    inputName: m.input.name ?? session.inputNames[0],
    input: { width: m.input.width, height: m.input.height, layout: m.input.layout, channels: m.input.channels, pixelScale: m.input.pixelScale, mean: m.input.mean, std: m.input.std, maxSupersample: 3 },
    crop: m.crop,
    outputs: [{ name: output, prefix: '' }],
    source: file,
  });
  if (m.dim !== undefined && extractor.dim !== m.dim) {
    throw new UserError(`extractor model outputs ${extractor.dim} values per face, the manifest says "dim": ${m.dim}`, 'fix "dim" or "output" in the manifest', file);
  }
  return extractor;
}
