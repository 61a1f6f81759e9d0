import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The one direction of imports (ARCHITECTURE.md), checked by parsing every `import` and
 * `export … from` statement (static and dynamic) under src/. A rule's message names each
 * offending file and what it imports.
 */

const SRC = path.resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Module specifiers of a file's imports: `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')`. */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [/^\s*(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers;
}

interface Edge {
  /** Importing file, relative to src/ (`workers/index.ts`). */
  from: string;
  /** Imported module: a path relative to src/ for relative imports, the package name otherwise. */
  to: string;
  /** A module of this code base (a relative import), not a package. */
  local: boolean;
}

const edges: Edge[] = sourceFiles(SRC).flatMap((file) => {
  const from = path.relative(SRC, file);
  return importsOf(readFileSync(file, 'utf8')).map((specifier) => {
    const local = specifier.startsWith('.');
    return { from, to: local ? path.relative(SRC, path.resolve(path.dirname(file), specifier)) : specifier, local };
  });
});

const within = (folder: string) => (file: string) => file === folder || file.startsWith(`${folder}/`);
const ENTRY_POINTS = ['main.ts', 'cli', 'eval'].map(within);
const isEntry = (file: string) => ENTRY_POINTS.some((inside) => inside(file));

function offending(rule: (edge: Edge) => boolean): string[] {
  return edges.filter(rule).map((e) => `${e.from} -> ${e.to}`);
}

describe('the import direction', () => {
  it('reads every source file and finds their imports (the checks below see something)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'main.ts', to: 'context.ts', local: true });
    expect(importsOf("import { a } from './a.ts';\nexport { b } from '../b.ts';\nconst c = await import('./c.ts');\nimport type {\n  D,\n} from './d.ts';")).toEqual([
      './a.ts',
      '../b.ts',
      './d.ts',
      './c.ts',
    ]);
  });

  it('src/domain imports nothing from the rest of the code', () => {
    expect(offending((e) => within('domain')(e.from) && e.local && !within('domain')(e.to))).toEqual([]);
  });

  it('the store imports no service', () => {
    const service = (to: string) => within('services')(to) || within('webhooks')(to) || within('outbox')(to);
    expect(offending((e) => within('store')(e.from) && service(e.to))).toEqual([]);
  });

  it('nothing imports an entry point or the composition root, except entry points', () => {
    const root = (to: string) => to === 'context.ts' || to === 'main.ts' || to === 'cli/main.ts' || to === 'eval/main.ts';
    expect(offending((e) => root(e.to) && !isEntry(e.from))).toEqual([]);
  });

  it('the API and the workers do not import each other', () => {
    const api = (f: string) => within('api')(f) || within('console')(f);
    const workers = within('workers');
    expect(offending((e) => (api(e.from) && workers(e.to)) || (workers(e.from) && api(e.to)))).toEqual([]);
  });

  it('services, store, scoring and signals import no adapter (API, console, workers, outbox) and no entry point', () => {
    const lower = (f: string) => ['services', 'webhooks', 'store', 'scoring', 'signals', 'jobs', 'db', 'infra'].some((folder) => within(folder)(f));
    const adapter = (to: string) => ['api', 'console', 'workers', 'outbox', 'cli', 'eval'].some((folder) => within(folder)(to));
    expect(offending((e) => lower(e.from) && adapter(e.to))).toEqual([]);
  });

  it('only src/config.ts reads the environment, only src/scoring imports transformers.js', () => {
    const readsEnv = sourceFiles(SRC)
      .map((file) => path.relative(SRC, file))
      .filter((file) => /\bprocess\.env\b/.test(readFileSync(path.join(SRC, file), 'utf8')));
    expect(readsEnv).toEqual(['config.ts']);
    expect(offending((e) => e.to === '@huggingface/transformers' && !within('scoring')(e.from))).toEqual([]);
  });
});
