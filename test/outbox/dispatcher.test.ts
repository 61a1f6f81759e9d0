import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OutboxEvent, OutboxDispatcher } from '../../src/outbox/dispatcher.ts';
import { crossesStep } from '../../src/services/reevaluation.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';

describe('outbox dispatcher', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  const insert = (db: { query: TestEnv['ctx']['db']['query'] }, n: number) =>
    db.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor) VALUES ('t', 'test', $1, 'test.happened', 'test')`, [`e${n}`]);

  it('never moves past an event whose transaction commits late, and hands each event over once in commit order', async () => {
    const seen: OutboxEvent[] = [];
    const consumer = { name: 'test-order', types: ['test.happened'], handle: async (events: OutboxEvent[]) => void seen.push(...events) };
    const dispatcher = new OutboxDispatcher(env.ctx.db, [consumer], { pollMs: 20, batch: 2, leaseMs: 5000 }, pino({ level: 'silent' }));
    await dispatcher.runOnce(consumer); // the cursor starts at the present

    // A transaction that takes its event id first but commits last.
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let inserted!: () => void;
    const started = new Promise<void>((resolve) => (inserted = resolve));
    const slow = env.ctx.db.transaction(async (tx) => {
      await insert(tx, 1);
      inserted();
      await held;
    });
    await started;
    await insert(env.ctx.db, 2);
    await insert(env.ctx.db, 3);
    // Events 2 and 3 are committed, but a transaction older than them still runs: nothing is read.
    expect(await dispatcher.runOnce(consumer)).toBe(0);
    expect(seen).toHaveLength(0);
    commit();
    await slow;
    await waitFor(async () => {
      await dispatcher.drain();
      return seen.length === 3;
    });
    expect(seen.map((e) => e.subjectId)).toEqual(['e1', 'e2', 'e3']);
    await dispatcher.drain();
    expect(seen).toHaveLength(3);
    await dispatcher.close();
  });

  it('keeps its cursor when a consumer fails, and gives the batch again', async () => {
    let calls = 0;
    const handled: string[] = [];
    const consumer = {
      name: 'test-retry',
      types: ['test.happened'],
      handle: async (events: OutboxEvent[]) => {
        if (++calls === 1) throw new Error('receiver down');
        handled.push(...events.map((e) => e.subjectId));
      },
    };
    const dispatcher = new OutboxDispatcher(env.ctx.db, [consumer], { pollMs: 20, batch: 100, leaseMs: 5000 }, pino({ level: 'silent' }));
    await dispatcher.runOnce(consumer);
    await insert(env.ctx.db, 10);
    await expect(waitFor(() => dispatcher.runOnce(consumer).then((n) => (n ?? 0) > 0))).rejects.toThrow('receiver down');
    await waitFor(async () => {
      await dispatcher.drain();
      return handled.length > 0;
    });
    expect(handled).toEqual(['e10']);
    await dispatcher.close();
  });

  it('lets one dispatcher at a time hold a consumer, and another take over an expired lease', async () => {
    const consumer = { name: 'test-lease', types: ['test.happened'], handle: async () => undefined };
    const a = new OutboxDispatcher(env.ctx.db, [consumer], { pollMs: 20, batch: 100, leaseMs: 60_000 }, pino({ level: 'silent' }));
    const b = new OutboxDispatcher(env.ctx.db, [consumer], { pollMs: 20, batch: 100, leaseMs: 60_000 }, pino({ level: 'silent' }));
    expect(await a.runOnce(consumer)).not.toBeNull();
    expect(await b.runOnce(consumer)).toBeNull();
    await env.ctx.db.query(`UPDATE outbox_cursors SET leased_until = now() - interval '1 second' WHERE consumer = 'test-lease'`);
    expect(await b.runOnce(consumer)).not.toBeNull();
    expect(await a.runOnce(consumer)).toBeNull();
    await a.close();
    await b.close();
  });
});

describe('re-evaluation steps', () => {
  it('plans a cluster at 2, 3, 4, 6, 8 accounts and then at every doubling, not at every new member', () => {
    const planned = [];
    for (let n = 1; n <= 5000; n++) if (crossesStep(n - 1, n)) planned.push(n);
    expect(planned).toEqual([2, 3, 4, 6, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
    expect(crossesStep(1, 7)).toBe(true);
    expect(crossesStep(9, 15)).toBe(false);
    expect(crossesStep(5, 5)).toBe(false);
  });
});
