/**
 * Natural batching: items that arrive while `maxInFlight` batches are already running wait
 * and go together in the next batch. An idle system runs each item at once (no timer, no
 * added latency); a busy one turns many round trips into a few.
 *
 * Example: const lookup = new Coalescer((hashes: string[]) => db.keysByHash(hashes));
 *          await lookup.run(hash); // shares one query with concurrent callers
 */
export interface CoalescerOptions<I> {
  /** Batches running at once. Default 4. */
  maxInFlight?: number;
  /** Items per batch at most. Default 500. */
  maxBatch?: number;
  /** Items with the same conflict key never share a batch (the later waits for the next). */
  conflictKey?: (item: I) => string;
  /**
   * When a batch of several fails with an error this accepts, each item runs again alone, so
   * one bad item fails only its own caller. Errors that would fail any batch (an outage)
   * should be refused here: they reject the whole batch at once.
   */
  retryAlone?: (error: unknown) => boolean;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

export class Coalescer<I, O> {
  private readonly pending: Pending<I, O>[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;

  /** `runBatch` answers one output per input, in order. */
  constructor(
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    private readonly options: CoalescerOptions<I> = {},
  ) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.maxBatch = Math.max(1, options.maxBatch ?? 500);
  }

  run(item: I): Promise<O> {
    return this.runAll([item])[0]!;
  }

  /** Several items at once: they start together in one batch (as far as limits allow). */
  runAll(items: readonly I[]): Promise<O>[] {
    const outputs = items.map((item) => new Promise<O>((resolve, reject) => this.pending.push({ item, resolve, reject })));
    this.pump();
    return outputs;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.pending.length > 0) {
      const take: Pending<I, O>[] = [];
      const rest: Pending<I, O>[] = [];
      const seen = new Set<string>();
      for (const p of this.pending) {
        const key = this.options.conflictKey?.(p.item);
        if (take.length >= this.maxBatch || (key !== undefined && seen.has(key))) {
          rest.push(p);
          continue;
        }
        if (key !== undefined) seen.add(key);
        take.push(p);
      }
      this.pending.splice(0, this.pending.length, ...rest);
      this.inFlight++;
      this.flush(take).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: Pending<I, O>[]): Promise<void> {
    try {
      const out = await this.runBatch(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(out[i] as O));
    } catch (error) {
      if (batch.length > 1 && this.options.retryAlone?.(error)) {
        await Promise.all(batch.map((p) => this.flush([p])));
        return;
      }
      for (const p of batch) p.reject(error);
    }
  }
}
