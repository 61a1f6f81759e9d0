import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { type Config, loadCliClientDefaults, loadConfig } from '../config.ts';
import { CreatedKeySchema, KeyCreateInput, KeyListSchema, keyView, KeyViewSchema } from '../api/routes/keys.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { ROLES } from '../domain/types.ts';
import { acquireDataLock, currentHolder, DataDirLockedError } from '../infra/data-lock.ts';
import { KeyService } from '../services/keys.ts';
import { type Api, call, CliError } from './api-client.ts';

/**
 * `keys create|list|revoke`. With a service running, keys go through its admin API
 * (`/v1/admin/keys`), so a new key works at once and lives in the store the service owns
 * (with the embedded default, PGlite's folder has one owner: writing it from here while the
 * service runs would be lost). The service is found at `--url`, else SLOPGUARD_URL, else the
 * address the running `npm start` recorded in DATA_DIR's lock file; it is called with an
 * admin key from `--key` or SLOPGUARD_KEY (the bootstrap key `npm start` printed). With no
 * service answering, the CLI writes the database directly (taking the data folder's lock
 * for PGlite); `--direct` forces that (PostgreSQL only while a service runs).
 *
 *   npm run cli -- keys create --tenant acme --role submitter --key sg_...
 *   -> created key_01... (submitter of tenant acme); the key, shown once:
 *      sg_...
 */

export const KEYS_USAGE = `  keys create --tenant <tenant> --role <${ROLES.join('|')}> [--name <label>] [--json]
  keys revoke <keyId> [--json]
  keys list [--tenant <tenant>|all] [--json]
         (while a service runs: through its API at --url / SLOPGUARD_URL / the one recorded in DATA_DIR,
          with an admin key from --key / SLOPGUARD_KEY; otherwise, or with --direct, in the database)`;

type CreatedView = z.infer<typeof CreatedKeySchema>;
type View = z.infer<typeof KeyViewSchema>;

/** What a command does, over HTTP or the database alike. */
interface KeyBackend {
  create(input: { tenant: string; role: (typeof ROLES)[number]; name: string }): Promise<CreatedView>;
  list(tenant: string | undefined): Promise<View[]>;
  /** Null: no such key. */
  revoke(id: string): Promise<View | null>;
  close(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

function httpBackend(api: Api): KeyBackend {
  return {
    async create(input) {
      return call(api, 'POST', '/v1/admin/keys', CreatedKeySchema, input);
    },
    async list(tenant) {
      const query = tenant ? `?tenant=${encodeURIComponent(tenant)}` : '';
      return (await call(api, 'GET', `/v1/admin/keys${query}`, KeyListSchema)).keys;
    },
    async revoke(id) {
      try {
        return call(api, 'POST', `/v1/admin/keys/${encodeURIComponent(id)}/revoke`, KeyViewSchema);
      } catch (error) {
        if (error instanceof CliError && / 404 /.test(error.message)) return null;
        throw error;
      }
    },
    close: async () => undefined,
  };
}

async function directBackend(config: Config): Promise<KeyBackend> {
  // PGlite has one owner: hold the folder's lock while writing it (a start meanwhile waits its turn).
  const lock = config.databaseUrl ? undefined : acquireDataLock(config.dataDir);
  try {
    const db = await openDatabase(config);
    await migrate(db);
    const service = new KeyService(db);
    return {
      async create({ tenant, role, name }) {
        const created = await service.create(tenant, role, name);
        return { ...keyView({ id: created.keyId, tenantId: tenant, role, name, createdAt: created.createdAt, revokedAt: null }), key: created.key };
      },
      async list(tenant) {
        return (await service.list({ tenantId: tenant === 'all' ? undefined : tenant })).map(keyView);
      },
      async revoke(id) {
        const revoked = await service.revoke(id);
        return revoked ? keyView(revoked) : null;
      },
      async close() {
        await db.close();
        lock?.release();
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

/** The running service's API when one answers, else the database. */
async function backend(values: { url?: string | undefined; key?: string | undefined; direct?: boolean | undefined }): Promise<{ backend: KeyBackend; via: string }> {
  const config = loadConfig();
  const defaults = loadCliClientDefaults();
  const holder = config.databaseUrl && config.redisUrl ? undefined : currentHolder(config.dataDir);
  if (!values.direct) {
    const url = (values.url ?? (defaults.urlSet ? defaults.url : holder?.url))?.replace(/\/+$/, '');
    if (url && (await answers(url))) {
      const key = values.key ?? defaults.key;
      if (!key) {
        throw new CliError(
          `a service is running at ${url}: keys are managed through its API. Pass an admin key with --key or SLOPGUARD_KEY ` +
            '(the bootstrap key printed at the first `npm start`).',
        );
      }
      return { backend: httpBackend({ url, key }), via: url };
    }
    if (url && (values.url || defaults.urlSet)) throw new CliError(`no service answers at ${url}; --direct writes the database instead`);
  }
  if (holder && !config.databaseUrl) {
    throw new DataDirLockedError(config.dataDir, holder);
  }
  return { backend: await directBackend(config), via: 'database' };
}

export async function keysCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      key: { type: 'string' },
      direct: { type: 'boolean' },
    },
  });
  const [sub, id] = positionals;
  let input: z.infer<typeof KeyCreateInput> | undefined;
  if (sub === 'create') {
    const parsed = KeyCreateInput.safeParse({ tenant: values.tenant, role: values.role, name: values.name ?? '' });
    if (!parsed.success || !values.tenant) {
      process.stderr.write(`keys create needs --tenant and --role (${ROLES.join('|')})\n`);
      return 2;
    }
    input = parsed.data;
  } else if (!(sub === 'list' || (sub === 'revoke' && id))) {
    process.stderr.write(`usage:\n${KEYS_USAGE}\n`);
    return 2;
  }

  const { backend: keys } = await backend(values);
  try {
    if (input) {
      const created = await keys.create({ tenant: input.tenant!, role: input.role, name: input.name });
      process.stdout.write(
        values.json ? `${JSON.stringify(created)}\n` : `created ${created.id} (${created.role} of tenant ${created.tenantId}); the key, shown once:\n${created.key}\n`,
      );
      return 0;
    }
    if (sub === 'revoke') {
      const revoked = await keys.revoke(id!);
      if (values.json) process.stdout.write(`${JSON.stringify(revoked)}\n`);
      else process.stdout.write(revoked ? `revoked ${id}\n` : `no key ${id}\n`);
      return revoked ? 0 : 1;
    }
    const list = await keys.list(values.tenant);
    if (values.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else for (const k of list) process.stdout.write(`${k.id}\t${k.tenantId}\t${k.role}\t${k.revokedAt ? 'revoked' : 'active'}\t${k.name}\n`);
    return 0;
  } finally {
    await keys.close();
  }
}
