/**
 * Head pose and gaze: the geometry on synthetic faces with known answers, the conventions against
 * OpenFace 2.2's own output for the shared clip, in-plane rotation of a real video, and the iris
 * model's crops on real eyes.
 */
import { pearson } from '../helpers/stats.js';
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { canonicalFace } from '../../models/pretrained/canonical-face.js';
import { readNpyHeader, readNpyRows } from '../../models/data/npy.js';
import { LIP_HEIGHT_PER_WIDTH, LIP_RED_THICKNESS_PER_WIDTH } from '../../models/starter/rules.js';
import { OPENFACE_GAZE_COLUMNS, OPENFACE_POSE_COLUMNS } from '../../electron/engine/export/columns.js';
import { defaultIntrinsics, estimateHeadPose, projectHeadPoint, type HeadPose } from '../../electron/engine/face/head-pose.js';
import { EYEBALL_OFFSET_MM, EYEBALL_RADIUS_MM, estimateGaze, raySphere } from '../../electron/engine/face/gaze.js';
import { IrisModel } from '../../electron/engine/face/iris.js';
import { apply, fitSimilarity, fromEuler, fromRotationVector, toEuler, type Vec3 } from '../../electron/engine/face/rotation.js';
import { SessionFactory } from '../../electron/engine/onnx/sessions.js';
import { VideoDecoder } from '../../electron/engine/video/decode.js';
import { probeVideo } from '../../electron/engine/video/probe.js';
import { runCli } from '../helpers/cli.js';
import { DEFAULT_FACE_SETTINGS } from '../../electron/engine/features/face-settings.js';
import { ffmpegFixture, freshDir, repoRoot, sampleVideo, tools } from '../helpers/fixtures.js';

const face = canonicalFace();
const DEG = Math.PI / 180;
const camera = defaultIntrinsics(640, 360);
const vertex = (i: number): Vec3 => [face.vertices[3 * i], face.vertices[3 * i + 1], face.vertices[3 * i + 2]];

