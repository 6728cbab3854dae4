/** The states of the long jobs (batch prediction, training) the app shows and persists. */

export interface BatchItem {
  file: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  error?: string;
  output?: string;
  /**
   * What a user should know about a finished video although it is done: decoded fewer frames than
   * expected (truncated file), no face found, a face in only x % of the frames. "Done with warnings".
   */
  warnings?: string[];
}

export interface BatchState {
  items: BatchItem[];
  running: boolean;
  /** Pause was asked: the running video is finished first, then the batch stops (nothing restarts from 0). */
  pausing?: boolean;
  outDir?: string;
  format?: string;
}

/**
 * One epoch of a training run. A task without validation labels has no score: NaN in the engine,
 * null once it has crossed JSON.
 */
export interface TrainEpoch {
  epoch: number;
  loss: number;
  cccValence: number | null;
  cccArousal: number | null;
  f1Expression: number | null;
  f1Au: number | null;
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
