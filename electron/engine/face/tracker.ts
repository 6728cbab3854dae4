/**
 * Finds faces in each frame and keeps a stable `face_id` for each person.
 *
 * Rules (documented in docs/faces.md):
 * - A tracked face is followed from frame to frame by its landmarks: the next frame's crop is
 *   derived from this frame's mesh, so the detector is not needed to keep a face.
 * - The detector runs every `detectEvery` frames, and on every frame while no face is tracked,
 *   to pick up faces that enter. A detection overlapping a tracked face is that face.
 * - A face exists in a frame only if FaceMesh confirms it (presence score ≥ minFaceScore); this
 *   rejects the detector's false positives and ends a track when the face leaves.
 * - A track survives `maxMissed` frames without confirmation (blinks of occlusion, motion blur)
 *   before it ends. Ended tracks are remembered with their appearance (when the pipeline computes
 *   a face descriptor): a new track that looks like an ended one gets its old `face_id` back.
 */
import { lineAngle, type Point, type Roi } from './geometry.js';
import type { Detection, FaceDetector } from './detector.js';
import { fivePoints, landmarkBox, roiFromLandmarks, rollOf, type FaceMesh } from './landmarks.js';
import type { Frame } from '../video/decode.js';

export interface TrackedFace {
  faceId: number;
  /** FaceMesh presence score in [0, 1]. */
  score: number;
  /** Landmark bounding box in frame pixels. */
  box: { x: number; y: number; w: number; h: number };
  /** Image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner. */
  keypoints: Point[];
  /** 468 × (x, y, z), frame pixels. */
  landmarks: Float32Array;
  /** Head roll in radians. */
  roll: number;
  /** The upright face square (enlarged landmark extent) extractors crop from. */
  roi: Roi;
  /** True on the first frame of a new track (before re-identification). */
  isNew: boolean;
}

/** The user's face settings the tracker follows (FaceSettings), and its own tuning. */
export interface TrackerOptions {
  detectEvery: number;
  minFaceScore: number;
  /** Keep at most this many faces per frame (largest first); 0 = no limit. */
  maxFaces: number;
  /** Frames a track may go without a face before it ends. */
  maxMissed?: number;
  /** Cosine similarity above which a new track is taken to be an ended one coming back. */
  reidThreshold?: number;
}

/**
 * FaceRes descriptors (non-negative) measured on the shared clips: same person 0.76–1.0 cosine
 * similarity across frames, different people 0.30–0.43.
 */
export const DEFAULT_REID_THRESHOLD = 0.6;

/** Detector box → crop: BlazeFace boxes are tighter and lower than the mesh framing (measured). */
const DET_ROI_SCALE = 1.65;
const DET_ROI_UP_SHIFT = 0.07;

interface Track {
  id: number;
  roi: Roi;
  missed: number;
  age: number;
  descriptor?: Float32Array;
  descriptorCount: number;
}

export function roiFromDetection(d: Detection): Roi {
  const angle = lineAngle(d.keypoints[0], d.keypoints[1]);
  const side = Math.max(d.box.w, d.box.h);
  const shift = DET_ROI_UP_SHIFT * side;
  // "up" in the face's frame is (sin, −cos) rotated by its roll
  const center: Point = [d.box.x + d.box.w / 2 + Math.sin(angle) * shift, d.box.y + d.box.h / 2 - Math.cos(angle) * shift];
  return { center, side: side * DET_ROI_SCALE, angle };
}

const roiOverlap = (a: Roi, b: Roi): boolean => Math.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1]) < 0.35 * Math.max(a.side, b.side);

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

export class FaceTracker {
  private tracks: Track[] = [];
  private ended: Track[] = [];
  private nextId = 0;
  private frames = 0;
  private readonly o: Required<TrackerOptions>;
  /** How many times the detector ran (for benchmarks). */
  detections = 0;

  constructor(
    private readonly detector: FaceDetector,
    private readonly mesh: FaceMesh,
    options: TrackerOptions,
  ) {
    this.o = { maxMissed: 2, reidThreshold: DEFAULT_REID_THRESHOLD, ...options };
  }