/** The canonical face seen through the camera at a pose: FaceMesh-like landmarks (pixels, z in pixel scale). */
function render(euler: Vec3, t: Vec3): Float32Array {
  const r = fromEuler(euler);
  const lm = new Float32Array(468 * 3);
  for (let i = 0; i < 468; i++) {
    const [u, v] = projectHeadPoint({ rotation: r, translation: t }, camera, vertex(i));
    lm.set([u, v, (apply(r, vertex(i))[2] * camera.fx) / t[2]], 3 * i);
  }
  return lm;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('the canonical face (from @mediapipe/face_mesh)', () => {
  it('is a metric face in the head frame OpenFace uses', () => {
    expect(face.vertices).toHaveLength(468 * 3);
    expect(face.basis.length).toBeGreaterThan(20);
    const eye = (a: number, b: number) => [(vertex(a)[0] + vertex(b)[0]) / 2, (vertex(a)[1] + vertex(b)[1]) / 2];
    const iod = Math.hypot(eye(263, 362)[0] - eye(33, 133)[0], eye(263, 362)[1] - eye(33, 133)[1]);
    expect(iod).toBeGreaterThan(55); // mm: an adult's eyes are 55–70 mm apart
    expect(iod).toBeLessThan(70);
    expect(vertex(33)[0]).toBeLessThan(vertex(263)[0]); // the subject's right eye on the image's left
    expect(vertex(10)[1]).toBeLessThan(vertex(152)[1]); // forehead above chin (y down)
    expect(vertex(1)[2]).toBeLessThan(vertex(33)[2] - 30); // nose tip towards the camera (z away)
  });

  it('gives the lip proportions the starter\'s AU23/AU24 rules use', () => {
    const y = (i: number) => vertex(i)[1];
    const w = vertex(291)[0] - vertex(61)[0];
    expect((y(13) - y(0) + (y(17) - y(14))) / w).toBeCloseTo(LIP_RED_THICKNESS_PER_WIDTH, 2);
    expect((y(17) - y(0)) / w).toBeCloseTo(LIP_HEIGHT_PER_WIDTH, 1);
  });
});

describe('rigid geometry', () => {
  it('fits a similarity (rotation, scale, translation) and never returns a reflection', () => {
    const r = fromRotationVector([0.3, -0.5, 0.2]);
    const from = Array.from({ length: 30 }, (_, i) => vertex(i * 15));
    const to = from.map((p) => apply(r, p).map((v, a) => 2.5 * v + [10, -4, 300][a]));
    const fit = fitSimilarity(from.flat(), to.flat(), from.map(() => 1));
    fit.rotation.forEach((v, k) => expect(v).toBeCloseTo(r[k], 9));
    expect(fit.scale).toBeCloseTo(2.5, 9);
    expect(fit.translation[2]).toBeCloseTo(300, 6);
    // a mirrored target: the best proper rotation, not a mirror
    const mirrored = fitSimilarity(from.flat(), from.flatMap(([x, y, z]) => [-x, y, z]), from.map(() => 1)).rotation;
    const det = mirrored[0] * (mirrored[4] * mirrored[8] - mirrored[5] * mirrored[7]) - mirrored[1] * (mirrored[3] * mirrored[8] - mirrored[5] * mirrored[6]) + mirrored[2] * (mirrored[3] * mirrored[7] - mirrored[4] * mirrored[6]);
    expect(det).toBeCloseTo(1, 9);
  });

  it('OpenFace\'s Euler convention R = Rx·Ry·Rz round-trips', () => {
    const e: Vec3 = [0.3, -0.7, 1.1];
    toEuler(fromEuler(e)).forEach((v, i) => expect(v).toBeCloseTo(e[i], 12));
  });
});

describe('head pose', () => {
  const poses: [Vec3, Vec3][] = [
    [[0, 0, 0], [0, 0, 450]],
    [[0, 30 * DEG, 0], [40, 10, 600]],
    [[-20 * DEG, 0, 0], [-30, 40, 380]],
    [[0, 0, 25 * DEG], [0, 0, 500]],
    [[15 * DEG, -35 * DEG, -20 * DEG], [60, -50, 700]],
  ];
  for (const [euler, t] of poses) {
    it(`recovers pitch ${(euler[0] / DEG).toFixed(0)}°, yaw ${(euler[1] / DEG).toFixed(0)}°, roll ${(euler[2] / DEG).toFixed(0)}° at ${t[2]} mm from the projected canonical face`, () => {
      const pose = estimateHeadPose(render(euler, t), camera, face);
      pose.euler.forEach((v, i) => expect(Math.abs(v - euler[i]) / DEG).toBeLessThan(0.01));
      pose.translation.forEach((v, i) => expect(v).toBeCloseTo(t[i], 1));
      expect(pose.rmsError).toBeLessThan(1e-3);
    });
  }

  it('signs mean what OpenFace\'s documentation says: head down, turned to the image\'s left, tilted to the image\'s right are positive', () => {
    const at = (e: Vec3) => render(e, [0, 0, 450]);
    const nose = (lm: Float32Array) => [lm[3], lm[4]];
    const eyesY = (lm: Float32Array) => (lm[3 * 33 + 1] + lm[3 * 263 + 1]) / 2;
    const front = at([0, 0, 0]);
    expect(nose(at([10 * DEG, 0, 0]))[1] - eyesY(at([10 * DEG, 0, 0]))).toBeGreaterThan(nose(front)[1] - eyesY(front)); // nose drops: head down
    expect(nose(at([0, 10 * DEG, 0]))[0]).toBeLessThan(nose(front)[0]); // nose to the image's left
    const tilted = at([0, 0, 10 * DEG]);
    expect(tilted[3 * 263 + 1]).toBeGreaterThan(tilted[3 * 33 + 1]); // image-right eye lower: clockwise
  });

  it('bad input is an error, not a pose', () => {
    expect(() => defaultIntrinsics(0, 360)).toThrow(/cannot define a camera/);
    expect(() => estimateHeadPose(new Float32Array(468 * 3).fill(NaN), camera, face)).toThrow(/not finite/);
  });
});

describe('gaze geometry', () => {
  it('meets the eyeball where the camera ray enters it, or at the nearest point when it misses', () => {
    const hit = raySphere([0, 0, 1], [0, 0, 100], 12);
    expect(hit[2]).toBeCloseTo(88, 9);
    const miss = raySphere([0, 0, 1], [20, 0, 100], 12);
    expect(Math.hypot(miss[0] - 20, miss[1], miss[2] - 100)).toBeCloseTo(12, 9);
    expect(miss[0]).toBeCloseTo(8, 9);
  });

  it('recovers known gaze directions of a synthetic face', () => {
    const euler: Vec3 = [5 * DEG, -15 * DEG, 3 * DEG];
    const t: Vec3 = [20, 10, 500];
    const lm = render(euler, t);
    const pose: HeadPose = estimateHeadPose(lm, camera, face);
    const targets: [Vec3, Vec3] = [[0.2, 0.1, -0.97], [-0.15, 0.12, -0.98]];
    const iris = ([[33, 133], [263, 362]] as const).map(([a, b], e) => {
      const mid = [0, 1, 2].map((k) => (apply(pose.rotation, vertex(a))[k] + apply(pose.rotation, vertex(b))[k]) / 2 + pose.translation[k]);
      const off = apply(pose.rotation, EYEBALL_OFFSET_MM);
      const g = targets[e].map((v) => v / Math.hypot(...targets[e]));
      const pupil = [0, 1, 2].map((k) => mid[k] + off[k] + EYEBALL_RADIUS_MM * g[k]);
      return [(camera.fx * pupil[0]) / pupil[2] + camera.cx, (camera.fy * pupil[1]) / pupil[2] + camera.cy] as [number, number];
    });
    const gaze = estimateGaze(lm, { eyes: iris.map((p) => ({ iris: p, irisRadius: 5, contour: [] })) as never }, pose, camera, face);
    gaze.vectors.forEach((v, e) => v.forEach((x, k) => expect(x).toBeCloseTo(targets[e][k] / Math.hypot(...targets[e]), 3)));
    const m = [0, 1, 2].map((k) => (gaze.vectors[0][k] + gaze.vectors[1][k]) / 2);
    expect(gaze.angle[0]).toBeCloseTo(Math.atan2(m[0], -m[2]), 9);
    expect(gaze.angle[1]).toBeCloseTo(Math.atan2(m[1], -m[2]), 9);
  });
});

const OPENFACE_22 = path.resolve(repoRoot, '../shared/data/peer-outputs/openface-2.2/single_face.csv');

describe('against OpenFace 2.2 and on real video', () => {

  async function poseAndGaze(video: string): Promise<Float32Array[]> {
    const out = freshDir('feat');
    const r = await runCli(['features', video, '--out', out, '-x', 'pose,gaze', '--no-cache', '--ep', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(out, `${path.parse(video).name}.features.npy`);
    const h = readNpyHeader(file);
    expect(h.cols).toBe(OPENFACE_POSE_COLUMNS.length + OPENFACE_GAZE_COLUMNS.length);
    const data = readNpyRows(file, h, 0, h.rows);
    return Array.from({ length: h.rows }, (_, i) => data.slice(i * h.cols, (i + 1) * h.cols));
  }

  it.skipIf(!existsSync(OPENFACE_22))('agrees with OpenFace\'s pose and gaze on single_face.mp4 (figures in docs/pose-and-gaze.md)', async () => {
    const openface = parse(readFileSync(OPENFACE_22), { columns: true, trim: true }) as Record<string, string>[];
    const rows = await poseAndGaze(sampleVideo('single_face.mp4'));
    expect(rows).toHaveLength(openface.length);
    const cols = [...OPENFACE_POSE_COLUMNS, ...OPENFACE_GAZE_COLUMNS];
    const report: Record<string, { r: number; ours: number; openface: number }> = {};
    cols.forEach((c, k) => {
      const ours = rows.map((v) => v[k]);
      const theirs = openface.map((o) => Number(o[c]));
      report[c] = { r: pearson(ours, theirs), ours: mean(ours), openface: mean(theirs) };
    });
    console.log(Object.entries(report).map(([c, v]) => `${c}: r ${v.r.toFixed(2)}, mean ${v.ours.toFixed(3)} vs ${v.openface.toFixed(3)}`).join('\n'));
    // where the head is: same place, same motion
    for (const c of ['pose_Tx', 'pose_Ty', 'pose_Tz'] as const) expect(report[c].r, c).toBeGreaterThan(0.7);
    expect(Math.abs(report.pose_Tz.ours / report.pose_Tz.openface - 1)).toBeLessThan(0.03);
    expect(Math.abs(report.pose_Tx.ours - report.pose_Tx.openface)).toBeLessThan(5);
    expect(Math.abs(report.pose_Ty.ours - report.pose_Ty.openface)).toBeLessThan(5);
    // roll: same sign and level, same motion; pitch and yaw: same level (the clip turns < 5°)
    expect(report.pose_Rz.r).toBeGreaterThan(0.6);
    for (const c of ['pose_Rx', 'pose_Ry', 'pose_Rz'] as const) expect(Math.abs(report[c].ours - report[c].openface) / DEG, c).toBeLessThan(3);
    // gaze: horizontal angle follows OpenFace's; both within a few degrees on average
    expect(report.gaze_angle_x.r).toBeGreaterThan(0.6);
    for (const c of ['gaze_angle_x', 'gaze_angle_y'] as const) {
      const diffs = rows.map((v, i) => Math.abs(v[OPENFACE_POSE_COLUMNS.length + OPENFACE_GAZE_COLUMNS.indexOf(c)] - Number(openface[i][c])));
      expect(mean(diffs) / DEG, c).toBeLessThan(5);
    }
  }, 120_000);

  it('a video turned in its plane by 12° clockwise gives 12° more roll, the same pitch and yaw', async () => {
    const turned = ffmpegFixture('single-face-turned.mp4', ['-i', sampleVideo('single_face.mp4'), '-vf', `rotate=${12 * DEG}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-an']);
    const [a, b] = [await poseAndGaze(sampleVideo('single_face.mp4')), await poseAndGaze(turned)];
    expect(b).toHaveLength(a.length);
    const d = (k: number) => mean(a.map((v, i) => b[i][k] - v[k])) / DEG;
    const [rx, ry, rz] = [3, 4, 5];
    console.log(`turned 12°: roll ${d(rz).toFixed(2)}°, pitch ${d(rx).toFixed(2)}°, yaw ${d(ry).toFixed(2)}° more`);
    expect(d(rz)).toBeGreaterThan(10.5);
    expect(d(rz)).toBeLessThan(13.5);
    expect(Math.abs(d(rx))).toBeLessThan(2.5);
    expect(Math.abs(d(ry))).toBeLessThan(2.5);
  }, 120_000);

  it('the iris model\'s crops are the right eyes, the right way round: its lower lid lies on the mesh\'s', async () => {
    const file = sampleVideo('single_face.mp4');
    const lms = await landmarksOf(file);
    const iris = await IrisModel.create(new SessionFactory({ provider: 'cpu', threads: 2 }));
    const decoder = new VideoDecoder(await probeVideo(file, tools.ffprobe), { ffmpeg: tools.ffmpeg, ffprobe: tools.ffprobe });
    const lower = [[33, 7, 163, 144, 145, 153, 154, 155, 133], [263, 249, 390, 373, 374, 380, 381, 382, 362]];
    const errors: number[] = [];
    let i = 0;
    for await (const frame of decoder) {
      const lm = Float32Array.from(lms[i++]);
      const [result] = await iris.run(frame, [lm]);
      const iod = Math.hypot(lm[3 * 263] - lm[3 * 33], lm[3 * 263 + 1] - lm[3 * 33 + 1]);
      result.eyes.forEach((eye, e) => {
        errors.push(mean(lower[e].map((m, k) => Math.hypot(eye.contour[k][0] - lm[3 * m], eye.contour[k][1] - lm[3 * m + 1]))) / iod);
        // the iris centre lies between the eye's corners
        const [x0, x1] = [lm[3 * lower[e][0]], lm[3 * lower[e][8]]].sort((p, q) => p - q);
        expect(eye.iris[0]).toBeGreaterThan(x0);
        expect(eye.iris[0]).toBeLessThan(x1);
      });
    }
    expect(mean(errors)).toBeLessThan(0.03);
  }, 120_000);
});

/** FaceMesh landmarks per frame of a video (the tracker as the pipeline runs it). */
async function landmarksOf(file: string): Promise<number[][]> {
  const { FaceDetector } = await import('../../electron/engine/face/detector.js');
  const { FaceMesh } = await import('../../electron/engine/face/landmarks.js');
  const { FaceTracker } = await import('../../electron/engine/face/tracker.js');
  const sessions = new SessionFactory({ provider: 'cpu', threads: 2 });
  const f = DEFAULT_FACE_SETTINGS;
  const tracker = new FaceTracker(await FaceDetector.create(sessions, { minScore: f.minDetectionScore }), await FaceMesh.create(sessions), { detectEvery: f.detectEvery, minFaceScore: f.minFaceScore, maxFaces: f.maxFaces });
  const out: number[][] = [];
  for await (const frame of new VideoDecoder(await probeVideo(file, tools.ffprobe), { ffmpeg: tools.ffmpeg, ffprobe: tools.ffprobe })) {
    const [f] = await tracker.process(frame);
    out.push(Array.from(f.landmarks));
  }
  return out;
}


