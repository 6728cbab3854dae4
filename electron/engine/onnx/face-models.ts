/**
 * Opens the converted face models. A cached conversion that ONNX Runtime cannot load (damaged on
 * disk) is rebuilt once from the npm package before giving up.
 */
import { ensureFaceModel, ModelSourceError, type FaceModelId } from '../../../models/pretrained/face-models.js';
import { UserError } from '../errors.js';
import type { ModelSession, SessionFactory } from './sessions.js';

function converted(id: FaceModelId, force: boolean): string {
  try {
    return ensureFaceModel(id, { force });
  } catch (err) {
    if (err instanceof ModelSourceError) throw new UserError(err.message, err.hint);
    throw err;
  }
}

export async function openFaceModel(sessions: SessionFactory, id: FaceModelId, label: string = id): Promise<ModelSession> {
  const file = converted(id, false);
  try {
    return await sessions.create(file, label);
  } catch {
    return sessions.create(converted(id, true), label);
  }
}
