import { describe, expect, it } from 'vitest';
import { WindowBatcher } from '../../src/scoring/model-batcher.ts';

describe('WindowBatcher', () => {
  it('batches windows of concurrent callers and answers each its own', async () => {
    const passes: string[][] = [];
    const batcher = new WindowBatcher(
      async (texts) => {
        passes.push(texts);
        return texts.map((t) => t.length);
      },
      4,
      1,
    );
    const [a, b] = await Promise.all([batcher.scoreAll(['x', 'xx', 'xxx']), batcher.scoreAll(['xxxx', 'xxxxx'])]);
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([4, 5]);
    expect(passes.map((p) => p.length)).toEqual([4, 1]);
  });

  it('puts live windows ahead of a background backlog, in passes of their own: a live article waits for one pass at most', async () => {
    const passes: string[][] = [];
    let release: () => void = () => undefined;
    const first = new Promise<void>((r) => (release = r));
    const batcher = new WindowBatcher(
      async (texts) => {
        passes.push(texts);
        if (passes.length === 1) await first;
        return texts.map(() => 0);
      },
      2,
      0,
    );
    const backlog = batcher.scoreAll(['b1', 'b2', 'b3', 'b4', 'b5', 'b6'], true);
    await new Promise((r) => setTimeout(r, 5)); // the first background pass is running
    const live = batcher.scoreAll(['l1', 'l2', 'l3']);
    release();
    await Promise.all([backlog, live]);
    // then the backlog in short passes: live traffic was just seen
    expect(passes).toEqual([['b1', 'b2'], ['l1', 'l2'], ['l3'], ['b3'], ['b4'], ['b5'], ['b6']]);
  });

  it('keeps background passes short while live traffic is about, and full again once it is quiet', async () => {
    const passes: number[] = [];
    const batcher = new WindowBatcher(
      async (texts) => {
        passes.push(texts.length);
        return texts.map(() => 0);
      },
      16,
      0,
      1,
      50,
    );
    await batcher.scoreAll(['l1']);
    await batcher.scoreAll(
      Array.from({ length: 8 }, (_, i) => `b${i}`),
      true,
    );
    expect(passes).toEqual([1, 2, 2, 2, 2]);
    await new Promise((r) => setTimeout(r, 60));
    await batcher.scoreAll(
      Array.from({ length: 20 }, (_, i) => `b${i}`),
      true,
    );
    expect(passes.slice(5)).toEqual([16, 4]);
  });

  it('runs up to `passes` forward passes at once and spreads a partial batch over them', async () => {
    const passes: number[] = [];
    let running = 0;
    let most = 0;
    const batcher = new WindowBatcher(
      async (texts) => {
        passes.push(texts.length);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return texts.map((t) => t.length);
      },
      16,
      0,
      2,
    );
    const texts = Array.from({ length: 10 }, (_, i) => 'x'.repeat(i + 1));
    expect(await batcher.scoreAll(texts)).toEqual(texts.map((t) => t.length));
    expect(passes).toEqual([5, 5]);
    expect(most).toBe(2);
  });
});
