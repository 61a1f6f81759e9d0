import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { detectExplicitLabels } from '../domain/labelling.ts';
import { newId } from '../domain/ids.ts';
import { contentLength } from '../domain/normalize.ts';
import type { Label, Reason, Scorer, Verdict } from '../domain/types.ts';
import type { CommentJob } from '../jobs/catalog.ts';
import { type CommentFusionConfig, fuseComment } from '../scoring/comment-fusion.ts';
import { commentRelevance, stripGeneric } from '../scoring/comment-relevance.ts';
import { commentTone } from '../scoring/comment-tone.ts';
import type { CommentBoosting } from '../signals/comment-boosting.ts';
import { commentSkeleton, type CommentTemplates } from '../signals/comment-templates.ts';
import type { AccountSignals } from '../signals/index.ts';
import {
  applyExistingScore,
  assignTemplate,
  mergeTemplates,
  commentById,
  writeReevaluatedScore,
  markCommentFailed,
  markCommentScoring,
  type StoredComment,
  writeCommentScore,
} from '../store/comments.ts';
import type { StoredArticle } from './articles.ts';

/** The parts a comment is scored with; built once per worker process. */
export interface CommentPipelineParts {
  templates: CommentTemplates;
  boosting: CommentBoosting;
  /** The account signals (bursts, cadence) over the accounts' comment timelines. */
  account: AccountSignals;
  /** The transformer detector; run only on comments of at least `detectorMinLength`. */
  detector: Scorer | null;
  detectorMinLength: number;
  fusion: CommentFusionConfig;
  /** The stored article a comment answers, by the platform's id (null: not submitted here). */
  articles: { getByExternalId(tenantId: string, externalId: string): Promise<Pick<StoredArticle, 'id' | 'title' | 'text' | 'accountId'> | null> };
  /** The stored comment a comment replies to, by the platform's id. */
  comments: { getByExternalId(tenantId: string, externalId: string): Promise<Pick<StoredComment, 'text'> | null> };
}

export interface CommentScoreResult {
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  signals: Record<string, unknown>;
  timings: Record<string, number>;
  templateId: string | null;
  /** Earlier comments that joined this comment's template now. */
  joinedTemplate: string[];
  /** Templates merged into this comment's template now. */
  mergedTemplates: string[];
  /** The template is young (up to one account past the flag level) and this is a new member: look at its earlier members again. */
  reevaluateTemplate: boolean;
}

