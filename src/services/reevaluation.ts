/**
 * Re-evaluation: a farm is caught from its first post, not from its third.
 *
 * An article is scored with the evidence of its time. When a content-farm cluster forms or
 * grows later, or a later post of the account shows a burst that covers it, the earlier
 * articles are looked at again with the new evidence:
 *
 *   planner (dispatcher, on `cluster.grew` or a bursting `article.scored` event)
 *     -> the candidates (scored, not already `flag`, no moderator decision on this revision)
 *     -> `reevaluate` jobs of `REEVALUATE_CHUNK` articles, ids derived from the event
 *   reevaluator (worker, one chunk per job)
 *     -> account signals observed again (near-duplicates and coordination now see the copies
 *        posted later; a burst from the trigger is merged in), fused again with the stored
 *        model and text evidence (no model pass)
 *     -> where the verdict rises: a new score version (`evaluation` n + 1), the article's
 *        derived fields and an `article.verdict_changed` event, in one statement; the
 *        dispatcher then tells the webhooks.
 *
 * Verdicts only rise: a re-evaluation never lowers one, and an article a moderator decided on
 * (this revision) is left alone. Fusion's rules still hold, so an honest repost (a text that
 * reads as human, the same in several outlets) goes at most to `review`, with a reason that
 * says it may be an attributed repost.
 *
 * Bounded: a cluster of 5,000 members is one read and one addBulk of 50 jobs for the
 * dispatcher, and the jobs run on their own queue and concurrency; a cluster is planned only
 * when its account count crosses a step of `REEVALUATION_STEPS` (then doubling), so a farm
 * growing by one article at a time does not re-plan its members every time.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '../db/db.ts';
import { newId } from '../domain/ids.ts';
import { aigcLabelSchema, isDeclared } from '../domain/labelling.ts';
import { contentLength } from '../domain/normalize.ts';
import type { Reason, ScorerOutput, Verdict } from '../domain/types.ts';
import { accountCandidates, clusterCandidates, reevaluationCandidates, writeReevaluatedScores } from '../store/reevaluation.ts';
import type { JobQueue, JOBS, ReevaluateJob, ReevaluationReason } from '../jobs/catalog.ts';
import { fuse } from '../scoring/fusion.ts';
import type { FusionConfig } from '../scoring/fusion-config.ts';
import type { AccountSignals } from '../signals/index.ts';
import type { AccountSignal, AccountSignalsResult } from '../signals/types.ts';

/** Account counts at which a cluster's members are re-evaluated; past the last, every doubling. */
export const REEVALUATION_STEPS = [2, 3, 4, 6, 8] as const;

/** True when a cluster growing from `before` to `after` accounts crosses a re-evaluation step. */
export function crossesStep(before: number, after: number): boolean {
  if (after <= before) return false;
  for (const step of REEVALUATION_STEPS) if (before < step && after >= step) return true;
  const last = REEVALUATION_STEPS[REEVALUATION_STEPS.length - 1]!;
  for (let step = last * 2; step <= after; step *= 2) if (before < step) return true;
  return false;
}

/** Most earlier posts of one account a burst re-evaluates (a burst is posts in minutes, not thousands). */
const MAX_ACCOUNT_CANDIDATES = 1000;

const VERDICT_RANK: Record<Verdict, number> = { pass: 0, review: 1, flag: 2 };

/** Finds the articles new evidence concerns and queues them in chunks (the dispatcher's half). */
export class ReevaluationPlanner {
  constructor(
    private readonly db: Db,
    private readonly jobs: JobQueue<typeof JOBS.reevaluate>,
    private readonly settings: { chunk: number },
    private readonly log: Logger,
  ) {}

  /** Every member of the cluster whose verdict could still rise. Returns the articles queued. */
  async planCluster(eventId: number, tenantId: string, reason: Extract<ReevaluationReason, { kind: 'cluster' }>): Promise<number> {
    return this.enqueue(eventId, tenantId, reason, await clusterCandidates(this.db, tenantId, reason.clusterId));
  }

  /** The account's earlier posts inside the burst window whose verdict could still rise. */
  async planAccount(eventId: number, tenantId: string, reason: Extract<ReevaluationReason, { kind: 'account' }>, window: { from: string; to: string }): Promise<number> {
    const ids = await accountCandidates(this.db, tenantId, { accountId: reason.accountId, except: reason.trigger, ...window, limit: MAX_ACCOUNT_CANDIDATES });
    return this.enqueue(eventId, tenantId, reason, ids);
  }

