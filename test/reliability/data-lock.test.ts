import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, type LockInfo } from '../../src/infra/data-lock.ts';
import { dropRedisPrefix, TEST_REDIS_URL, uniqueName, waitFor } from '../helpers/context.ts';

/**
 * `npm start` on a data folder another `npm start` already runs on: real processes over
 * embedded PGlite in a temporary folder (Redis is the test server, under a fresh prefix).
 */

const dir = mkdtempSync(path.join(tmpdir(), 'sg-lock-'));
const prefix = uniqueName('sgt');
const children: ChildProcess[] = [];

function start(): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'all'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      DATA_DIR: dir,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      PORT: '0',
      LOG_LEVEL: 'silent',
      DETECTOR_ENABLED: 'false',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  return { child, exited };
}

const lock = () => {
  try {
    return JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
};

describe('the data folder has one owner', () => {
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await dropRedisPrefix(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a second start fails fast naming the running pid; a stale lock is taken over; a clean stop removes it', async () => {
    const first = start();
    // Serving: the lock names the process and where it listens.
    const held = await waitFor(async () => (lock()?.url ? lock() : undefined), 60_000);
    expect(held.pid).toBe(first.child.pid);
    expect((await fetch(`${held.url}/healthz`)).status).toBe(200);

    const second = start();
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`in use by slopguard process ${first.child.pid}`);
    expect(first.child.exitCode).toBeNull();
    expect((await fetch(`${held.url}/healthz`)).status).toBe(200);

    // A crash leaves the lock behind, naming a process that no longer exists.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(lock()?.pid).toBe(first.child.pid);

    const third = start();
    const taken = await waitFor(async () => (lock()?.pid === third.child.pid && lock()?.url ? lock() : undefined), 60_000);
    expect((await fetch(`${taken.url}/healthz`)).status).toBe(200);

    third.child.kill('SIGTERM');
    expect((await third.exited).code).toBe(0);
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  }, 120_000);
});
