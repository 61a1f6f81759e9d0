import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Scorer } from '../domain/types.ts';
import type { ModelObserver } from '../infra/metrics.ts';
import { createDetectorScorer } from './detector.ts';
import { createZeroShotScorer } from './model-zeroshot.ts';
import { createTextSignalsScorer } from './text-signals/index.ts';

export interface Scorers {
  text: Scorer;
  detector: Scorer | null;
  /** Perplexity / Binoculars statistics from causal LMs; null unless configured. */
  zeroShot: Scorer | null;
  close(): Promise<void>;
}

/** Builds and warms the scorers a worker process runs, once per process. */
export async function buildScorers(model: Config['model'], log: Logger, observer?: ModelObserver): Promise<Scorers> {
  const text = createTextSignalsScorer();
  await text.load();
  let detector: Scorer | null = null;
  if (model.detectorEnabled) {
    detector = createDetectorScorer({
      modelDir: model.dir,
      modelId: model.detector,
      maxBatch: model.maxBatch,
      batchWaitMs: model.batchWaitMs,
      ...(model.threads > 0 ? { threads: model.threads } : {}),
      modelThreads: Math.max(1, model.modelThreads),
      ...(observer ? { observer } : {}),
    });
    const started = performance.now();
    await detector.load();
    log.info({ model: detector.version, loadMs: Math.round(performance.now() - started) }, 'detector loaded and warmed up');
  } else {
    log.warn('DETECTOR_ENABLED=false: scoring with text and account signals only');
  }
  let zeroShot: Scorer | null = null;
  if (model.zeroShot) {
    zeroShot = createZeroShotScorer({
      modelDir: model.dir,
      observer: model.zeroShot.observer,
      ...(model.zeroShot.performer ? { performer: model.zeroShot.performer } : {}),
    });
    await zeroShot.load();
    log.info({ model: zeroShot.version }, 'zero-shot scorer loaded');
  }
  return {
    text,
    detector,
    zeroShot,
    async close() {
      await text.close();
      await detector?.close();
      await zeroShot?.close();
    },
  };
}
