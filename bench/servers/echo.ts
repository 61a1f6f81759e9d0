// The baseline of bench/api.ts: a bare Hono JSON echo, and the same behind zod validation.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';

const schema = z.object({ externalId: z.string(), accountId: z.string(), text: z.string() });
const app = new Hono();
app.post('/echo', async (c) => c.json(await c.req.json()));
app.post('/zod', async (c) => c.json(schema.parse(await c.req.json())));
serve({ fetch: app.fetch, port: Number(process.argv[2] ?? 0), hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening ${info.port}\n`);
});
