/**
 * Progress for long jobs: a live bar with frames/s and ETA on a terminal, plain timestamped lines
 * (every few seconds) when output goes to a file or a CI log.
 */
import cliProgress from 'cli-progress';

export interface ProgressSink {
  start(label: string, total: number): void;
  update(done: number, total: number, extra?: string): void;
  stop(): void;
  /** A message that must not be drawn over by the bar. */
  log(line: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, plainEverySec = 5): ProgressSink {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream, plainEverySec);
}

const fmtDuration = (sec: number): string => {
  if (!Number.isFinite(sec) || sec < 0) return '--';
  const m = Math.floor(sec / 60);
  const s = Math.round(sec % 60);
  return m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
};

class Rate {
  private t0 = performance.now();
  reset(): void {
    this.t0 = performance.now();
  }
  perSecond(done: number): number {
    const dt = (performance.now() - this.t0) / 1000;
    return dt > 0 ? done / dt : 0;
  }
}

class BarProgress implements ProgressSink {
  private readonly bar: cliProgress.SingleBar;
  private readonly rate = new Rate();
  private active = false;

  constructor(stream: NodeJS.WriteStream) {
    this.bar = new cliProgress.SingleBar({
      stream,
      format: '{label} {bar} {percentage}% | {value}/{total} frames | {fps} fps | ETA {eta_formatted} {extra}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
  }

  start(label: string, total: number): void {
    this.rate.reset();
    this.bar.start(total, 0, { label, fps: '0.0', extra: '' });
    this.active = true;
  }

  update(done: number, total: number, extra = ''): void {
    this.bar.setTotal(total);
    this.bar.update(done, { fps: this.rate.perSecond(done).toFixed(1), extra });
  }

  stop(): void {
    if (this.active) this.bar.stop();
    this.active = false;
  }

  log(line: string): void {
    if (this.active) this.bar.stop();
    process.stderr.write(`${line}\n`);
    this.active = false;
  }
}

class LineProgress implements ProgressSink {
  private readonly rate = new Rate();
  private label = '';
  private last = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly everySec: number,
  ) {}

  start(label: string, total: number): void {
    this.label = label;
    this.rate.reset();
    this.last = performance.now();
    this.stream.write(`${label}: starting (${total} frames expected)\n`);
  }

  update(done: number, total: number, extra = ''): void {
    const now = performance.now();
    if (now - this.last < this.everySec * 1000) return;
    this.last = now;
    const fps = this.rate.perSecond(done);
    const eta = fps > 0 ? (total - done) / fps : NaN;
    this.stream.write(`${this.label}: ${done}/${total} frames (${Math.floor((100 * done) / Math.max(1, total))}%), ${fps.toFixed(1)} fps, ETA ${fmtDuration(eta)} ${extra}\n`);
  }

  stop(): void {}

  log(line: string): void {
    this.stream.write(`${line}\n`);
  }
}
