/**
 * Agreement statistics with a head-pose filter: frames where the run's main face is turned too far
 * (or has no pose) leave every statistic; the report says how many frames were kept.
 */
import { describe, expect, it } from 'vitest';
import { agreement } from '../../electron/engine/annotations/agreement.js';
import { emptyDoc, type AnnotationDoc } from '../../common/annotations.js';
import type { RunData } from '../../common/run-data.js';
import { UserError } from '../../common/errors.js';
import { RunStore } from '../../electron/engine/runs/run-store.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freshDir, repoRoot } from '../helpers/fixtures.js';
import type { PredictionRow } from '../../electron/engine/predict/predictor.js';

const N = 10;
const times = Array.from({ length: N }, (_, k) => k / 10);
const video = { path: '/v.mp4', name: 'v.mp4' };

/** A valence/arousal trace with one sample per frame. */
function traced(annotator: string, valence: (k: number) => number): AnnotationDoc {
  const doc = emptyDoc(video, annotator, '2026-01-01T00:00:00Z');
  doc.traces.push({ id: 't', dims: 'va', input: 'mouse', started: doc.created, samples: times.map((t, k) => [t, valence(k), 0.5 * valence(k)]) });
  return doc;
}

/** A run whose face turns: yaw 0° for frames 1–5, 45° for 6–9, unknown at frame 10. */
function run(valence: (k: number) => number, withPose = true): RunData {
  const yaw = (k: number) => (k < 5 ? 0 : k < 9 ? 45 : null);
  return {
    runId: 'r', videoId: 'v', created: '', source: 'model', label: 'test', auThresholds: Array(12).fill(0.5),
    faces: [{
      faceId: 0, frames: times.map((_, k) => k + 1), times, valence: times.map((_, k) => valence(k)), arousal: times.map((_, k) => 0.5 * valence(k)),
      expression: null, au: null, boxes: null,
      pose: withPose ? times.flatMap((_, k) => [2, yaw(k), -1]) : null,
      gaze: null,
    }],
  };
}

describe('agreement with a head-pose filter', () => {
  // the annotators agree exactly while the face is frontal and disagree once it turns
  const a = traced('ann', (k) => k / 10);
  const b = traced('bob', (k) => (k < 5 ? k / 10 : -k / 10));
  const model = run((k) => k / 10);

  it('without a filter every frame counts', () => {
    const report = agreement([a, b], times, model);
    expect(report.poseFilter).toBeUndefined();
    expect(report.pairs[0].cccValence).toBeLessThan(0);
  });

  it('with |yaw| ≤ 30°, only the frontal frames count, for the annotators and for the model', () => {
    const report = agreement([a, b], times, model, { maxYaw: 30 });
    expect(report.poseFilter).toEqual({ maxYaw: 30, maxPitch: null, framesKept: 5, framesDropped: 5 });
    expect(report.pairs[0].cccValence).toBeCloseTo(1, 9);
    expect(report.model?.versus.find((v) => v.annotator === 'bob')?.cccValence).toBeCloseTo(1, 9);
    // a limit above every angle keeps the frames whose pose is known
    expect(agreement([a, b], times, model, { maxYaw: 60, maxPitch: 5 }).poseFilter?.framesKept).toBe(9);
    expect(agreement([a, b], times, model, { maxPitch: 1 }).poseFilter?.framesKept).toBe(0);
  });

  it('needs a run with head pose', () => {
    expect(() => agreement([a, b], times, undefined, { maxYaw: 30 })).toThrow(UserError);
    expect(() => agreement([a, b], times, run((k) => k, false), { maxYaw: 30 })).toThrow(/no head pose/);
  });
});

describe('run data carries head pose and gaze', () => {
  it('saved predictions come back as degrees per frame; frames without a face or a fit stay empty', () => {
    const store = new RunStore(freshDir('runs'));
    const rad = Math.PI / 180;
    const rows: PredictionRow[] = [
      { frame: 1, timestamp: 0, faceId: 0, faceScore: 0.9, valence: 0.1, arousal: 0.2, au: new Float32Array(12), pose: Float32Array.from([1, 2, 400, 10 * rad, -20 * rad, 5 * rad]), gaze: Float32Array.from([0, 0, -1, 0, 0, -1, 3 * rad, -4 * rad]) },
      { frame: 2, timestamp: 0.04, faceId: 0, faceScore: 0.9, valence: 0.1, arousal: 0.2, au: new Float32Array(12) },
      { frame: 3, timestamp: 0.08 },
    ];
    store.save('v', { runId: 'r1', videoId: 'v', created: '2026-01-01', source: 'model', label: 'x', auThresholds: Array(12).fill(0.5) }, rows);
    const [face] = store.load('r1').faces;
    expect(face.frames).toEqual([1, 2]);
    expect(face.pose?.slice(0, 3).map((x) => Number(x?.toFixed(2)))).toEqual([10, -20, 5]);
    expect(face.pose?.slice(3)).toEqual([null, null, null]);
    expect(face.gaze?.slice(0, 2).map((x) => Number(x?.toFixed(2)))).toEqual([3, -4]);
    expect(face.gaze?.slice(2)).toEqual([null, null]);
  });
});

const openFace22 = path.resolve(repoRoot, '../shared/data/peer-outputs/openface-2.2/single_face.csv');

describe.skipIf(!existsSync(openFace22))('an imported OpenFace 2.2 file', () => {
  it('brings its head pose and gaze along, in degrees', () => {
    const store = new RunStore(freshDir('runs'));
    const summary = store.import('v', 'v', openFace22);
    const [face] = store.load(summary.runId).faces;
    expect(face.frames).toHaveLength(72);
    // frame 1: pose_Rx -0.013, pose_Ry 0.005, pose_Rz -0.049; gaze_angle_x -0.072, gaze_angle_y 0.090 (radians)
    const deg = (r: number) => (r * 180) / Math.PI;
    [deg(-0.013), deg(0.005), deg(-0.049)].forEach((v, i) => expect(face.pose?.[i]).toBeCloseTo(v, 1));
    [deg(-0.072), deg(0.09)].forEach((v, i) => expect(face.gaze?.[i]).toBeCloseTo(v, 1));
  });
});
