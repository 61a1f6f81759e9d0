import { describe, expect, it } from 'vitest';
import { Coalescer, type CoalescerOptions } from '../../src/infra/coalescer.ts';

describe('Coalescer', () => {
  /** A coalescer whose first batch waits for `release`, so later items pile up behind it. */
  function heldFirstBatch(work: (items: number[]) => number[], options: CoalescerOptions<number> = {}) {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Coalescer<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return work(items);
      },
      { maxInFlight: 1, ...options },
    );
    return { c, batches, release: () => release() };
  }

  it('runs at once when idle and batches what arrives while batches are in flight', async () => {
    const { c, batches, release } = heldFirstBatch((items) => items.map((i) => i * 10));
    const first = c.run(1);
    const rest = [2, 3, 4].map((i) => c.run(i));
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('never puts two items with the same conflict key in one batch', async () => {
    const batches: string[][] = [];
    const c = new Coalescer<string, string>(
      async (items) => {
        batches.push(items);
        return items;
      },
      { maxInFlight: 1, conflictKey: (s) => s.split(':')[0]! },
    );
    const out = await Promise.all(['a:1', 'b:1', 'a:2', 'a:3'].map((s) => c.run(s)));
    expect(out).toEqual(['a:1', 'b:1', 'a:2', 'a:3']);
    for (const batch of batches) expect(new Set(batch.map((s) => s.split(':')[0])).size).toBe(batch.length);
  });

  it('rejects every item of a failed batch and keeps serving', async () => {
    let fail = true;
    const c = new Coalescer<number, number>(async (items) => {
      if (fail) throw new Error('down');
      return items;
    });
    await expect(c.run(1)).rejects.toThrow('down');
    fail = false;
    expect(await c.run(2)).toBe(2);
  });

  it('retries the items of a failed batch alone when asked, so one bad item fails only itself', async () => {
    const { c, batches, release } = heldFirstBatch(
      (items) => {
        if (items.includes(13)) throw new Error(items.length > 1 ? 'batch refused' : 'bad item');
        return items;
      },
      { retryAlone: (e) => (e as Error).message !== 'outage' },
    );
    const first = c.run(1);
    const rest = [12, 13, 14].map((i) => c.run(i).catch((e: Error) => e.message));
    release();
    await first;
    expect(await Promise.all(rest)).toEqual([12, 'bad item', 14]);
    expect(batches).toEqual([[1], [12, 13, 14], [12], [13], [14]]);
  });
});
