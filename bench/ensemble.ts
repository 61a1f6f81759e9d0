/**
 * Host-side cost of the detector's non-transformer parts per article, beside the transformer's
 * own passes, in one run: the n-gram logit of the whole text, the n-gram and text-signals
 * logits of every window (each window's own calibrated probability), and the forward passes of
 * the same windows at batch 8. Both on one worker process, so the figures add up to what one
 * article costs.
 *
 * Usage: npx tsx bench/ensemble.ts [--seconds 3]
 */
import { contentLength, modelText } from '../src/domain/normalize.ts';
import { createDetectorScorer } from '../src/scoring/detector.ts';
import { planWindows } from '../src/scoring/model-windows.ts';
import { loadNgramModel } from '../src/scoring/ngram.ts';
import { scoreTextSignals } from '../src/scoring/text-signals/index.ts';

const argOf = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const SECONDS = Number(argOf('--seconds', '3'));
const DIR = 'models/slopguard-detector';

const ZH_SENT = '近期，浙江建德一个“办不成事”窗口走红网络。事实上，这类窗口在全国多地均有设立，专门兜底解决因各种原因搁浅的疑难杂症。';
const zhArticle = ZH_SENT.repeat(30).slice(0, 1000);

async function msPer(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000 || n < 3) {
    await fn();
    n++;
  }
  return (performance.now() - t0) / n;
}

const ngram = loadNgramModel(DIR);
const windows = planWindows(zhArticle, 'zh');
const windowTexts = windows.map((w) => zhArticle.slice(w.start, w.end));
const mt = modelText(zhArticle);
const detector = createDetectorScorer({ modelDir: 'models', maxBatch: 16 });
await detector.load();
const batches: string[][] = [];
for (let i = 0; i < windowTexts.length; i += 8) batches.push(windowTexts.slice(i, i + 8).map(modelText));

const rows = {
  'n-gram, whole text': await msPer(() => ngram.logit(mt, 'zh')),
  'text signals, whole text': await msPer(() => scoreTextSignals({ text: zhArticle, title: null, lang: 'zh' })),
  [`n-gram + text signals, ${windows.length} windows`]: await msPer(() => {
    for (const t of windowTexts) {
      const m = modelText(t);
      ngram.logit(m, 'zh');
      scoreTextSignals({ text: t, title: null, lang: 'zh' });
      contentLength(m);
    }
  }),
  [`transformer, ${windows.length} windows at batch 8`]: await msPer(() => Promise.all(batches.map((b) => detector.forward(b)))),
  'whole detector score()': await msPer(() => detector.score({ text: zhArticle, title: null, lang: 'zh' })),
};
await detector.close();
console.table(Object.entries(rows).map(([part, ms]) => ({ part: `${part} (zh, 1,000 chars)`, 'ms/article': Number(ms.toFixed(2)), 'articles/s': Number((1000 / ms).toFixed(1)) })));
