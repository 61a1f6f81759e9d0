import { describe, expect, it } from 'vitest';
import { WindowBatcher } from '../../src/scoring/model-batcher.ts';

describe('WindowBatcher', () => {
  it('batches windows of concurrent callers and answers each its own', async () => {
    const passes: string[][] = [];
    const batcher = new WindowBatcher(async (texts) => (passes.push(texts), texts.map((t) => t.length)), 4, 1);
    const [a, b] = await Promise.all([batcher.scoreAll(['x', 'xx', 'xxx']), batcher.scoreAll(['xxxx', 'xxxxx'])]);
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([4, 5]);
    expect(passes.map((p) => p.length)).toEqual([4, 1]);
  });

  it('puts live windows ahead of a background backlog: a live article waits for one pass at most', async () => {
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
    expect(passes).toEqual([['b1', 'b2'], ['l1', 'l2'], ['l3', 'b3'], ['b4', 'b5'], ['b6']]);
  });
});
