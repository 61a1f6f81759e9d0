/**
 * Micro-batching of model windows across concurrent `score()` calls: windows queue up and
 * run together, up to `maxBatch` per forward pass, waiting at most `batchWaitMs` for a batch
 * to fill. At most `passes` forward passes run at a time (one per model thread).
 * Background windows (imports, rescans) run only when no live window waits, and never share a
 * pass with live ones (which would lengthen it): a live article never waits behind a rescan's
 * backlog, only behind the pass in progress. A pass holds the event loop, so every step of a
 * live article (its reads, writes, queue calls) can wait for one: while live traffic was seen
 * in the last `liveQuietMs`, background passes are short.
 */
export type BatchRunner = (texts: string[]) => Promise<number[]>;
/** Called after each forward pass (metrics): its windows, its seconds, live or background. */
export type PassListener = (windows: number, seconds: number, background: boolean) => void;

interface Pending {
  text: string;
  resolve: (v: number) => void;
  reject: (e: unknown) => void;
}

export interface BatcherStats {
  batches: number;
  windows: number;
  maxBatchSeen: number;
}

export class WindowBatcher {
  private queue: Pending[] = [];
  private background: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = 0;
  private lastLiveAt = -Infinity;
  readonly stats: BatcherStats = { batches: 0, windows: 0, maxBatchSeen: 0 };

  constructor(
    private readonly run: BatchRunner,
    private readonly maxBatch: number,
    private readonly batchWaitMs: number,
    private readonly passes = 1,
    private readonly liveQuietMs = 1000,
    private readonly onPass?: PassListener,
  ) {}

  /** Model score (logit) of one window's model text. */
  score(text: string, background = false): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      if (!background) this.lastLiveAt = performance.now();
      (background ? this.background : this.queue).push({ text, resolve, reject });
      this.schedule();
    });
  }

  /** Scores many windows; they may share batches with other callers' windows. */
  scoreAll(texts: string[], background = false): Promise<number[]> {
    return Promise.all(texts.map((t) => this.score(t, background)));
  }

  private get waiting(): number {
    return this.queue.length + this.background.length;
  }

  /**
   * The next batch: live windows while any wait, else background ones (few while live traffic
   * is about). A partial batch is shared with idle passes: a lone article's windows run on
   * every model thread at once.
   */
  private take(): { batch: Pending[]; background: boolean } {
    const live = this.queue.length > 0;
    const source = live ? this.queue : this.background;
    const liveAbout = performance.now() - this.lastLiveAt < this.liveQuietMs;
    const size = live || !liveAbout ? this.maxBatch : Math.max(1, Math.ceil(this.maxBatch / 8));
    const idle = this.passes - this.running;
    return { batch: source.splice(0, Math.min(size, Math.ceil(source.length / (1 + idle)))), background: !live };
  }

  private schedule(): void {
    if (this.running >= this.passes) return;
    if (this.waiting >= this.maxBatch) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.drain();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.drain();
      }, this.batchWaitMs);
    }
  }

  /** One pass loop; up to `passes` of them run at once, each taking the next batch. */
  private async drain(): Promise<void> {
    if (this.running >= this.passes) return;
    this.running++;
    try {
      while (this.waiting > 0) {
        const { batch, background } = this.take();
        if (this.waiting > 0) void this.drain(); // the rest on an idle pass, if any
        this.stats.batches++;
        this.stats.windows += batch.length;
        this.stats.maxBatchSeen = Math.max(this.stats.maxBatchSeen, batch.length);
        try {
          const started = performance.now();
          const out = await this.run(batch.map((p) => p.text));
          this.onPass?.(batch.length, (performance.now() - started) / 1000, background);
          batch.forEach((p, i) => p.resolve(out[i]!));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
        // let callers that are mid-way through queueing their windows join the next batch
        if (this.waiting > 0 && this.waiting < this.maxBatch && this.batchWaitMs > 0) {
          await new Promise((r) => setTimeout(r, this.batchWaitMs));
        }
      }
    } finally {
      this.running--;
    }
  }
}
