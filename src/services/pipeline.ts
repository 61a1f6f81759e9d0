import { detectExplicitLabels, implicitLabelOf, isDeclared } from '../domain/labelling.ts';
import { contentLength } from '../domain/normalize.ts';
import type { ArticleToScore, Reason, Scorer, ScorerOutput } from '../domain/types.ts';
import { fuse } from '../scoring/fusion.ts';
import type { FusionConfig } from '../scoring/fusion-config.ts';
import type { AccountSignals, AccountSignalsResult } from '../signals/index.ts';
import type { PipelineResult, ScoringPipeline } from './scoring.ts';

export interface PipelineParts {
  /** Interpretable text signals: always present. */
  text: Scorer;
  /** The transformer detector; null when not shipped or switched off. */
  detector: Scorer | null;
  /** Zero-shot causal-LM statistics; null unless configured. Explained, not yet weighted. */
  zeroShot: Scorer | null;
  /** Account behaviour over Redis; null in contexts that must not record timelines. */
  account: AccountSignals | null;
  fusion: FusionConfig;
}

function summary(output: ScorerOutput | null) {
  if (!output) return null;
  return { version: output.version, probability: output.probability, features: output.features, thresholds: output.thresholds };
}

const UNAVAILABLE_PART = {
  timeline: { zh: '发帖时间线（突发、规律性）', en: 'the posting timeline (burst, cadence)' },
  near_duplicate_index: { zh: '近似重复索引', en: 'the near-duplicate index' },
} as const;

/** A reason that says which account signals could not be judged (Redis nodes down): the article is scored without them. */
function unavailableReasons(account: AccountSignalsResult | null): Reason[] {
  if (!account?.unavailable) return [];
  const parts = account.unavailable.map((p) => UNAVAILABLE_PART[p]);
  return [
    {
      code: 'account_signals_unavailable',
      source: 'account',
      contribution: 0,
      message: {
        zh: `${parts.map((p) => p.zh).join('、')}暂不可用（Redis节点无响应），本次未计入相关账号信号`,
        en: `${parts.map((p) => p.en).join(' and ')} ${parts.length === 1 ? 'was' : 'were'} unavailable (a Redis node did not answer); the account signals that need ${parts.length === 1 ? 'it' : 'them'} were not judged`,
      },
      evidence: { unavailable: account.unavailable },
    },
  ];
}

/**
 * Runs every scorer on one article and fuses their outputs. The model version names every
 * scorer that took part, so a changed model means a new score row, never an overwrite.
 */
export function createPipeline(parts: PipelineParts): ScoringPipeline {
  const versions = [
    parts.detector?.version ?? 'detector:none',
    parts.text.version,
    parts.account ? 'account-signals@1' : 'account:none',
    ...(parts.zeroShot ? [parts.zeroShot.version] : []),
  ];
  return {
    modelVersion: versions.join('+'),
    configVersion: parts.fusion.version,
    async run(article: ArticleToScore, options: { background?: boolean } = {}): Promise<PipelineResult> {
      const input = { text: article.text, title: article.title, lang: article.lang, background: options.background ?? false };
      const t0 = performance.now();
      const text = await parts.text.score(input);
      const t1 = performance.now();
      const detector = parts.detector ? await parts.detector.score(input) : null;
      const zeroShot = parts.zeroShot ? await parts.zeroShot.score(input) : null;
      const t2 = performance.now();
      const account: AccountSignalsResult | null = parts.account
        ? await parts.account.observe({
            tenantId: article.tenantId,
            articleId: article.id,
            accountId: article.accountId,
            text: article.text,
            lang: article.lang,
            postedAt: article.postedAt,
          })
        : null;
      const t3 = performance.now();
      // An implicit label in the metadata or an explicit one in the text declares AI content
      // as the platform's flag does: declared content is never `ai_undeclared`.
      const labelling = { implicit: implicitLabelOf(article.metadata), explicit: detectExplicitLabels(article) };
      const declaredAi = isDeclared({ ...labelling, declaredAi: article.declaredAi });
      const fused = fuse({ lang: article.lang, declaredAi, contentLength: contentLength(article.text), detector, text, account }, parts.fusion);
      return {
        score: fused.score,
        label: fused.label,
        verdict: fused.verdict,
        // Zero-shot statistics explain (contribution 0); the fusion does not weigh them yet.
        reasons: [...fused.reasons, ...(zeroShot?.reasons ?? []), ...unavailableReasons(account)],
        segments: detector?.segments ?? [],
        signals: { text: summary(text), detector: summary(detector), account, labelling, ...(zeroShot ? { zeroShot: summary(zeroShot) } : {}) },
        timings: { textMs: t1 - t0, modelMs: t2 - t1, accountMs: t3 - t2 },
      };
    },
  };
}
