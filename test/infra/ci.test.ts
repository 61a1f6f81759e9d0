import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('Node.js versions', () => {
  it('the image runs a supported Node.js LTS (20 reached end of life on 2026-04-30)', () => {
    const image = /ARG NODE_IMAGE=node:(\d+)/.exec(read('Dockerfile'));
    expect(Number(image?.[1])).toBeGreaterThanOrEqual(24);
    expect(read('Dockerfile')).not.toMatch(/FROM node:20/);
  });

  it('.ci/run runs Biome, the suite on this Node.js and on the LTS from the npm registry, and sums both runs and the lint check', () => {
    const ci = read('.ci/run');
    expect(ci).toMatch(/npm pack "node-linux-\$\{arch\}@\$\{LTS_MAJOR\}"/);
    expect(ci).toMatch(/PATH="\$lts_bin:\$PATH" .*vitest/);
    expect(ci.trimEnd().split('\n').slice(-3).join('\n')).toContain('echo "$((passed + lts_passed)) passed, $((failed + lts_failed + lint_failed)) failed"');
    expect(ci).toMatch(/npm run --silent lint \|\| lint_failed=1/);
  });
});
