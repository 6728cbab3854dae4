/**
 * A project: a folder holding what researchers make around their videos — model runs,
 * annotations, the batch queue — and the list of videos opened in it (project.json). Videos stay
 * where they are; only files opened here can be served to the UI.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { readJsonOrSetAside, writeFileAtomic } from '../../../common/node/storage.js';
import { fileError } from '../../../common/node/fs-errors.js';
import type { VideoInfo } from '../video/probe.js';

export interface ProjectVideo {
  videoId: string;
  path: string;
  opened: string;
}

interface ProjectFile {
  format: 'affect-studio-project/1';
  videos: ProjectVideo[];
}

export class Project {
  private data: ProjectFile;
  /** What went wrong opening the project (a damaged project.json set aside), for the UI to show. */
  readonly problems: string[] = [];
  /** Probe results of the videos opened in this session (the project file keeps only paths). */
  private readonly info = new Map<string, { info: VideoInfo; frameTimes: number[] }>();

  constructor(readonly dir: string) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw fileError(err, dir, 'create the project folder');
    }
    // a damaged project file must not keep the app from starting: set it aside, say so, start empty
    const { value, problem } = readJsonOrSetAside<ProjectFile>(path.join(dir, 'project.json'), 'project\'s list of videos', () => ({ format: 'affect-studio-project/1', videos: [] }), checkProjectFile);
    this.data = value;
    if (problem) this.problems.push(problem);
  }

  get runsDir(): string {
    return path.join(this.dir, 'runs');
  }

  get annotationsDir(): string {
    return path.join(this.dir, 'annotations');
  }

  get batchFile(): string {
    return path.join(this.dir, 'batch.json');
  }

  /** A stable id for a video file: its name and a hash of its absolute path. */
  static videoId(file: string): string {
    const abs = path.resolve(file);
    // a safe id (common/ids.ts): no separators, no leading dot
    const stem = path.basename(abs, path.extname(abs)).replace(/[^\p{L}\p{N}_.-]+/gu, '_').replace(/^\./, '_').slice(0, 60);
    return `${stem}-${createHash('sha1').update(abs).digest('hex').slice(0, 8)}`;
  }

  register(file: string, info: VideoInfo, frameTimes: number[]): string {
    const abs = path.resolve(file);
    const videoId = Project.videoId(abs);
    this.info.set(videoId, { info, frameTimes });
    this.data.videos = [{ videoId, path: abs, opened: new Date().toISOString() }, ...this.data.videos.filter((v) => v.videoId !== videoId)].slice(0, 50);
    writeFileAtomic(path.join(this.dir, 'project.json'), `${JSON.stringify(this.data, null, 2)}\n`);
    return videoId;
  }

  /** A video opened in this session, or undefined (nothing else is served). */
  opened(videoId: string): { path: string; info: VideoInfo; frameTimes: number[] } | undefined {
    const v = this.data.videos.find((x) => x.videoId === videoId);
    const i = this.info.get(videoId);
    return v && i ? { path: v.path, ...i } : undefined;
  }

  recent(): ProjectVideo[] {
    return this.data.videos.filter((v) => existsSync(v.path));
  }
}

function checkProjectFile(raw: unknown): ProjectFile {
  const videos = (raw as Partial<ProjectFile> | null)?.videos;
  if (!Array.isArray(videos) || videos.some((v) => typeof v?.videoId !== 'string' || typeof v?.path !== 'string' || typeof v?.opened !== 'string')) {
    throw new Error('its "videos" list is missing or malformed');
  }
  return { format: 'affect-studio-project/1', videos };
}
