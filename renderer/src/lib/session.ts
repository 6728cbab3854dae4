/**
 * What a reload should bring back — the open video, the run shown, the zoom, the tab, the annotator —
 * kept in the browser's localStorage (per page origin). A deep link `?video=<path>` wins over it.
 */
import type { View } from './timeline-math.js';

export type Tab = 'models' | 'annotate' | 'rate' | 'batch' | 'agreement' | 'train';
export const TABS: Tab[] = ['models', 'annotate', 'rate', 'batch', 'agreement', 'train'];

export interface Session {
  videoPath?: string;
  runId?: string;
  compareId?: string;
  view?: View;
  tab?: Tab;
  annotator?: string;
}

const KEY = 'affect-studio.session';

export function loadSession(): Session {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Session;
    return typeof raw === 'object' && raw ? raw : {};
  } catch {
    return {};
  }
}

export function saveSession(patch: Session): void {
  try {
    localStorage.setItem(KEY, JSON.stringify({ ...loadSession(), ...patch }));
  } catch {
    // storage full or disabled: a reload then starts fresh, nothing else is lost
  }
}

/** The video a deep link asks for (`/?video=/path/to/clip.mp4`), if any. */
export function deepLinkVideo(): string | undefined {
  return new URLSearchParams(location.search).get('video') ?? undefined;
}
