/**
 * Comment fusion: the one place where a comment's signals become a score, a label, a verdict
 * and the reasons for them. Pure: the same input and config always give the same result.
 *
 * Score (log-odds, the units of every reason's contribution):
 *   prior + relevance + tone + detector (long comments only) + template reuse + behaviour
 * Verdict (rules, so each guarantee is easy to see):
 *   1. Declared AI comments are `ai_declared`: `pass`, or `review` when the account looks like a farm.
 *   2. `flag` needs a template shared across accounts (at least `template.flagAccounts`, with
 *      enough text beyond stock praise to be a template at all) AND a doubtful text (generic,
 *      beside the point, formulaic) or account behaviour (bursts, cadence, boosting).
 *   3. `review`: a template shared by two accounts or more; behaviour with a doubtful text; a
 *      long comment the detector reads as machine text; an account repeating its own template
 *      under many articles while behaving like a machine.
 *   4. Otherwise `pass`. So text alone (generic praise, off-topic, flat tone) never flags, nor
 *      reviews: a person who always writes "写得真好" is not flagged for it.
 * The label agrees with the verdict (`labelFor`).
 *
 * Example: a 3-account template, generic text, no behaviour ->
 *   { verdict: 'flag', label: 'ai_undeclared', reasons: [comment.template_reuse +3.1, comment.generic +1.0, …] }
 */
import type { Lang } from '../domain/normalize.ts';
import type { Label, Reason, ScorerOutput, Verdict } from '../domain/types.ts';
import type { BoostingSignal } from '../signals/comment-boosting.ts';
import type { TemplateResult } from '../signals/comment-templates.ts';
import type { AccountSignal } from '../signals/types.ts';
import type { RelevanceResult } from './comment-relevance.ts';
import type { ToneResult } from './comment-tone.ts';
import { labelFor } from './fusion.ts';

export interface CommentFusionConfig {
  version: string;
  prior: number;
  weights: { offTopic: number; onTopic: number; generic: number; tone: number; detector: number; template: number; behaviour: number };
  /** Strength of each behaviour signal in the noisy-or. */
  behaviour: Record<string, number>;
  template: {
    /** Accounts sharing a template that make a flag possible (review from 2). */
    flagAccounts: number;
    /** Skeleton characters beyond generic praise at which a shared text fully counts as a template. */
    fullInfo: Record<Lang, number>;
    /** Own uses (distinct articles) at which repeating one's own template fully counts. */
    selfRepeatFull: number;
  };
  /** Tone at or above this makes a text doubtful. */
  toneDoubt: number;
  /** Behaviour suspicion at or above this counts with a doubtful text. */
  behaviourReview: number;
  /** Detector probability (long comments) at or above this reviews on its own. */
  detectorReview: number;
}

export const defaultCommentFusionConfig: CommentFusionConfig = {
  version: 'comment-fusion-2026-11-27.1',
  prior: -2,
  weights: { offTopic: 1.2, onTopic: 0.8, generic: 1, tone: 1.6, detector: 0.8, template: 4, behaviour: 2.5 },
  behaviour: { burst: 0.8, machine_cadence: 0.9, no_rest_period: 0.4, first_commenter: 0.9 },
  template: { flagAccounts: 3, fullInfo: { zh: 12, en: 30 }, selfRepeatFull: 6 },
  toneDoubt: 0.6,
  behaviourReview: 0.5,
  detectorReview: 0.85,
};

export interface CommentFusionInput {
  lang: Lang;
  declaredAi: boolean;
  relevance: RelevanceResult;
  tone: ToneResult;
  /** Null when the comment is too short for the detector or it is off. */
  detector: ScorerOutput | null;
  template: TemplateResult;
  /** Skeleton characters of the comment once generic phrases are removed (what a template carries). */
  informativeLength: number;
  behaviour: readonly AccountSignal[];
  boosting: BoostingSignal | null;
}

export interface CommentFusionResult {
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  configVersion: string;
  parts: { template: number; behaviour: number; textDoubt: boolean; templateAccounts: number };
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (p: number) => `${Math.round(p * 100)}%`;
const EPS = 1e-4;
const logit = (p: number) => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};
const RANK: Record<Verdict, number> = { pass: 0, review: 1, flag: 2 };

