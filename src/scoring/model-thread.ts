import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { z } from 'zod';

/**
 * The detector's forward passes on a thread of their own. onnxruntime-node runs a pass
 * synchronously on the calling thread: on the main thread every pass (tens of ms at full
 * batch) held the event loop, so each read, write and queue call of a live article could wait
 * behind a rescan's pass. Here the process keeps answering while the model works.
 *
 *   const thread = await startModelThread({ modelDir: 'models', modelId: 'slopguard-detector', dtype: 'q8', spin: false, maxTokens: 128 });
 *   const logits = await thread.forward(['一个窗口的文本']);
 */

export const modelThreadSettingsSchema = z.object({
  modelDir: z.string().min(1),
  modelId: z.string().min(1),
  dtype: z.enum(['q8', 'fp32']),
  threads: z.number().int().positive().optional(),
  spin: z.boolean(),
  maxTokens: z.number().int().positive(),
});
export type ModelThreadSettings = z.infer<typeof modelThreadSettingsSchema>;

export const passRequestSchema = z.object({ id: z.number().int(), texts: z.array(z.string()) });

const passReplySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ready') }),
  z.object({ kind: z.literal('failed'), message: z.string() }),
  z.object({ kind: z.literal('logits'), id: z.number().int(), logits: z.array(z.number()) }),
  z.object({ kind: z.literal('error'), id: z.number().int(), message: z.string() }),
]);
export type PassReply = z.infer<typeof passReplySchema>;

const tsxManifestSchema = z.object({ exports: z.object({ './esm/api': z.object({ import: z.object({ default: z.string() }) }) }) });

export interface ModelThread {
  /** The logit margin (AI minus human) of each window text, in order. */
  forward(texts: string[]): Promise<number[]>;
  /** The thread has exited (closed or crashed): every forward pass fails; start a new one. */
  readonly stopped: boolean;
  close(): Promise<void>;
}

/**
 * The thread's first code: registers tsx's loader in the thread (loader flags in a worker's
 * execArgv do not reach it on Node 20), then imports the TypeScript entry.
 */
function bootCode(): string {
  // tsx's ESM API by its package's export map (its require build points at a file it lacks).
  const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const manifest = tsxManifestSchema.parse(JSON.parse(readFileSync(manifestPath, 'utf8')));
  const tsx = pathToFileURL(join(dirname(manifestPath), manifest.exports['./esm/api'].import.default)).href;
  const entry = new URL('./model-thread-entry.ts', import.meta.url).href;
  return `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

/** Starts the thread and resolves once the model is loaded and warmed up. */
export function startModelThread(settings: ModelThreadSettings): Promise<ModelThread> {
  const worker = new Worker(bootCode(), { eval: true, workerData: settings });
  const pending = new Map<number, { resolve: (logits: number[]) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let stopped: Error | null = null;
  const stop = (error: Error) => {
    stopped ??= error;
    for (const p of pending.values()) p.reject(stopped);
    pending.clear();
  };
  const thread: ModelThread = {
    get stopped() {
      return stopped !== null;
    },
    forward(texts) {
      if (stopped) return Promise.reject(stopped);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, texts });
      });
    },
    async close() {
      stop(new Error('model thread closed'));
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    worker.on('message', (message: unknown) => {
      const reply = passReplySchema.parse(message);
      if (reply.kind === 'ready') return resolve(thread);
      if (reply.kind === 'failed') {
        stop(new Error(`model thread could not load the model: ${reply.message}`));
        void worker.terminate();
        return reject(stopped);
      }
      const waiting = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.kind === 'logits') waiting?.resolve(reply.logits);
      else waiting?.reject(new Error(reply.message));
    });
    worker.on('error', (error) => {
      stop(error);
      reject(error);
    });
    worker.on('exit', (code) => {
      const error = new Error(`model thread exited (code ${code})`);
      stop(error);
      reject(error);
    });
  });
}

/**
 * Several model threads, a pass on whichever is idle. On small matrices one pass per core beats
 * one pass over every core (measured here, 2 cores, batch 16: 455 windows/s with two threads of
 * one onnxruntime thread each, 343 with one thread using both cores).
 */
export async function startModelThreadPool(settings: ModelThreadSettings, size: number): Promise<ModelThread> {
  const started = await Promise.allSettled(Array.from({ length: Math.max(1, size) }, () => startModelThread(settings)));
  const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = started.find((s) => s.status === 'rejected');
  if (failure) {
    await Promise.all(threads.map((t) => t.close()));
    throw failure.reason;
  }
  const idle = [...threads];
  const waiting: ((thread: ModelThread) => void)[] = [];
  const release = (thread: ModelThread) => {
    const next = waiting.shift();
    if (next) next(thread);
    else idle.push(thread);
  };
  return {
    get stopped() {
      return threads.some((t) => t.stopped);
    },
    async forward(texts) {
      const thread = idle.pop() ?? (await new Promise<ModelThread>((resolve) => waiting.push(resolve)));
      try {
        return await thread.forward(texts);
      } finally {
        release(thread);
      }
    },
    async close() {
      await Promise.all(threads.map((t) => t.close()));
    },
  };
}
