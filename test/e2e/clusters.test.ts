import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, TEST_REDIS_CLUSTER_URL, TEST_REDIS_URL, type TestEnv, waitFor } from '../helpers/context.ts';

const template = (city: string, n: number) =>
  `${city}本地人才知道的三个宝藏去处!第一个是${city}老街,这里保留着上百年的历史建筑,每到周末游客络绎不绝。` +
  `第二个是${city}湿地公园,春天花开的时候美不胜收,很多市民都会带着孩子来这里散步。第三个是${city}夜市,` +
  `各种地道小吃应有尽有,人均${n}元就能吃得心满意足。如果你也来${city}旅游,一定不要错过这些地方,记得点赞收藏转发给身边的朋友。`;

// On a single Redis and on the local Redis Cluster: queues, signals and the API end to end.
describe.each([
  ['single', TEST_REDIS_URL],
  ['cluster', TEST_REDIS_CLUSTER_URL],
])('content-farm clusters over HTTP on %s Redis', (_kind, redisUrl) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: true, redisUrl });
  });
  afterAll(() => env.close());

  it('groups template articles from several accounts into one listed cluster, visible to moderators only', async () => {
    const submitter = await env.keyFor('submitter');
    const moderator = await env.keyFor('moderator');
    const cities = ['杭州', '苏州', '成都', '西安'];
    const ids: string[] = [];
    for (const [i, city] of cities.entries()) {
      const res = await env.request('POST', '/v1/articles', {
        key: submitter,
        body: { externalId: `farm-${i}`, accountId: `farm-acct-${i}`, text: template(city, 30 + i), publishedAt: `2026-11-20T08:00:${10 + i}Z` },
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    await env.request('POST', '/v1/articles', {
      key: submitter,
      body: { externalId: 'other', accountId: 'normal', text: '今天下午三点,西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化,他说面价涨了三次。' },
    });
    const page = await waitFor(async () => {
      const res = await env.request('GET', '/v1/clusters', { key: moderator });
      const body = (await res.json()) as { clusters: { id: string; accounts: string[]; articleIds: string[]; spanSeconds: number }[] };
      return body.clusters[0]?.articleIds.length === cities.length ? body : undefined;
    });
    const [cluster] = page.clusters;
    expect(page.clusters).toHaveLength(1);
    expect(cluster!.accounts).toEqual(['farm-acct-0', 'farm-acct-1', 'farm-acct-2', 'farm-acct-3']);
    expect([...cluster!.articleIds].sort()).toEqual([...ids].sort());
    expect(cluster!.spanSeconds).toBe(3);
    const one = await env.request('GET', `/v1/clusters/${cluster!.id}`, { key: moderator });
    expect(one.status).toBe(200);
    expect((await env.request('GET', '/v1/clusters', { key: submitter })).status).toBe(403);
    expect((await env.request('GET', `/v1/clusters/${cluster!.id}`, { key: await env.keyFor('admin', 'tenant-b') })).status).toBe(404);
    // The verdict of the last farm member explains the near-duplicates posted before it.
    const article = (await (await env.request('GET', `/v1/articles/${ids[3]}`, { key: submitter })).json()) as { result: { reasons: { code: string }[] } };
    expect(article.result.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['near_duplicate', 'coordinated_posting']));
  });
});
