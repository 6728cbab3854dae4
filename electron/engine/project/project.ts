/**
 * A project: a folder holding what researchers make around their videos — model runs,
 * annotations, the batch queue — and the list of videos opened in it (project.json). Videos stay
 * where they are; only files opened here can be served to the UI.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../common/node/storage.js';
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
  /** Probe results of the videos opened in this session (the project file keeps only paths). */
  private readonly info = new Map<string, { info: VideoInfo; frameTimes: number[] }>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'project.json');
    this.data = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ProjectFile) : { format: 'affect-studio-project/1', videos: [] };
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
    const stem = path.basename(abs, path.extname(abs)).replace(/[^\p{L}\p{N}_.-]+/gu, '_').slice(0, 60);
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
