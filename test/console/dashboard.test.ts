import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardService } from '../../src/services/dashboard.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { seed } from '../review/seed.ts';

/**
 * The dashboard's day counts: closed days (3 days old and more) come from the rollup, computed
 * once; a later change to an old article (a rescan, a re-evaluation) marks its day stale and
 * the next dashboard shows it; the open days are always read live.
 */
describe('dashboard day rollups', () => {
  let env: TestEnv;
  const DAY = 86_400_000;
  const now = new Date();
  const today = Math.floor(now.getTime() / DAY) * DAY;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  it('computes closed days once, recomputes a day a change marked stale, and reads open days live', async () => {
    const tenant = 'tenant-rollup';
    const old = today - 10 * DAY + 3_600_000;
    const ids = await seed(env.ctx.db, tenant, [
      ...Array.from({ length: 6 }, (_, i) => ({
        externalId: `old-${i}`,
        accountId: 'a',
        verdict: 'pass' as const,
        score: 0.12,
        receivedAt: new Date(old + i * 1000).toISOString(),
      })),
      { externalId: 'today-0', accountId: 'a', verdict: 'flag' as const, score: 0.97, receivedAt: new Date(now.getTime() - 1000).toISOString() },
    ]);
    const dashboard = new DashboardService(env.ctx.db);
    const first = await dashboard.overview(tenant, now);
    expect(first.volume.find((v) => v.day === dayOf(old))).toMatchObject({ pass: 6, review: 0, flag: 0 });
    expect(first.volume.at(-1)).toMatchObject({ day: dayOf(today), flag: 1 });
    const rollup = await env.ctx.db.query<{ key: string; n: number }>(
      `SELECT key, n FROM dashboard_days WHERE tenant_id = $1 AND kind = 'received' AND day = $2::date ORDER BY key`,
      [tenant, dayOf(old)],
    );
    expect(rollup).toEqual([
      { key: '', n: 0 },
      { key: 'pass', n: 6 },
    ]);
    // an empty closed day is computed too (its marker alone), so it is not scanned again
    expect((await env.ctx.db.query(`SELECT 1 FROM dashboard_days WHERE tenant_id = $1 AND kind = 'received' AND day = $2::date`, [tenant, dayOf(today - 20 * DAY)])).length).toBe(
      1,
    );

    // a rescan moves two old articles to review: the trigger marks the day, the dashboard follows
    await env.ctx.db.query(`UPDATE articles SET verdict = 'review', score = 0.85, scored_at = $2 WHERE id = ANY($1::text[])`, [ids.slice(0, 2), new Date(old + 60_000)]);
    expect((await env.ctx.db.query(`SELECT kind FROM dashboard_stale WHERE tenant_id = $1 ORDER BY kind`, [tenant])).map((r) => r.kind)).toEqual(['received', 'scored']);
    const second = await dashboard.overview(tenant, now);
    expect(second.volume.find((v) => v.day === dayOf(old))).toMatchObject({ pass: 4, review: 2 });
    expect(second.scores.before[Math.floor(0.85 * 20)]).toBe(2);
    expect((await env.ctx.db.query(`SELECT 1 FROM dashboard_stale WHERE tenant_id = $1`, [tenant])).length).toBe(0);

    // today's new article is read live: no mark, no rollup for open days
    await seed(env.ctx.db, tenant, [{ externalId: 'today-1', accountId: 'b', verdict: 'review', score: 0.8, receivedAt: new Date(now.getTime() - 500).toISOString() }]);
    expect((await env.ctx.db.query(`SELECT 1 FROM dashboard_stale WHERE tenant_id = $1`, [tenant])).length).toBe(0);
    expect((await dashboard.overview(tenant, now)).volume.at(-1)).toMatchObject({ flag: 1, review: 1 });
    expect((await env.ctx.db.query(`SELECT 1 FROM dashboard_days WHERE tenant_id = $1 AND day >= $2::date`, [tenant, dayOf(today - 2 * DAY)])).length).toBe(0);
  });

  it('marks a day once per transaction, and thins the marks of days before the window to one', async () => {
    const tenant = 'tenant-marks';
    const old = today - 40 * DAY + 3_600_000;
    const ids = await seed(
      env.ctx.db,
      tenant,
      Array.from({ length: 4 }, (_, i) => ({ externalId: `old-${i}`, accountId: 'a', verdict: 'pass' as const, score: 0.1, receivedAt: new Date(old + i * 1000).toISOString() })),
    );
    const marks = async () => (await env.ctx.db.query<{ kind: string }>(`SELECT kind FROM dashboard_stale WHERE tenant_id = $1 ORDER BY kind`, [tenant])).map((r) => r.kind);
    // the seed's one statement stored four articles of that day: one mark per kind
    expect(await marks()).toEqual(['received', 'scored']);
    // two articles in one statement, then two more in two transactions of their own
    await env.ctx.db.query(`UPDATE articles SET verdict = 'review', score = 0.85 WHERE id = ANY($1::text[])`, [ids.slice(0, 2)]);
    expect(await marks()).toEqual(['received', 'received', 'scored', 'scored']);
    for (const id of ids.slice(2)) await env.ctx.db.query(`UPDATE articles SET verdict = 'flag', score = 0.95 WHERE id = $1`, [id]);
    expect(await marks()).toHaveLength(8);
    // a change that changes nothing the rollups count marks nothing
    await env.ctx.db.query(`UPDATE articles SET status_at = now(), attempts = attempts + 1 WHERE id = ANY($1::text[])`, [ids]);
    expect(await marks()).toHaveLength(8);
    await new DashboardService(env.ctx.db).overview(tenant, now);
    expect(await marks()).toEqual(['received', 'scored']);
  });
});
