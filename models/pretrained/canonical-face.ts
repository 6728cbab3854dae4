/**
 * MediaPipe's canonical 3-D face: the metric model of an average face (468 vertices, same indices as
 * the FaceMesh landmarks) that MediaPipe's face-geometry module fits to FaceMesh output, and the
 * weighted landmarks it uses for that fit (points that move little with expressions).
 *
 * It is read from the npm package `@mediapipe/face_mesh` (Apache-2.0), where it is one file
 * (`geometry_pipeline_metadata_landmarks.binarypb`, a protobuf) inside the solution's packed asset
 * blob; the blob's loader script lists where each file starts and ends.
 *
 * Coordinates are returned in the head frame OpenFace uses for its pose (millimetres; x towards the
 * image's right when the face looks at the camera, i.e. the subject's left; y down; z away from the
 * camera), with the origin at the centroid of the points that correspond to the 68 iBUG landmarks
 * OpenFace's own face model is built on, so `pose_T*` refer to comparable points of the head.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ModelSourceError } from './face-models.js';

export const CANONICAL_POINTS = 468;
const METADATA_FILE = 'geometry_pipeline_metadata_landmarks.binarypb';
const REINSTALL = "reinstall the project's dependencies with `npm ci`";

/**
 * FaceMesh indices of the 68 iBUG/Multi-PIE landmarks (jaw 0–16, brows 17–26, nose 27–35, eyes
 * 36–47, mouth 48–67): the correspondence used to place the head origin where OpenFace's is.
 */
export const IBUG68_IN_MESH = [
  162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
  71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
  168, 197, 5, 4, 75, 97, 2, 326, 305,
  33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
  61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
] as const;

export interface CanonicalFace {
  /** 468 × (x, y, z) in millimetres, head frame (see the file comment). */
  vertices: Float64Array;
  /** The landmarks MediaPipe fits the model with, and their weights (they sum to about 1). */
  basis: { index: number; weight: number }[];
}

// The metadata's schema (mediapipe/modules/face_geometry/protos): only the fields read here.
const SCHEMA = protobuf.Root.fromJSON({
  nested: {
    Mesh3d: { fields: { vertexType: { id: 1, type: 'int32' }, primitiveType: { id: 2, type: 'int32' }, vertexBuffer: { id: 3, type: 'float', rule: 'repeated' }, indexBuffer: { id: 4, type: 'uint32', rule: 'repeated' } } },
    WeightedLandmarkRef: { fields: { landmarkId: { id: 1, type: 'uint32' }, weight: { id: 2, type: 'float' } } },
    GeometryPipelineMetadata: { fields: { canonicalMesh: { id: 1, type: 'Mesh3d' }, procrustesLandmarkBasis: { id: 2, type: 'WeightedLandmarkRef', rule: 'repeated' }, inputSource: { id: 3, type: 'int32' } } },
  },
});
const Metadata = SCHEMA.lookupType('GeometryPipelineMetadata');

/** The folder of the `@mediapipe/face_mesh` package (its package.json is not exported, so walk up from its entry). */
export function mediapipeFaceMeshDir(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('@mediapipe/face_mesh');
  } catch {
    throw new ModelSourceError('the npm package @mediapipe/face_mesh is missing', REINSTALL, '@mediapipe/face_mesh');
  }
  return path.dirname(entry);
}

/** The bytes of one file inside the packed asset blob, located through the loader's file table. */
function packedFile(dir: string, name: string): Buffer {
  const loader = path.join(dir, 'face_mesh_solution_packed_assets_loader.js');
  const blob = path.join(dir, 'face_mesh_solution_packed_assets.data');
  if (!existsSync(loader) || !existsSync(blob)) throw new ModelSourceError('the face geometry assets of @mediapipe/face_mesh are missing', REINSTALL, dir);
  // The loader passes its file table to loadPackage() as a JSON object literal.
  const table = /loadPackage\((\{"files":.*?\})\)/s.exec(readFileSync(loader, 'utf8'));
  let files: { filename: string; start: number; end: number }[];
  try {
    files = (JSON.parse(table?.[1] ?? '') as { files: typeof files }).files;
  } catch {
    throw new ModelSourceError('cannot read the file table of the @mediapipe/face_mesh assets', REINSTALL, loader);
  }
  const file = files.find((f) => f.filename.endsWith(`/${name}`));
  if (!file) throw new ModelSourceError(`${name} is not among the @mediapipe/face_mesh assets`, REINSTALL, loader);
  const data = readFileSync(blob);
  if (file.end > data.length || file.start >= file.end) throw new ModelSourceError(`${path.basename(blob)} is shorter than its file table says`, REINSTALL, blob);
  return data.subarray(file.start, file.end);
}

let cached: CanonicalFace | undefined;

export function canonicalFace(dir = mediapipeFaceMeshDir()): CanonicalFace {
  if (cached && dir === mediapipeFaceMeshDir()) return cached;
  const bytes = packedFile(dir, METADATA_FILE);
  let message: { canonicalMesh?: { vertexBuffer?: number[] }; procrustesLandmarkBasis?: { landmarkId?: number; weight?: number }[] };
  try {
    message = Metadata.toObject(Metadata.decode(bytes)) as typeof message;
  } catch (err) {
    throw new ModelSourceError(`${METADATA_FILE} cannot be decoded: ${(err as Error).message}`, REINSTALL, dir);
  }
  const buffer = message.canonicalMesh?.vertexBuffer ?? [];
  // vertex layout VERTEX_PT: x, y, z (centimetres; y up, z towards the viewer), u, v
  if (buffer.length !== CANONICAL_POINTS * 5) throw new ModelSourceError(`${METADATA_FILE}: ${buffer.length / 5} vertices, expected ${CANONICAL_POINTS}`, REINSTALL, dir);
  const vertices = new Float64Array(CANONICAL_POINTS * 3);
  for (let i = 0; i < CANONICAL_POINTS; i++) {
    vertices[3 * i] = buffer[5 * i] * 10;
    vertices[3 * i + 1] = -buffer[5 * i + 1] * 10;
    vertices[3 * i + 2] = -buffer[5 * i + 2] * 10;
  }
  const origin = [0, 0, 0];
  for (const p of IBUG68_IN_MESH) for (let a = 0; a < 3; a++) origin[a] += vertices[3 * p + a] / IBUG68_IN_MESH.length;
  for (let i = 0; i < CANONICAL_POINTS; i++) for (let a = 0; a < 3; a++) vertices[3 * i + a] -= origin[a];
  const basis = (message.procrustesLandmarkBasis ?? []).map((b) => ({ index: b.landmarkId ?? 0, weight: b.weight ?? 0 }));
  if (!basis.length || basis.some((b) => b.index >= CANONICAL_POINTS || !(b.weight > 0))) throw new ModelSourceError(`${METADATA_FILE}: bad landmark basis`, REINSTALL, dir);
  const face = { vertices, basis };
  if (dir === mediapipeFaceMeshDir()) cached = face;
  return face;
}
