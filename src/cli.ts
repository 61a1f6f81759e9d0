import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.ts';
import type { Db } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { HISTORICAL_USAGE, runHistorical } from './cli/historical.ts';
import { ROLES } from './domain/types.ts';
import { KeyService } from './services/keys.ts';

/**
 * Operators' command line. `keys` talks to the database only; with the embedded default
 * (no DATABASE_URL) stop `npm start` first: PGlite's data folder has one owner at a time.
 */

const USAGE = `usage: npm run cli -- <command>
  keys create --tenant <tenant> --role <submitter|moderator|admin> [--name <label>] [--json]
  keys revoke <keyId>
  keys list [--tenant <tenant>] [--json]
${HISTORICAL_USAGE}`;

async function openDb(): Promise<Db> {
  const db = await openDatabase(loadConfig());
  await migrate(db);
  return db;
}

async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [sub, id] = positionals;
  const db = await openDb();
  const service = new KeyService(db);
  try {
    if (sub === 'create') {
      const tenant = z.string().min(1).max(128).safeParse(values.tenant);
      const role = z.enum(ROLES).safeParse(values.role);
      if (!tenant.success || !role.success) {
        process.stderr.write(`keys create needs --tenant and --role (${ROLES.join('|')})\n`);
        return 2;
      }
      const created = await service.create(tenant.data, role.data, values.name ?? '');
      process.stdout.write(
        values.json
          ? `${JSON.stringify(created)}\n`
          : `created ${created.keyId} (${created.role} of tenant ${created.tenantId}); the key, shown once:\n${created.key}\n`,
      );
      return 0;
    }
    if (sub === 'revoke' && id) {
      const revoked = await service.revoke(id);
      process.stdout.write(revoked ? `revoked ${id}\n` : `no active key ${id}\n`);
      return revoked ? 0 : 1;
    }
    if (sub === 'list') {
      const list = await service.list(values.tenant);
      if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
      else for (const k of list) process.stdout.write(`${k.id}\t${k.tenantId}\t${k.role}\t${k.revokedAt ? 'revoked' : 'active'}\t${k.name}\n`);
      return 0;
    }
    process.stderr.write(`${USAGE}\n`);
    return 2;
  } finally {
    await db.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'keys') return keys(rest);
  if (command === 'import' || command === 'rescan') return runHistorical(command, rest);
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `error: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
