import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

const run = promisify(execFile);

describe('npm run cli -- keys', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', ...args], {
      env: { ...process.env, DATABASE_URL: env.config.databaseUrl, DATABASE_SCHEMA: env.schema, LOG_LEVEL: 'silent' },
    });

  it('creates a key that works, lists it, and revokes it so it stops working at once', async () => {
    const created = JSON.parse((await cli('create', '--tenant', 'acme', '--role', 'moderator', '--name', 'ops', '--json')).stdout) as { key: string; id: string; role: string };
    expect(created.role).toBe('moderator');
    expect((await env.request('GET', '/v1/articles/by-external-id/x', { key: created.key })).status).toBe(404);
    const listed = JSON.parse((await cli('list', '--tenant', 'acme', '--json')).stdout) as { id: string; revokedAt: string | null }[];
    expect(listed).toEqual([expect.objectContaining({ id: created.id, revokedAt: null })]);
    // The secret is never stored: only its hash.
    const rows = await env.ctx.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [created.id]);
    expect(rows[0]!.key_hash).not.toContain(created.key);
    expect((await cli('revoke', created.id)).stdout).toContain('revoked');
    expect((await env.request('GET', '/v1/articles/by-external-id/x', { key: created.key })).status).toBe(401);
  });

  it('refuses a bad role with exit code 2 and a message', async () => {
    await expect(cli('create', '--tenant', 'acme', '--role', 'root')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--role') });
  });
});
