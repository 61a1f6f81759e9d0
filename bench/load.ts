/**
 * Load run (issue 7): N articles through POST /v1/articles from many concurrent clients while a
 * worker process scores them; afterwards accepted = stored = scored, with no duplicate scores
 * and no errors but the deliberate ones (every 1,000th request is invalid on purpose).
 *
 *   npm run bench:load                 (LOAD_ARTICLES=100000, LOAD_CONNECTIONS=64)
 */
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort } from '../src/infra/net.ts';
import { benchStore, fmt, startChild, stop } from './lib.ts';

const N = Number(process.env.LOAD_ARTICLES ?? 100_000);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 64);
// Varied articles (random sentences, names and numbers), so near-duplicates are as rare as on a
// real platform; a farm of identical templates is the account-signals benchmark's job.
const ZH = ['今天下午三点,{c}的一家面馆里,老板{n}聊起了这{k}年的变化。', '社区卫生服务中心新增了{k}个床位,居民{n}说看病方便多了。', '{c}地铁{k}号线延长段预计年底通车,沿线居民期待已久。', '记者走访了{c}的{k}家菜市场,蔬菜价格总体平稳。', '{n}在{c}经营书店已经{k}年,最近开始尝试直播卖书。', '学校食堂每天供应{k}种菜品,家长委员会每月抽查一次。', '{c}今年第{k}批保障性住房开始摇号,{n}一家终于等到了。', '暴雨导致{c}部分路段积水,交警在{k}个路口疏导交通。', '{n}说,这{k}年最大的感受是办事不用再跑腿了。', '{c}博物馆推出夜场,首周接待观众{k}千人次。'];
const EN = ['The council in {c} met on Tuesday to vote on {k} budget items.', '{n} has run the bakery on Main Street for {k} years.', 'Rain closed {k} roads near {c} on Friday morning.', 'The school board in {c} hired {k} new teachers this fall.', '{n} said the new bus line saves her {k} minutes a day.', 'Volunteers in {c} planted {k} trees along the river.', 'The clinic on Oak Avenue now opens at {k} am on weekdays.', '{n} won the {c} chess open after {k} rounds.'];
const CITIES = ['杭州', '成都', '西安', 'Springfield', 'Riverside', '苏州', 'Madison', '长沙'];
const NAMES = ['陈建国', '李秀英', 'Maria Lopez', 'Tom Baker', '王芳', 'Ahmed Khan', '赵磊', 'Emily Chen'];

function article(n: number): string {
  let seed = (n * 2654435761) >>> 0;
  const next = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const pool = n % 3 === 2 ? EN : ZH;
  return Array.from({ length: 4 + Math.floor(next() * 5) }, () =>
    pool[Math.floor(next() * pool.length)]!
      .replace('{c}', CITIES[Math.floor(next() * CITIES.length)]!)
      .replace('{n}', NAMES[Math.floor(next() * NAMES.length)]!)
      .replace('{k}', String(2 + Math.floor(next() * 97))),
  ).join(pool === EN ? ' ' : '');
}

async function main() {
  const store = await benchStore('load');
  const { db, key, env } = store;
  const apiPort = await freePort();
  const api = await startChild('src/main.ts', ['api'], apiPort, { ...env, PORT: String(apiPort) });
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  let finished = false;
  worker.once('exit', (code) => {
    if (finished) return;
    console.error(`the worker process exited early (code ${code}); nothing would be scored`);
    process.exit(1);
  });
  try {
    let i = 0;
    const statuses = new Map<number, number>();
    const started = performance.now();
    const result = await autocannon({
      url: `http://127.0.0.1:${apiPort}/v1/articles`,
      method: 'POST',
      connections: CONNECTIONS,
      amount: N,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      requests: [
        {
          setupRequest: (req) => {
            const n = i++;
            const body = n % 1000 === 999 ? { externalId: `bad-${n}` } : { externalId: `l-${n}`, accountId: `acct-${n % 500}`, text: article(n) };
            return { ...req, body: JSON.stringify(body) };
          },
          onResponse: (status) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          },
        },
      ],
    });
    const submitSeconds = (performance.now() - started) / 1000;
    const accepted = statuses.get(202) ?? 0;
    const deliberate = statuses.get(422) ?? 0;
    const count = async (sql: string) => (await db.query<{ n: number }>(sql))[0]!.n;
    const deadline = Date.now() + 30 * 60_000;
    while ((await count("SELECT count(*)::int AS n FROM articles WHERE status IN ('scored', 'failed')")) < accepted && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    const totalSeconds = (performance.now() - started) / 1000;
    const stored = await count('SELECT count(*)::int AS n FROM articles');
    const scored = await count("SELECT count(*)::int AS n FROM articles WHERE status = 'scored'");
    const failed = await count("SELECT count(*)::int AS n FROM articles WHERE status = 'failed'");
    const scoreRows = await count('SELECT count(*)::int AS n FROM scores');
    const distinct = await count('SELECT count(DISTINCT article_id)::int AS n FROM scores');
    console.log(`\nLoad run: ${N} requests, ${CONNECTIONS} connections, API and one worker process, loopback\n`);
    console.log('| figure | value |');
    console.log('| --- | ---: |');
    console.log(`| responses by status | ${[...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')} |`);
    console.log(`| client errors (timeouts, resets) | ${result.errors + result.timeouts} |`);
    console.log(`| submit rate | ${fmt(accepted / submitSeconds)} articles/s |`);
    console.log(`| submit latency p50 / p99 | ${result.latency.p50} / ${result.latency.p99} ms |`);
    console.log(`| end-to-end scoring rate | ${fmt(scored / totalSeconds)} articles/s over ${fmt(totalSeconds)} s |`);
    console.log(`| accepted / stored / scored / failed | ${accepted} / ${stored} / ${scored} / ${failed} |`);
    console.log(`| score rows / distinct articles | ${scoreRows} / ${distinct} |`);
    const ok = accepted === stored && stored === scored && scoreRows === distinct && distinct === scored && deliberate === Math.floor(N / 1000) && result.errors === 0;
    console.log(`\n${ok ? 'OK' : 'MISMATCH'}: accepted = stored = scored, no duplicate scores, only deliberate errors`);
    if (!ok) process.exitCode = 1;
  } finally {
    finished = true;
    worker.kill('SIGTERM');
    await stop(api);
    await store.drop();
  }
}

await main();