  /** Throws when Redis refuses: the dispatcher then keeps its cursor and plans again. */
  private async enqueue(eventId: number, tenantId: string, reason: ReevaluationReason, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const jobs: { data: ReevaluateJob; key: { eventId: number; chunk: number } }[] = [];
    for (let i = 0; i * this.settings.chunk < ids.length; i++) {
      const data: ReevaluateJob = { tenantId, reason, articleIds: ids.slice(i * this.settings.chunk, (i + 1) * this.settings.chunk) };
      jobs.push({ data, key: { eventId, chunk: i } });
    }
    await this.jobs.addBulk(jobs);
    this.log.debug({ eventId, reason: reason.kind, articles: ids.length, jobs: jobs.length }, 're-evaluation planned');
    return ids.length;
  }
}

const summarySchema = z
  .object({
    version: z.string(),
    probability: z.number().nullable(),
    features: z.record(z.string(), z.number()).default({}),
    thresholds: z.object({ review: z.number(), flag: z.number() }).nullable().default(null),
  })
  .nullable();

/** What re-fusing needs from a stored score's signals (written by `services/pipeline.ts`). */
const storedSignalsSchema = z.object({
  text: summarySchema.default(null),
  detector: summarySchema.default(null),
  labelling: z
    .object({
      implicit: aigcLabelSchema.nullable().default(null),
      explicit: z.array(z.object({ phrase: z.string(), where: z.enum(['title', 'start', 'end']), start: z.number(), end: z.number(), lang: z.enum(['zh', 'en']) })).default([]),
    })
    .default({ implicit: null, explicit: [] }),
});

/** An article's latest score, as re-evaluation reads it (the stored score's fields plus the article's). */
export interface ReevaluationOutcome {
  /** Articles whose verdict rose (a new score version and an event each). */
  raised: number;
  unchanged: number;
  /** Gone, unscored, decided by a moderator, or scored under another fusion config. */
  skipped: number;
}

/** The strongest of each signal code, strongest first. */
function mergeSignals(observed: readonly AccountSignal[], extra: readonly AccountSignal[]): AccountSignal[] {
  const byCode = new Map<string, AccountSignal>();
  for (const s of [...observed, ...extra]) {
    const have = byCode.get(s.code);
    if (!have || s.strength > have.strength) byCode.set(s.code, s);
  }
  return [...byCode.values()].sort((a, b) => b.strength - a.strength);
}

function reevaluationReason(reason: ReevaluationReason, humanText: boolean): Reason {
  const repost = humanText
    ? {
        zh: '；文本本身读起来像人工撰写，也可能是注明出处的正常转载，请人工核对来源',
        en: '; the text itself reads as human-written, so this may be an attributed repost: check the source',
      }
    : { zh: '', en: '' };
  if (reason.kind === 'cluster') {
    return {
      code: 'reevaluated_farm',
      source: 'policy',
      contribution: 0,
      message: {
        zh: `发布后，${reason.accounts}个账号发布了与本文雷同的内容（内容农场集群，共${reason.size}篇），据此重新评估${repost.zh}`,
        en: `After it was posted, ${reason.accounts} accounts published near-duplicates of it (a content-farm cluster of ${reason.size} articles); re-evaluated with that evidence${repost.en}`,
      },
      evidence: { clusterId: reason.clusterId, accounts: reason.accounts, size: reason.size, trigger: reason.trigger },
    };
  }
  return {
    code: 'reevaluated_account',
    source: 'policy',
    contribution: 0,
    message: {
      zh: `该账号随后的发帖显示出异常行为（${reason.signals.map((s) => s.message.zh).join('；')}），本文处于同一时段，据此重新评估${repost.zh}`,
      en: `A later post of the account showed ${reason.signals.map((s) => s.message.en).join('; ')}, a pattern covering this post; re-evaluated with that evidence${repost.en}`,
    },
    evidence: { accountId: reason.accountId, trigger: reason.trigger, signals: reason.signals.map((s) => s.code) },
  };
}

/** Runs re-evaluation chunks (the worker's half): re-observe, re-fuse, raise, record. */
export class Reevaluator {
  constructor(
    private readonly db: Db,
    private readonly account: AccountSignals,
    private readonly fusion: FusionConfig,
  ) {}

