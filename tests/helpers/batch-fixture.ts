/**
 * A folder of five real clips for batch tests (sharding, merge, SLURM): the two sample clips, plus
 * the team's three other shared clips when present, else three made on the spot (no face, a face
 * that leaves and returns, two faces). Files are copied: folders are walked for regular files only.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { faceLeavesAndReturns, haveSharedVideos, sampleVideo, sharedVideo, testPatternVideo, tmpDir, twoFaceVideo } from './fixtures.js';

/** The stem of the longest clip (472 frames): the one to cancel mid-way. */
export const LONGEST_CLIP = 'WolfgangLanger_Pexels';

export function batchOfClips(): string {
  const dir = path.join(tmpDir(), 'batch-of-clips');
  if (existsSync(dir)) return dir;
  const staging = `${dir}.partial`;
  mkdirSync(staging, { recursive: true });
  const others = haveSharedVideos
    ? [sharedVideo('no_face.mp4'), sharedVideo('face_noface.mov'), sharedVideo('noface_face.mov')]
    : [testPatternVideo(60, 25, '320x240'), faceLeavesAndReturns(), twoFaceVideo()];
  for (const f of [sampleVideo('single_face.mp4'), sampleVideo('WolfgangLanger_Pexels.mp4'), ...others]) copyFileSync(f, path.join(staging, path.basename(f)));
  renameSync(staging, dir); // whole, so a folder that exists is complete
  return dir;
}
