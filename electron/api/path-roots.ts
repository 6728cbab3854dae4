/**
 * The folders a session may touch on behalf of its UI: videos, imports, export and output folders
 * must lie under one of them. Web mode: `serve --root DIR…` (default: the user's home folder, as
 * Jupyter's root_dir); the desktop app: what the user chose in a native dialog. Paths are compared
 * after resolving symbolic links, so a link inside a root cannot lead outside it.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../common/errors.js';
import { isWithin } from '../../common/node/confined-path.js';

function real(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

export class PathRoots {
  private readonly roots: string[] = [];

  constructor(
    roots: string[],
    /** What the user can do to allow a folder (shown when a path is refused). */
    private readonly howToAllow: string,
  ) {
    for (const r of roots) this.grant(r);
  }

  /** Allows a folder (or a single file) and everything below it. */
  grant(p: string): void {
    const r = real(path.resolve(p));
    if (!this.roots.some((x) => isWithin(x, r))) this.roots.push(r);
  }

  list(): string[] {
    return [...this.roots];
  }

  /** The real location of `p`, following links; for a path that does not exist yet, of its nearest existing folder plus the rest. */
  private locate(p: string): string {
    const abs = path.resolve(p);
    let existing = abs;
    while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
    return path.join(real(existing), path.relative(existing, abs));
  }

  /** True when `p` (resolved, links followed) lies under a root. */
  allows(p: string): boolean {
    const where = this.locate(p);
    return this.roots.some((r) => isWithin(r, where));
  }

  /** The root `p` lies under (the deepest one), or undefined. */
  rootOf(p: string): string | undefined {
    const where = this.locate(p);
    return this.roots.filter((r) => isWithin(r, where)).sort((a, b) => b.length - a.length)[0];
  }

  /**
   * `p` resolved (links followed where they exist), or a UserError naming it when it lies outside
   * every root. `what` says what the path is for ("video", "output folder").
   */
  check(p: string, what: string): string {
    const where = this.locate(p);
    if (!this.roots.some((r) => isWithin(r, where))) {
      throw new UserError(`the ${what} is outside the folders this session may use (${this.roots.join(', ') || 'none yet'})`, this.howToAllow, path.resolve(p));
    }
    return where;
  }
}
