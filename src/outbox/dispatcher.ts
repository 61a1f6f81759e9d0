/**
 * The outbox dispatcher: turns committed `events` rows into side effects (webhook deliveries,
 * cluster joins, re-evaluations), one durable cursor per consumer in `outbox_cursors`.
 *
 * - At least once, idempotent consumers: the cursor moves only after a batch was handled, so a
 *   process killed mid-batch hands the same events to the next one; every consumer's effect is
 *   keyed by the event (delivery ids, cluster union, job ids), so doing it twice changes nothing.
 * - Nothing skipped: events are read in (txid, id) order and only from transactions older than
 *   every running one (see migration 060), so an event that commits late cannot land behind a
 *   cursor. A batch always ends on a transaction boundary, so one decision's events stay together.
 * - One dispatcher per consumer at a time: a lease on the cursor row, renewed with each batch and
 *   taken over once it runs out (a killed worker's); any number of workers may run one.
 * - A consumer that fails keeps its cursor and retries after a pause; the others go on.
 *
 * Example:
 *   const dispatcher = new OutboxDispatcher(db, [webhookConsumer(...), clusterConsumer(...)], { pollMs: 250, batch: 500, leaseMs: 15000 }, log);
 *   dispatcher.start();          // in the worker process
 *   await dispatcher.drain();    // tests and benches: until every consumer has caught up
 *   await dispatcher.close();    // stops, releases the leases
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../db/db.ts';
import { advanceCursor, ensureCursor, eventsAfter, leaseCursor, type OutboxEvent, releaseLeases, restOfTransaction } from '../store/outbox.ts';

export type { OutboxEvent } from '../store/outbox.ts';

export interface OutboxConsumer {
  /** The cursor's name in `outbox_cursors`. */
  readonly name: string;
  /** Event types handed to `handle`; the cursor moves past the others. */
  readonly types: readonly string[];
  /** Handles a batch (in commit order); throwing keeps the cursor, so the batch comes again. */
  handle(events: OutboxEvent[]): Promise<void>;
}

export interface DispatcherSettings {
  pollMs: number;
  batch: number;
  leaseMs: number;
}

export class OutboxDispatcher {
  private readonly owner = `dsp_${randomBytes(6).toString('hex')}`;
  private stopped = true;
  private readonly loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  /** Consumers whose cursor row is known to exist. */
  private readonly ensured = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly consumers: readonly OutboxConsumer[],
    private readonly settings: DispatcherSettings,
    private readonly log: Logger,
  ) {}

  /** Runs every consumer in its own loop until `close`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const consumer of this.consumers) this.loops.push(this.loop(consumer));
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await Promise.all(this.loops.splice(0));
    await releaseLeases(this.db, this.owner).catch((error: unknown) => this.log.warn({ err: error }, 'could not release outbox leases'));
  }

  /**
   * Handles one batch for a consumer when this process holds (or takes) its lease. Returns the
   * events the cursor moved past, or null when another dispatcher holds the lease.
   */
  async runOnce(consumer: OutboxConsumer): Promise<number | null> {
    if (!this.ensured.has(consumer.name)) {
      // A consumer added after the migration starts at the present, like those it created.
      await ensureCursor(this.db, consumer.name);
      this.ensured.add(consumer.name);
    }
    const cursor = await leaseCursor(this.db, consumer.name, this.owner, this.settings.leaseMs);
    if (!cursor) return null;
    const events = await eventsAfter(this.db, cursor, this.settings.batch);
    const last = events[events.length - 1];
    if (!last) return 0;
    if (events.length === this.settings.batch) {
      // End on a transaction boundary: the rest of the last transaction comes in this batch.
      events.push(...(await restOfTransaction(this.db, last.txid, last.id)));
    }
    const mine = events.filter((e) => consumer.types.includes(e.type));
    if (mine.length > 0) await consumer.handle(mine);
    const end = events[events.length - 1]!;
    await advanceCursor(this.db, consumer.name, this.owner, end, this.settings.leaseMs);
    return events.length;
  }

  /** Runs every consumer until none has anything left (tests, benches, CLI). */
  async drain(): Promise<void> {
    for (;;) {
      let moved = 0;
      for (const consumer of this.consumers) {
        for (;;) {
          const n = await this.runOnce(consumer);
          if (!n) break;
          moved += n;
        }
      }
      if (moved === 0) return;
    }
  }

  private async loop(consumer: OutboxConsumer): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let moved: number | null = 0;
      try {
        moved = await this.runOnce(consumer);
        failures = 0;
      } catch (error) {
        failures++;
        this.log.warn({ err: error, consumer: consumer.name, failures }, 'outbox consumer failed; the batch will be retried');
      }
      // A full batch: go on at once. Otherwise wait (longer after failures, up to 30 polls).
      if (moved !== null && moved >= this.settings.batch && failures === 0) continue;
      await this.sleep(this.settings.pollMs * Math.min(30, 2 ** failures));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
