import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('operator CLI: import and rescan over HTTP', () => {
  let env: TestEnv;
  let server: ServerType;
  let url: string;
  let admin: string;
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-cli-'));
  beforeAll(async () => {
    env = await createTestEnv({ workers: true, env: { RESCAN_STEP_MS: '20' } });
    admin = await env.keyFor('admin');
    await new Promise<void>((resolve) => {
      server = serve({ fetch: env.app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
        url = `http://127.0.0.1:${info.port}`;
        resolve();
      });
    });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await env.close();
  });

  it('imports a gzip NDJSON file, waits for scoring, and is idempotent when re-run', async () => {
    const lines = Array.from({ length: 120 }, (_, i) =>
      JSON.stringify({ externalId: `c-${i}`, accountId: `a-${i % 5}`, text: `第${i}篇:随着科技的不断发展,我们的生活发生了变化。`, publishedAt: '2021-05-01T08:00:00Z' }),
    );
    const file = path.join(dir, 'articles.ndjson.gz');
    writeFileSync(file, gzipSync(`${lines.join('\n')}\n{broken\n`));
    const first = await cli(['import', file, '--url', url, '--key', admin, '--json', '--wait']);
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'completed', linesRead: 121, accepted: 120, rejected: 1, scored: 120 });
    const again = await cli(['import', file, '--json'], { SLOPGUARD_URL: url, SLOPGUARD_KEY: admin });
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: 120 });
  }, 60_000);

  it('runs a rescan to completion with a report, and fails clearly', async () => {
    const report = path.join(dir, 'changes.csv');
    const run = await cli(['rescan', '--filter', '{"accountIds":["a-1","a-2"]}', '--report', report, '--json', '--url', url, '--key', admin]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { rescan: { status: string; done: number; total: number }; changes: { compared: number } };
    expect(out.rescan).toMatchObject({ status: 'completed', done: 48, total: 48 });
    expect(out.changes.compared).toBe(48);
    expect(readFileSync(report, 'utf8').split('\n')[0]).toMatch(/^articleId,externalId/);

    const dry = await cli(['rescan', '--dry-run', '--verdict', 'pass', '--verdict', 'review', '--verdict', 'flag', '--json', '--url', url, '--key', admin]);
    expect(JSON.parse(dry.stdout)).toMatchObject({ count: 120 });

    const denied = await cli(['rescan', '--dry-run', '--url', url, '--key', 'sk_wrong']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/401 unauthorized/);
    const down = await cli(['import', path.join(dir, 'articles.ndjson.gz'), '--url', 'http://127.0.0.1:9', '--key', admin]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach/);
  }, 60_000);

  it('lists bad lines and exits 0 when the good ones are stored; 1 when no line is good', async () => {
    const good = (id: string) => JSON.stringify({ externalId: id, accountId: 'a', text: '一篇正常的文章。' });
    const file = path.join(dir, 'mixed.ndjson');
    writeFileSync(file, [good('m-1'), '{"externalId":"m-2","accountId":"a","text":"t","metadata":{"k":"x\\u0000"}}', '{broken', good('m-4')].join('\n'));
    const mixed = await cli(['import', file, '--url', url, '--key', admin, '--json']);
    expect(mixed.code).toBe(0);
    expect(JSON.parse(mixed.stdout)).toMatchObject({ status: 'completed', accepted: 2, rejected: 2 });
    expect(mixed.stderr).toMatch(/line 2: validation_failed: .*\(metadata\.k\)/);
    expect(mixed.stderr).toMatch(/line 3: malformed_json/);

    const bad = path.join(dir, 'bad.ndjson');
    writeFileSync(bad, '{broken\n{"externalId":"x"}\n');
    const none = await cli(['import', bad, '--url', url, '--key', admin]);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/0 accepted, 0 unchanged, 2 rejected/);
  }, 60_000);
});
