/** The states of the long jobs (batch prediction, training) the app shows and persists. */

export interface BatchItem {
  file: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  error?: string;
  output?: string;
}

export interface BatchState {
  items: BatchItem[];
  running: boolean;
  outDir?: string;
  format?: string;
}

export interface TrainEpoch {
  epoch: number;
  loss: number;
  cccValence: number;
  cccArousal: number;
  f1Expression: number;
  f1Au: number;
  pMtl: number;
}

export interface TrainState {
  status: 'idle' | 'preparing' | 'training' | 'stopped' | 'done' | 'failed';
  preset?: string;
  run?: string;
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  loss?: number;
  history: TrainEpoch[];
  bundleDir?: string;
  error?: string;
  videos?: number;
}