  /** `admit` waits for a turn per article (live traffic first) and answers the turn's end. */
  async run(job: ReevaluateJob, options: { admit?: () => Promise<() => void> } = {}): Promise<ReevaluationOutcome> {
    const candidates = await reevaluationCandidates(this.db, job.tenantId, job.articleIds);
    const extra = job.reason.kind === 'account' ? job.reason.signals : [];
    const rows: Record<string, unknown>[] = [];
    let unchanged = 0;
    let skipped = job.articleIds.length - candidates.length;
    await Promise.all(
      candidates.map(async (c) => {
        // Stored evidence fused under another config would mix two policies: a rescan handles those.
        if (c.configVersion !== this.fusion.version) {
          skipped++;
          return;
        }
        const stored = storedSignalsSchema.safeParse(c.signals);
        if (!stored.success) {
          skipped++;
          return;
        }
        const release = await options.admit?.();
        let observed: AccountSignalsResult;
        try {
          observed = await this.account.observe({ tenantId: c.tenantId, articleId: c.id, accountId: c.accountId, text: c.text, lang: c.lang, postedAt: c.postedAt });
        } finally {
          release?.();
        }
        const account: AccountSignalsResult = { ...observed, signals: mergeSignals(observed.signals, extra) };
        const { text, detector, labelling } = stored.data;
        const detectorOut: ScorerOutput | null = detector
          ? {
              name: 'detector',
              version: detector.version,
              probability: detector.probability,
              reasons: [],
              segments: [],
              features: detector.features,
              thresholds: detector.thresholds,
            }
          : null;
        // The stored text reasons carry fusion's scaling; fusion rescales them in proportion, so
        // the text part comes out as it was.
        const textOut: ScorerOutput = {
          name: 'text-signals',
          version: text?.version ?? 'text:unknown',
          probability: text?.probability ?? null,
          reasons: c.reasons.filter((r) => r.source === 'text'),
          segments: [],
          features: text?.features ?? {},
          thresholds: text?.thresholds ?? null,
        };
        const declaredAi = isDeclared({ implicit: labelling.implicit, explicit: labelling.explicit, declaredAi: c.declaredAi });
        const fused = fuse({ lang: c.lang, declaredAi, contentLength: contentLength(c.text), detector: detectorOut, text: textOut, account }, this.fusion);
        if (VERDICT_RANK[fused.verdict] <= VERDICT_RANK[c.verdict]) {
          unchanged++;
          return;
        }
        const textSide = (fused.parts.model ?? 0) + fused.parts.text;
        const humanText = fused.parts.model !== null && 1 / (1 + Math.exp(-textSide)) < fused.thresholds.review;
        const why = reevaluationReason(job.reason, humanText);
        // Statistics fusion does not weigh (zero-shot) stay as they were.
        const kept = c.reasons.filter((r) => r.contribution === 0 && r.source === 'model');
        const scoreId = newId('scr');
        rows.push({
          score_id: scoreId,
          article_id: c.id,
          tenant_id: c.tenantId,
          revision: c.revision,
          content_hash: c.contentHash,
          model_version: c.modelVersion,
          config_version: c.configVersion,
          evaluation: c.evaluation + 1,
          prev_verdict: c.verdict,
          score: fused.score,
          label: fused.label,
          verdict: fused.verdict,
          reasons: [why, ...fused.reasons, ...kept],
          segments: c.segments,
          signals: { ...c.signals, account },
          timings: c.timings,
          payload: {
            scoreId,
            revision: c.revision,
            evaluation: c.evaluation + 1,
            score: fused.score,
            label: fused.label,
            verdict: fused.verdict,
            previous: { scoreId: c.scoreId, score: c.score, label: c.label, verdict: c.verdict },
            reason: { code: why.code, message: why.message, evidence: why.evidence },
          },
        });
      }),
    );
    const raised = rows.length === 0 ? 0 : await this.write(rows);
    return { raised, unchanged: unchanged + rows.length - raised, skipped };
  }

  /**
   * The new score versions, the articles' derived fields and their `article.verdict_changed`
   * events in one statement. An article that moved on meanwhile (a new revision, another
   * verdict) is left alone: its score version is not written either.
   */
  private async write(rows: Record<string, unknown>[]): Promise<number> {
    return writeReevaluatedScores(this.db, rows);
  }
}
