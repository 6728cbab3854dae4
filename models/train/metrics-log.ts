/** metrics.csv: one row per epoch (training losses, validation metrics, learning rate, time), for plotting. */
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EpochRecord } from './trainer.js';

export const METRICS_HEADER = 'epoch,loss,loss_valence,loss_arousal,loss_expression,loss_au,val_ccc_valence,val_ccc_arousal,val_f1_expression,val_f1_au,val_f1_au_tuned,val_p_mtl,learning_rate,seconds';

const COLUMNS: (keyof EpochRecord)[] = ['epoch', 'loss', 'lossValence', 'lossArousal', 'lossExpression', 'lossAu', 'cccValence', 'cccArousal', 'f1Expression', 'f1Au', 'f1AuTuned', 'pMtl', 'learningRate', 'seconds'];

export class MetricsLog {
  readonly file: string;

  constructor(outDir: string) {
    this.file = path.join(outDir, 'metrics.csv');
  }

  /** A new run starts a new file; a resumed run appends to its own. */
  start(): void {
    writeFileSync(this.file, `${METRICS_HEADER}\n`);
  }

  append(r: EpochRecord): void {
    appendFileSync(this.file, `${COLUMNS.map((k) => +r[k].toPrecision(6)).join(',')}\n`);
  }
}
