/**
 * Head pose and gaze as feature blocks, in OpenFace's units and order (docs/pose-and-gaze.md):
 *   `pose`: pose_Tx, pose_Ty, pose_Tz (mm, camera frame), pose_Rx, pose_Ry, pose_Rz (radians)
 *   `gaze`: gaze_0_x … gaze_1_z (unit vectors, camera frame), gaze_angle_x, gaze_angle_y (radians)
 * The camera is the one OpenFace assumes without calibration, from the frame's size. A face whose
 * fit fails gets NaN (an empty cell downstream), like a frame without a face.
 */
import { canonicalFace, type CanonicalFace } from '../../../models/pretrained/canonical-face.js';
import { OPENFACE_GAZE_COLUMNS, OPENFACE_POSE_COLUMNS } from '../export/columns.js';
import { estimateGaze } from '../face/gaze.js';
import { defaultIntrinsics, estimateHeadPose, type HeadPose } from '../face/head-pose.js';
import { IrisModel } from '../face/iris.js';
import type { SessionFactory } from '../onnx/sessions.js';
import type { Frame } from '../video/decode.js';
import type { FaceGeometry, FeatureExtractor, FrameFaces } from './extractor.js';

/** The pose of one face, or undefined when the fit cannot be made (degenerate landmarks). */
function poseOf(face: FaceGeometry, frame: Pick<Frame, 'width' | 'height'>, model: CanonicalFace): HeadPose | undefined {
  try {
    const pose = estimateHeadPose(face.landmarks, defaultIntrinsics(frame.width, frame.height), model);
    return pose.euler.every(Number.isFinite) && pose.translation.every(Number.isFinite) ? pose : undefined;
  } catch {
    return undefined;
  }
}

const missing = (dim: number): Float32Array => new Float32Array(dim).fill(NaN);

export class HeadPoseExtractor implements FeatureExtractor {
  readonly id = 'pose';
  readonly version = '1';
  readonly dim = OPENFACE_POSE_COLUMNS.length;
  readonly columns = OPENFACE_POSE_COLUMNS.map((c) => `pose.${c.slice('pose_'.length)}`);
  readonly description = "head pose in OpenFace's conventions: translation (mm) and rotation (radians) of the canonical face fitted to the landmarks";
  private readonly model: CanonicalFace = canonicalFace(); // a missing package is a UserError naming it

  async run(frame: Frame, faces: FaceGeometry[]): Promise<Float32Array[]> {
    return faces.map((face) => {
      const pose = poseOf(face, frame, this.model);
      return pose ? Float32Array.from([...pose.translation, ...pose.euler]) : missing(this.dim);
    });
  }
}

export class GazeExtractor implements FeatureExtractor {
  readonly id = 'gaze';
  readonly version = '1';
  readonly dim = OPENFACE_GAZE_COLUMNS.length;
  readonly columns = OPENFACE_GAZE_COLUMNS.map((c) => `gaze.${c.slice('gaze_'.length)}`);
  readonly description = "eye gaze in OpenFace's conventions: per-eye unit vectors and the two angles (radians), from the iris model and the head pose";
  private readonly model: CanonicalFace = canonicalFace(); // a missing package is a UserError naming it

  private constructor(private readonly iris: IrisModel) {}

  static async create(sessions: SessionFactory): Promise<GazeExtractor> {
    return new GazeExtractor(await IrisModel.create(sessions));
  }

  get provider(): string {
    return this.iris.provider;
  }

  async run(frame: Frame, faces: FaceGeometry[]): Promise<Float32Array[]> {
    return (await this.runFrames([{ frame, faces }]))[0];
  }

  async runFrames(items: FrameFaces[]): Promise<Float32Array[][]> {
    const eyes = await this.iris.runFrames(items.map(({ frame, faces }) => ({ frame, faces: faces.map((f) => f.landmarks) })));
    return items.map(({ frame, faces }, k) => {
      const camera = defaultIntrinsics(frame.width, frame.height);
      return faces.map((face, i) => {
        const pose = poseOf(face, frame, this.model);
        if (!pose) return missing(this.dim);
        const g = estimateGaze(face.landmarks, eyes[k][i], pose, camera, this.model);
        const v = Float32Array.from([...g.vectors[0], ...g.vectors[1], ...g.angle]);
        return v.every(Number.isFinite) ? v : missing(this.dim);
      });
    });
  }
}