  /** The faces of the next frame. */
  async process(frame: Frame): Promise<TrackedFace[]> {
    const detectNow = this.tracks.length === 0 || this.frames % this.o.detectEvery === 0;
    this.frames++;
    const fresh: Roi[] = [];
    if (detectNow) {
      this.detections++;
      for (const d of await this.detector.detect(frame)) {
        const roi = roiFromDetection(d);
        if (!this.tracks.some((t) => roiOverlap(t.roi, roi)) && !fresh.some((r) => roiOverlap(r, roi))) fresh.push(roi);
      }
    }

    const faces: TrackedFace[] = [];
    // Tracked faces: one mesh pass on the crops predicted from the last frame.
    const results = await this.mesh.run(frame, this.tracks.map((t) => t.roi));
    const survivors: Track[] = [];
    this.tracks.forEach((track, i) => {
      const r = results[i];
      if (r.score >= this.o.minFaceScore) {
        track.missed = 0;
        track.age++;
        track.roi = roiFromLandmarks(r.landmarks);
        faces.push(this.face(track, r.landmarks, r.score, false));
        survivors.push(track);
      } else if (++track.missed <= this.o.maxMissed) {
        survivors.push(track);
      } else {
        this.ended.push(track);
      }
    });
    this.tracks = survivors;

    // New faces: mesh on the detector's crop, then again on the crop the landmarks give (better framed).
    if (fresh.length) {
      const first = await this.mesh.run(frame, fresh);
      const confirmed = first.filter((r) => r.score >= this.o.minFaceScore).map((r) => roiFromLandmarks(r.landmarks));
      const refined = await this.mesh.run(frame, confirmed);
      refined.forEach((r) => {
        if (r.score < this.o.minFaceScore) return;
        const roi = roiFromLandmarks(r.landmarks);
        if (this.tracks.some((t) => roiOverlap(t.roi, roi))) return; // two detections of one face
        const track: Track = { id: this.nextId++, roi, missed: 0, age: 1, descriptorCount: 0 };
        this.tracks.push(track);
        faces.push(this.face(track, r.landmarks, r.score, true));
      });
    }

    faces.sort((a, b) => a.faceId - b.faceId);
    if (this.o.maxFaces > 0 && faces.length > this.o.maxFaces) {
      const keep = new Set([...faces].sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h).slice(0, this.o.maxFaces));
      return faces.filter((f) => keep.has(f));
    }
    return faces;
  }

  private face(track: Track, landmarks: Float32Array, score: number, isNew: boolean): TrackedFace {
    return { faceId: track.id, score, box: landmarkBox(landmarks), keypoints: fivePoints(landmarks), landmarks, roll: rollOf(landmarks), roi: track.roi, isNew };
  }

  /**
   * Feeds a face's appearance descriptor to its track. For a new track, an ended track that looks
   * the same hands over its `face_id`; the returned id is the one to report.
   */
  observe(faceId: number, descriptor: Float32Array, isNew: boolean): number {
    const track = this.tracks.find((t) => t.id === faceId);
    if (!track) return faceId;
    if (isNew && this.ended.length) {
      let best: Track | undefined;
      let bestSim = this.o.reidThreshold;
      for (const old of this.ended) {
        if (!old.descriptor || this.tracks.some((t) => t !== track && t.id === old.id)) continue;
        const sim = cosine(old.descriptor, descriptor);
        if (sim > bestSim) {
          bestSim = sim;
          best = old;
        }
      }
      if (best) {
        track.id = best.id;
        track.descriptor = best.descriptor;
        track.descriptorCount = best.descriptorCount;
        this.ended = this.ended.filter((t) => t !== best);
      }
    }
    // running mean of the descriptor, capped so it keeps following slow appearance changes
    const n = Math.min(track.descriptorCount, 50);
    if (!track.descriptor) track.descriptor = Float32Array.from(descriptor);
    else for (let i = 0; i < descriptor.length; i++) track.descriptor[i] = (track.descriptor[i] * n + descriptor[i]) / (n + 1);
    track.descriptorCount++;
    return track.id;
  }
}
