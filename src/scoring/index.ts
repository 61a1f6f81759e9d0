import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Scorer } from '../domain/types.ts';
import { createTextSignalsScorer } from './text-signals.ts';

export interface Scorers {
  text: Scorer;
  detector: Scorer | null;
  close(): Promise<void>;
}

/** Builds and warms the scorers a worker process runs, once per process. */
export async function buildScorers(model: Config['model'], log: Logger): Promise<Scorers> {
  const text = createTextSignalsScorer();
  await text.load();
  const detector: Scorer | null = null;
  if (model.detectorEnabled) log.warn('the transformer detector is not shipped yet; scoring with text and account signals only');
  return {
    text,
    detector,
    async close() {
      await text.close();
    },
  };
}
