import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

describe('npm project setup', () => {
  it('npm commands in the project print no config warnings', () => {
    const run = spawnSync('npm', ['config', 'get', 'fund'], { cwd: REPO, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/Unknown (project|env|user) config/);
  });

  it('no dependency needs its install script: each one is denied, and the CPU onnxruntime ships inside its package', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${REPO}`), 'utf8')) as { allowScripts?: Record<string, boolean> };
    // onnxruntime-node's postinstall would download CUDA binaries from the network.
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    const ls = spawnSync('npm', ['install-scripts', 'ls'], { cwd: REPO, encoding: 'utf8' });
    // npm versions without the command answer with usage; where it exists nothing is left unreviewed.
    if (ls.status === 0) expect(ls.stdout).not.toMatch(/not yet covered/);
    const ort = execFileSync(process.execPath, ['-p', "require.resolve('onnxruntime-node')"], { cwd: REPO, encoding: 'utf8' }).trim();
    expect(existsSync(new URL(`bin/napi-v6/linux/${process.arch}/libonnxruntime.so.1`, `file://${ort.replace(/dist\/.*$/, '')}`))).toBe(true);
  });
});