export function fuseComment(input: CommentFusionInput, config: CommentFusionConfig = defaultCommentFusionConfig): CommentFusionResult {
  const w = config.weights;
  const reasons: Reason[] = [];
  const rel = input.relevance;

  // Beside the point.
  let textDoubt = false;
  if (rel.status === 'unavailable') {
    reasons.push({
      code: 'comment.relevance_unavailable',
      source: 'text',
      contribution: 0,
      message: { zh: '未收到所评文章的正文，无法判断是否答非所问', en: 'The article’s text is unknown here, so relevance is not judged' },
      evidence: { reason: rel.reason },
    });
  } else if (rel.kind === 'generic') {
    textDoubt = true;
    reasons.push({
      code: 'comment.generic',
      source: 'text',
      contribution: round(w.generic),
      message: {
        zh: `评论是放在任何文章下都成立的套话（${rel.genericPhrases.slice(0, 3).join('、') || '无具体内容'}），没有提到文章内容`,
        en: `A generic comment that could sit under any article (${rel.genericPhrases.slice(0, 3).join(', ') || 'no content'}); nothing from the article`,
      },
      evidence: { genericPhrases: rel.genericPhrases, units: rel.units },
    });
  } else if (rel.kind === 'unrelated') {
    textDoubt = true;
    reasons.push({
      code: 'comment.beside_the_point',
      source: 'text',
      contribution: round(w.offTopic * rel.offTopic),
      message: {
        zh: `答非所问：评论的内容词只有${pct(rel.specificity)}出现在文章或上级评论中`,
        en: `Beside the point: only ${pct(rel.specificity)} of the comment's content words occur in the article or the parent comment`,
      },
      evidence: { specificity: rel.specificity, matched: rel.matched, units: rel.units, passage: rel.passage },
    });
  } else {
    reasons.push({
      code: 'comment.on_topic',
      source: 'text',
      contribution: round(-w.onTopic * (1 - rel.offTopic)),
      message: {
        zh: `评论提到了文章的内容（${rel.matched.slice(0, 4).join('、')}）`,
        en: `The comment picks up what the article says (${rel.matched.slice(0, 4).join(', ')})`,
      },
      evidence: { specificity: rel.specificity, matched: rel.matched, units: rel.units, passage: rel.passage, parentMatched: rel.parentMatched },
    });
  }

  // Tone.
  const tone = input.tone;
  if (tone.machineLike >= config.toneDoubt) textDoubt = true;
  reasons.push({
    code: 'comment.tone',
    source: 'text',
    contribution: round(w.tone * (tone.machineLike - 0.5)),
    message:
      tone.machineLike >= 0.5
        ? {
            zh: `语气平板、公式化${tone.formulaic.length ? `（${tone.formulaic.slice(0, 3).join('、')}）` : ''}，缺乏情感`,
            en: `Flat, formulaic tone${tone.formulaic.length ? ` (${tone.formulaic.slice(0, 3).join(', ')})` : ''}, without feeling`,
          }
        : {
            zh: `像真人在说话${tone.human.length ? `（${tone.human.slice(0, 3).join('、')}）` : ''}`,
            en: `Reads like a person talking${tone.human.length ? ` (${tone.human.slice(0, 3).join(', ')})` : ''}`,
          },
    evidence: { machineLike: tone.machineLike, formulaic: tone.formulaic, human: tone.human, emoji: tone.emoji },
  });

  // Detector, only where the comment is long enough for it.
  const p = input.detector?.probability ?? null;
  if (p !== null && input.detector) {
    if (p >= (input.detector.thresholds?.review ?? config.detectorReview)) textDoubt = true;
    reasons.push({
      code: 'model_probability',
      source: 'model',
      contribution: round(w.detector * logit(p)),
      message: { zh: `模型判断为AI生成的概率为${pct(p)}`, en: `The model puts the chance of AI generation at ${pct(p)}` },
      evidence: { model: input.detector.name, version: input.detector.version, probability: p },
    });
  } else {
    reasons.push({
      code: 'model_unavailable',
      source: 'policy',
      contribution: 0,
      message: { zh: '评论过短，检测模型不作判断', en: 'Too short for the detector; other signals only' },
    });
  }

  // Template reuse.
  const t = input.template;
  const info = Math.min(1, input.informativeLength / config.template.fullInfo[input.lang]);
  const others = Math.max(0, t.accounts - 1);
  const cross = t.templateId && others > 0 ? Math.min(1, others / (config.template.flagAccounts + 1)) * info : 0;
  const selfRepeat = t.templateId || t.ownUses > 1 ? Math.min(1, (t.ownUses - 1) / (config.template.selfRepeatFull - 1)) * info : 0;
  const templateStrength = Math.max(cross, 0.4 * selfRepeat);
  if (t.templateId && (cross > 0 || selfRepeat > 0)) {
    reasons.push({
      code: cross > 0 ? 'comment.template_reuse' : 'comment.self_repeat',
      source: 'account',
      contribution: round(w.template * templateStrength),
      message:
        cross > 0
          ? {
              zh: `同一模板的评论由${t.accounts}个账号发布在约${t.articles}篇文章下`,
              en: `The same template was posted by ${t.accounts} accounts under about ${t.articles} articles`,
            }
          : {
              zh: `该账号在约${t.articles}篇文章下发布了${t.ownUses}次同样的评论`,
              en: `This account posted the same comment ${t.ownUses} times under about ${t.articles} articles`,
            },
      evidence: { templateId: t.templateId, accounts: t.accounts, articles: t.articles, ownUses: t.ownUses, informativeLength: input.informativeLength, similar: t.similar },
    });
  }

  // Behaviour: noisy-or of the account signals and boosting.
  const signals: { code: string; strength: number; value: number; message: { zh: string; en: string }; evidence: Record<string, unknown> }[] = [
    ...input.behaviour,
    ...(input.boosting ? [input.boosting] : []),
  ];
  const weighted = signals.map((s) => ({ s, x: (config.behaviour[s.code] ?? 0) * s.strength })).filter((e) => e.x > 0);
  const behaviour = 1 - weighted.reduce((a, e) => a * (1 - Math.min(1, e.x)), 1);
  const xSum = weighted.reduce((a, e) => a + e.x, 0);
  for (const { s, x } of weighted) {
    reasons.push({
      code: s.code,
      source: 'account',
      contribution: round((w.behaviour * behaviour * x) / xSum),
      message: s.message,
      evidence: { value: s.value, strength: s.strength, ...s.evidence },
    });
  }

  const sum = config.prior + reasons.reduce((a, r) => a + r.contribution, 0);
  const score = 1 / (1 + Math.exp(-sum));

  let verdict: Verdict = 'pass';
  const templateAccounts = t.templateId ? t.accounts : 1;
  const isTemplate = info >= 0.5 && templateAccounts >= 2;
  const farmLike = (isTemplate && templateAccounts >= config.template.flagAccounts) || behaviour >= config.behaviourReview;
  if (input.declaredAi) {
    verdict = farmLike ? 'review' : 'pass';
    reasons.push({
      code: 'declared_ai',
      source: 'policy',
      contribution: 0,
      message: { zh: '发布者已声明该评论由AI生成', en: 'The poster declared this comment as AI-generated' },
    });
  } else {
    const raise = (v: Verdict) => {
      if (RANK[v] > RANK[verdict]) verdict = v;
    };
    if (isTemplate && templateAccounts >= config.template.flagAccounts && (textDoubt || behaviour >= 0.3)) raise('flag');
    if (isTemplate && behaviour >= config.behaviourReview) raise('flag');
    if (isTemplate) raise('review');
    if (behaviour >= config.behaviourReview && textDoubt) raise('review');
    if (p !== null && p >= (input.detector?.thresholds?.flag ?? config.detectorReview)) raise('review');
    if (selfRepeat >= 1 && behaviour >= 0.3) raise('review');
  }

  reasons.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.code.localeCompare(b.code));
  return {
    score: round(score),
    label: labelFor(verdict, input.declaredAi),
    verdict,
    reasons,
    configVersion: config.version,
    parts: { template: round(templateStrength), behaviour: round(behaviour), textDoubt, templateAccounts },
  };
}
