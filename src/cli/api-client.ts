import { z } from 'zod';
import { loadCliClientDefaults } from '../config.ts';

/**
 * The CLI's client of a running service's API: where it is (`--url`, SLOPGUARD_URL), the key
 * (`--key`, SLOPGUARD_KEY), and one JSON call whose answer is parsed with the schema the route
 * documents. Used by `keys`, `import` and `rescan`.
 */

/** The error contract's body, as far as the CLI reads it. */
const errorAnswerSchema = z.object({ error: z.object({ code: z.string().optional(), message: z.string().optional() }).optional() });

/** A failure the CLI explains in one line; `body` is the service's error answer when there is one. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface Api {
  url: string;
  key: string;
}

export function apiFrom(values: { url?: string | undefined; key?: string | undefined }): Api {
  const defaults = loadCliClientDefaults();
  const url = values.url ?? defaults.url;
  const key = values.key ?? defaults.key;
  if (!key) throw new CliError('an API key is needed: pass --key or set SLOPGUARD_KEY');
  return { url: url.replace(/\/+$/, ''), key };
}

/** One JSON call; the answer is parsed with the schema the route documents (src/services/views.ts). */
export async function call<S extends z.ZodType>(api: Api, method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
  let res: Response;
  try {
    res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${api.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new CliError(`cannot reach ${api.url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
  }
  return answer(res, `${method} ${path}`, schema);
}

export async function answer<S extends z.ZodType>(res: Response, what: string, schema: S): Promise<z.infer<S>> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${what}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const e = errorAnswerSchema.safeParse(json).data?.error;
    throw new CliError(`${what}: ${res.status} ${e?.code ?? ''}: ${e?.message ?? text.slice(0, 200)}`, json);
  }
  const parsed = schema.safeParse(json);
  // A service of another version: say so instead of printing undefined counts.
  if (!parsed.success) throw new CliError(`${what}: unexpected answer from the service (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  return parsed.data;
}
