/**
 * Undo and redo of annotation edits: each user action is a group of operations together with the
 * operations that reverse it (computed before applying, from the document as it was).
 */
import { applyOp, inverseOps } from '../../../common/annotations.js';
import type { AnnotationDoc, AnnotationOp } from '../../../common/annotations.js';

export interface Edit {
  ops: AnnotationOp[];
  inverse: AnnotationOp[];
}

export class UndoStack {
  private done: Edit[] = [];
  private undone: Edit[] = [];

  /** Applies `ops` to `doc`, remembers how to reverse them, and returns the new document. */
  record(doc: AnnotationDoc, ops: AnnotationOp[]): { doc: AnnotationDoc; edit: Edit } {
    let cur = doc;
    const inverse: AnnotationOp[] = [];
    for (const op of ops) {
      inverse.unshift(...inverseOps(cur, op));
      cur = applyOp(cur, op);
    }
    const edit = { ops, inverse };
    this.done.push(edit);
    this.undone = [];
    return { doc: cur, edit };
  }

  /** Appends operations to the last edit (samples of a rating take in progress). */
  extend(doc: AnnotationDoc, ops: AnnotationOp[]): AnnotationDoc {
    const last = this.done[this.done.length - 1];
    let cur = doc;
    for (const op of ops) cur = applyOp(cur, op);
    if (last) last.ops.push(...ops);
    return cur;
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** The operations to send to undo the last edit, or undefined. */
  undo(): AnnotationOp[] | undefined {
    const e = this.done.pop();
    if (!e) return undefined;
    this.undone.push(e);
    return e.inverse;
  }

  redo(): AnnotationOp[] | undefined {
    const e = this.undone.pop();
    if (!e) return undefined;
    this.done.push(e);
    return e.ops;
  }
}
