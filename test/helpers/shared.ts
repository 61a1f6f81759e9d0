import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

/**
 * The shared folder (datasets, seed page) lives beside the checkout (`../shared`); a clone
 * elsewhere finds it through SLOPGUARD_SHARED_DIR or at /work/shared. Null when absent.
 */
export function sharedPath(...parts: string[]): string | null {
  const roots = [process.env.SLOPGUARD_SHARED_DIR, path.resolve(REPO, '../shared'), '/work/shared'];
  for (const root of roots) {
    if (!root) continue;
    const candidate = path.join(root, ...parts);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}