/** A bot that says it is one: "我是AI", "[AI回复]", "I am a bot"... beside the article labels. */
const BOT_DECLARATION =
  /(?:^|[\s[【(（])(?:我是(?:一个)?(?:AI|人工智能|机器人|智能助手)|AI回复|AI自动回复|由AI生成|I(?:'m| am) (?:a|an) (?:bot|AI)|this (?:comment|reply) (?:was|is) (?:generated|written) by (?:AI|a bot)|beep boop)/i;

export function declaresAi(comment: Pick<StoredComment, 'declaredAi' | 'text'>): boolean {
  return comment.declaredAi || BOT_DECLARATION.test(comment.text) || detectExplicitLabels({ title: null, text: comment.text }).length > 0;
}

/** Runs every comment signal on one comment and fuses them. */
export class CommentPipeline {
  readonly modelVersion: string;
  readonly configVersion: string;

  constructor(private readonly parts: CommentPipelineParts) {
    this.modelVersion = ['comment-signals@1', parts.detector?.version ?? 'detector:none'].join('+');
    this.configVersion = parts.fusion.version;
  }

  async run(
    comment: Pick<
      StoredComment,
      'id' | 'tenantId' | 'accountId' | 'articleExternalId' | 'parentExternalId' | 'articleAccountId' | 'text' | 'lang' | 'postedAt' | 'receivedAt' | 'declaredAi'
    >,
  ): Promise<CommentScoreResult> {
    const t0 = performance.now();
    const [article, parent] = await Promise.all([
      this.parts.articles.getByExternalId(comment.tenantId, comment.articleExternalId),
      comment.parentExternalId ? this.parts.comments.getByExternalId(comment.tenantId, comment.parentExternalId) : Promise.resolve(null),
    ]);
    const t1 = performance.now();
    const relevance = commentRelevance(comment.text, comment.lang, article ? { title: article.title, text: article.text } : null, parent?.text ?? null);
    const tone = commentTone(comment.text, comment.lang);
    const informativeLength = Array.from(commentSkeleton(stripGeneric(comment.text, comment.lang).rest)).length;
    const long = contentLength(comment.text) >= this.parts.detectorMinLength;
    const detector = long && this.parts.detector ? await this.parts.detector.score({ text: comment.text, title: null, lang: comment.lang }) : null;
    const t2 = performance.now();
    const postedAt = (comment.postedAt ?? comment.receivedAt).getTime();
    const [template, account, boosting] = await Promise.all([
      this.parts.templates.observe({
        tenantId: comment.tenantId,
        commentId: comment.id,
        accountId: comment.accountId,
        articleKey: comment.articleExternalId,
        text: comment.text,
        lang: comment.lang,
        postedAt,
      }),
      this.parts.account.observe({ tenantId: comment.tenantId, articleId: comment.id, accountId: comment.accountId, text: comment.text, lang: comment.lang, postedAt }),
      this.parts.boosting.observe({
        tenantId: comment.tenantId,
        commentId: comment.id,
        accountId: comment.accountId,
        articleKey: comment.articleExternalId,
        author: comment.articleAccountId ?? article?.accountId ?? null,
        postedAt,
      }),
    ]);
    const t3 = performance.now();
    const declaredAi = declaresAi(comment);
    const fused = fuseComment(
      {
        lang: comment.lang,
        declaredAi,
        relevance,
        tone,
        detector: detector?.probability === null ? null : detector,
        template,
        informativeLength,
        behaviour: account.signals,
        boosting,
      },
      this.parts.fusion,
    );
    return {
      score: fused.score,
      label: fused.label,
      verdict: fused.verdict,
      reasons: fused.reasons,
      signals: {
        relevance,
        tone,
        template,
        behaviour: { signals: account.signals, stats: account.stats },
        boosting,
        detector: detector ? { version: detector.version, probability: detector.probability } : null,
        declaredAi,
        article: article ? { id: article.id, title: article.title, accountId: article.accountId } : null,
        parts: fused.parts,
      },
      timings: { lookupMs: t1 - t0, textMs: t2 - t1, accountMs: t3 - t2 },
      templateId: template.templateId,
      joinedTemplate: template.joined,
      mergedTemplates: template.merged ?? [],
      reevaluateTemplate: template.templateId !== null && template.firstObservation && template.accounts >= 2 && template.accounts <= this.parts.fusion.template.flagAccounts + 1,
    };
  }
}

export type CommentScoreOutcome =
  | { kind: 'scored'; scoreId: string; verdict: Verdict; label: Label; score: number }
  | { kind: 'already_scored'; scoreId: string }
  | { kind: 'superseded' }
  | { kind: 'unchanged' };

/**
 * Scores one comment revision once per (content, model version, config version): re-reads
 * the row, returns early when the work is done, and writes score, derived fields and the
 * `comment.scored` event in one statement.
 */
export class CommentScoringService {
  constructor(
    private readonly db: Db,
    private readonly pipeline: CommentPipeline,
  ) {}

  async score(job: CommentJob): Promise<CommentScoreOutcome> {
    if (job.trigger === 'reevaluate') return this.reevaluate(job);
    const versions = { modelVersion: this.pipeline.modelVersion, configVersion: this.pipeline.configVersion };
    const comment = await markCommentScoring(this.db, job, versions);
    // Permanent (`not_found`): a retry cannot bring the comment back.
    if (!comment) throw new ServiceError('not_found', `comment ${job.commentId} does not exist`);
    if (comment.revision !== job.revision) return { kind: 'superseded' };
    if (comment.existingScoreId) {
      await applyExistingScore(this.db, comment.existingScoreId, comment.revision);
      return { kind: 'already_scored', scoreId: comment.existingScoreId };
    }
    const started = Date.now();
    const result = await this.pipeline.run(comment);
    const scoreId = newId('csc');
    const written = await writeCommentScore(this.db, {
      scoreId,
      commentId: comment.id,
      tenantId: comment.tenantId,
      revision: comment.revision,
      contentHash: comment.contentHash,
      ...versions,
      score: result.score,
      label: result.label,
      verdict: result.verdict,
      reasons: result.reasons,
      signals: result.signals,
      timings: { ...result.timings, queuedMs: Math.max(0, started - comment.receivedAt.getTime()), totalMs: Date.now() - started },
      trigger: job.trigger,
      templateId: result.templateId,
      reevaluateTemplate: result.reevaluateTemplate,
    });
    if (!written) return { kind: 'superseded' };
    if (result.templateId) {
      await mergeTemplates(this.db, comment.tenantId, result.mergedTemplates, result.templateId);
      await assignTemplate(this.db, comment.tenantId, result.joinedTemplate, result.templateId);
    }
    return { kind: 'scored', scoreId, verdict: result.verdict, label: result.label, score: result.score };
  }

  /**
   * An earlier member of a template that grew: the signals are observed again (observation is
   * idempotent: nothing is counted twice, the template's accounts and articles are today's) and
   * a new score version is written when the verdict rises. Verdicts only rise; a moderator's
   * decision is never overridden.
   */
  private async reevaluate(job: CommentJob): Promise<CommentScoreOutcome> {
    const comment = await commentById(this.db, job.tenantId, job.commentId);
    // Permanent (`not_found`): a retry cannot bring the comment back.
    if (!comment) throw new ServiceError('not_found', `comment ${job.commentId} does not exist`);
    if (comment.revision !== job.revision || comment.status !== 'scored') return { kind: 'superseded' };
    const result = await this.pipeline.run(comment);
    const scoreId = newId('csc');
    const written = await writeReevaluatedScore(this.db, {
      scoreId,
      commentId: comment.id,
      tenantId: comment.tenantId,
      revision: comment.revision,
      contentHash: comment.contentHash,
      modelVersion: this.pipeline.modelVersion,
      configVersion: this.pipeline.configVersion,
      score: result.score,
      label: result.label,
      verdict: result.verdict,
      reasons: result.reasons,
      signals: result.signals,
      timings: result.timings,
      trigger: 'reevaluate',
      templateId: result.templateId,
      reevaluateTemplate: false,
    });
    if (result.templateId) await mergeTemplates(this.db, comment.tenantId, result.mergedTemplates, result.templateId);
    return written ? { kind: 'scored', scoreId, verdict: result.verdict, label: result.label, score: result.score } : { kind: 'unchanged' };
  }

  async markFailed(job: CommentJob, reason: string): Promise<void> {
    await markCommentFailed(this.db, job, reason);
  }
}
