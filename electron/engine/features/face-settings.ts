/**
 * How faces are found in a video: the settings that change which faces (and so which features) a
 * run produces. Defined once, with their defaults; the edges (CLI flags, API requests) resolve what
 * the user gave into a complete `FaceSettings`, and everything below takes only that resolved
 * object — so the feature cache, features.json and run.json see the same settings whichever way
 * they were given.
 */
import { z } from 'zod';
import { UserError } from '../../../common/errors.js';

export const FaceSettingsSchema = z.object({
  /** Process every n-th frame (frame numbers stay those of the full video). */
  stride: z.number().int().min(1).default(1),
  /** Time range, seconds; null: from the start / to the end. */
  start: z.number().finite().min(0).nullable().default(null),
  end: z.number().finite().min(0).nullable().default(null),
  /** Frames whose longer side exceeds this are downscaled before finding faces (0: never). */
  maxSide: z.number().int().min(0).default(1280),
  /** Detector period while faces are tracked: new faces are found within this many frames. */
  detectEvery: z.number().int().min(1).default(5),
  /**
   * Detector score a new face needs to start a track. Measured on the shared clips: real faces
   * 0.74–0.94, the worst false positive (a cartoon logo letter FaceMesh accepts) 0.66.
   */
  minDetectionScore: z.number().min(0).max(1).default(0.7),
  /** Landmark-model confidence a tracked face needs to be kept in a frame. */
  minFaceScore: z.number().min(0).max(1).default(0.75),
  /** Keep at most this many faces per frame, largest first (0: no limit). */
  maxFaces: z.number().int().min(0).default(0),
  /** Give a face that leaves and comes back its old face_id, by its appearance. */
  reid: z.boolean().default(true),
}).strict();

export type FaceSettings = z.output<typeof FaceSettingsSchema>;
export type FaceSettingsInput = z.input<typeof FaceSettingsSchema>;

export const DEFAULT_FACE_SETTINGS: Readonly<FaceSettings> = Object.freeze(FaceSettingsSchema.parse({}));

/** What the user gave (undefined fields take the defaults) → complete settings, or a UserError naming the field. */
export function resolveFaceSettings(input: FaceSettingsInput = {}): FaceSettings {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const parsed = FaceSettingsSchema.safeParse(defined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`face setting "${issue.path.join('.') || '(root)'}": ${issue.message}`, 'see `affect-studio features --help` for the face settings');
  }
  if (parsed.data.start !== null && parsed.data.end !== null && parsed.data.end <= parsed.data.start) {
    throw new UserError(`the time range ends (${parsed.data.end} s) before it starts (${parsed.data.start} s)`, 'give --end after --start');
  }
  return parsed.data;
}
