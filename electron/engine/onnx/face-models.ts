/**
 * Opens the converted face models. A cached conversion that ONNX Runtime cannot load (damaged on
 * disk) is rebuilt once from the npm package before giving up.
 */
import { ensureFaceModel, type FaceModelId } from '../../../models/pretrained/face-models.js';
import type { ModelSession, SessionFactory } from './sessions.js';

export async function openFaceModel(sessions: SessionFactory, id: FaceModelId, label: string = id): Promise<ModelSession> {
  const file = ensureFaceModel(id, { force: false });
  try {
    return await sessions.create(file, label);
  } catch {
    return sessions.create(ensureFaceModel(id, { force: true }), label);
  }
}
