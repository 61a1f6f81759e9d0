import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TEST_DIR = path.resolve(fileURLToPath(new URL('../', import.meta.url)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('test servers', () => {
  it('only test/helpers/urls.ts names the default PostgreSQL and Redis addresses (the rest follow TEST_DATABASE_URL / TEST_REDIS_URL)', () => {
    const own = fileURLToPath(import.meta.url);
    const offenders = sources(TEST_DIR)
      .filter((file) => file !== own && !file.endsWith(path.join('helpers', 'urls.ts')))
      .filter((file) => /(127\.0\.0\.1|localhost):(5432|6379)\b/.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(TEST_DIR, file));
    expect(offenders).toEqual([]);
  });
});
