/**
 * The detector's model thread (worker_threads entry, started by model-thread.ts): loads the
 * tokenizer and the ONNX model once through transformers.js and answers forward passes. A
 * pass holds this thread, not the event loop of the process that serves jobs and requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { modelThreadSettingsSchema, passRequestSchema, type PassReply } from './model-thread.ts';

type Tokenizer = (texts: string[], opts: Record<string, unknown>) => Record<string, unknown>;
type Model = ((inputs: Record<string, unknown>) => Promise<{ logits: { data: ArrayLike<number>; dims: number[] } }>) & {
  dispose?: () => Promise<unknown>;
};

const port = parentPort!;
const settings = modelThreadSettingsSchema.parse(workerData);

const tf = await import('@huggingface/transformers');
tf.env.allowRemoteModels = false;
tf.env.allowLocalModels = true;
tf.env.localModelPath = settings.modelDir;

async function load(): Promise<(texts: string[]) => Promise<number[]>> {
  const tokenizer = (await tf.AutoTokenizer.from_pretrained(settings.modelId)) as unknown as Tokenizer;
  const model = (await tf.AutoModelForSequenceClassification.from_pretrained(settings.modelId, {
    dtype: settings.dtype,
    device: 'cpu',
    session_options: {
      ...(settings.threads ? { intraOpNumThreads: settings.threads, interOpNumThreads: 1 } : {}),
      ...(settings.spin ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    },
  })) as unknown as Model;
  return async (texts) => {
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: settings.maxTokens });
    const { logits } = await model(inputs);
    const classes = logits.dims[1] ?? 2;
    // The AI-vs-human logit margin of each window.
    return texts.map((_, i) => logits.data[i * classes + 1]! - logits.data[i * classes]!);
  };
}

const post = (reply: PassReply) => port.postMessage(reply);
try {
  const forward = await load();
  // Warm-up: one full-length window per language.
  await forward(['这是一段用于预热模型的中文文本。'.repeat(8), 'This is a warm-up sentence for the model. '.repeat(12)]);
  port.on('message', (message: unknown) => {
    const request = passRequestSchema.safeParse(message);
    if (!request.success) return post({ kind: 'error', id: -1, message: `bad request: ${z.prettifyError(request.error)}` });
    const { id, texts } = request.data;
    forward(texts).then(
      (logits) => post({ kind: 'logits', id, logits }),
      (error: unknown) => post({ kind: 'error', id, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  post({ kind: 'ready' });
} catch (error) {
  post({ kind: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
