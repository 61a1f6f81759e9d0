import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from './net.ts';

export class RedisNotInstalledError extends Error {
  constructor() {
    super(
      'REDIS_URL is not set and no redis-server was found on PATH.\n' +
        'Install one (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis)\n' +
        'or point REDIS_URL at a running Redis 6.2+ (maxmemory-policy noeviction, appendonly yes).',
    );
  }
}

export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * A private redis-server for the embedded default: data in `<dataDir>/redis` with AOF on and
 * noeviction (BullMQ must never lose keys to eviction), bound to loopback on `port` (a free
 * one when not given).
 */
export async function startEmbeddedRedis(dataDir: string, port?: number): Promise<EmbeddedRedis> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) throw new RedisNotInstalledError();
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const listenPort = port ?? (await freePort());
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(listenPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes'],
    { stdio: 'ignore' },
  );
  await waitForPort(listenPort, 10_000);
  return {
    url: `redis://127.0.0.1:${listenPort}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
