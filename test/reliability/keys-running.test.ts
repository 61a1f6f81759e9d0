import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, type LockInfo } from '../../src/infra/data-lock.ts';
import { dropRedisPrefix, TEST_REDIS_URL, uniqueName, waitFor } from '../helpers/context.ts';

/**
 * The newcomer's path: `npm start` on the embedded default (PGlite in a fresh data folder),
 * then `npm run cli -- keys create` as the banner says, while it runs. The key works at once,
 * survives a restart, and revoking it works at once; with the service stopped the CLI reads
 * the same store directly.
 */

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'sg-keys-'));
const prefix = uniqueName('sgt');
const children: ChildProcess[] = [];
const baseEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: '', DATA_DIR: dir, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'silent', DETECTOR_ENABLED: 'false' };
delete baseEnv.SLOPGUARD_URL;
delete baseEnv.SLOPGUARD_KEY;

function start(): { child: ChildProcess; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'all'], { env: { ...baseEnv, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return { child, stdout: () => stdout, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

const lock = () => {
  try {
    return JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
};
const serving = (pid: number | undefined) => waitFor(async () => (lock()?.pid === pid && lock()?.url ? lock()!.url! : undefined), 60_000);
const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'keys', ...args], { env: { ...baseEnv, ...env } });
const probe = (url: string, key: string) => fetch(`${url}/v1/articles/by-external-id/none`, { headers: { authorization: `Bearer ${key}` } });

describe('keys while the embedded service runs', () => {
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await dropRedisPrefix(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('created with the CLI as the banner says, works at once, survives a restart, revokes at once', async () => {
    const first = start();
    const url = await serving(first.child.pid);
    const bootstrap = await waitFor(async () => /\n {4}(sg_\S+)\n/.exec(first.stdout())?.[1]);
    // The banner's advice, followed to the letter (the service is found through the data folder).
    expect(first.stdout()).toContain('SLOPGUARD_KEY=<the key above> npm run cli -- keys create --tenant <tenant> --role submitter');

    const withoutKey = cli(['create', '--tenant', 'acme', '--role', 'submitter']);
    await expect(withoutKey).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`a service is running at ${url}`) });

    const created = JSON.parse((await cli(['create', '--tenant', 'acme', '--role', 'submitter', '--json'], { SLOPGUARD_KEY: bootstrap })).stdout) as { id: string; key: string };
    expect((await probe(url, created.key)).status).toBe(404);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = start();
    const url2 = await serving(second.child.pid);
    expect(second.stdout()).not.toContain('Bootstrap admin key');
    expect((await probe(url2, created.key)).status).toBe(404);

    const listed = JSON.parse((await cli(['list', '--tenant', 'acme', '--json'], { SLOPGUARD_KEY: bootstrap })).stdout) as { id: string }[];
    expect(listed.map((k) => k.id)).toEqual([created.id]);
    expect((await cli(['revoke', created.id], { SLOPGUARD_KEY: bootstrap })).stdout).toContain(`revoked ${created.id}`);
    expect((await probe(url2, created.key)).status).toBe(401);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // No service: the CLI opens the same store itself.
    const offline = JSON.parse((await cli(['list', '--json'])).stdout) as { id: string; revokedAt: string | null }[];
    expect(offline.find((k) => k.id === created.id)?.revokedAt).not.toBeNull();
  }, 180_000);
});
