/**
 * Interpretable text-signals scorer: the seed article's portrait of AI "digital slop"
 * (模板话术, 莫得感情的均匀句子, 用词单调, 无细节, 赚钱引流话术, 列表套路, 广而不精) turned into
 * nine measured features and a per-language logistic model fitted on the labelled datasets
 * (`training/text-signals/fit.ts`, weights in `text-signals/weights.ts`).
 *
 * It is an explainer first: each feature that fires becomes a `Reason` with its signed share
 * of the logit, bilingual message and the matched phrases. Its accuracy is modest (dev AUROC
 * about 0.84 zh, 0.72 en); the transformer scorer is the one to trust for the number.
 *
 * Texts shorter than `MIN_UNITS` (100 Han characters, 60 English words) get probability null.
 *
 * @example
 * const scorer = createTextSignalsScorer();
 * await scorer.load();
 * // A 250-character template essay: 在当今社会，随着科技的不断发展…首先…其次…综上所述…让我们一起努力
 * const out = await scorer.score({ text: essay, title: null, lang: 'zh' });
 * // out.probability ≈ 0.98; out.reasons[0] = { code: 'text.template_rate', source: 'text',
 * //   contribution: 1.65, message: { zh: '模板化过渡语出现14次（一方面、不仅…而且、值得注意的是、其次…），每千字55.8次',
 * //   en: '14 stock transitions and template phrases (…), 55.8 per 1,000 characters' }, evidence: {…} }
 */
import type { Lang } from '../../domain/normalize.ts';
import type { Reason, ScoreInput, Scorer, ScorerOutput } from '../../domain/types.ts';
import { extractTextSignals, FEATURE_NAMES, type FeatureName, type FeatureValue } from './features.ts';
import { explain, fires, MIN_UNITS, type Explanation, type TextSignalsWeights } from './model.ts';
import { TEXT_SIGNALS_WEIGHTS } from './weights.ts';

export { MIN_UNITS } from './model.ts';

export const TEXT_SIGNALS_NAME = 'text_signals';
export const TEXT_SIGNALS_VERSION = 'text-signals@1';

export interface TextSignalsResult {
  output: ScorerOutput;
  /** Full breakdown: bias + Σ contributions = logit, for every feature (fired or not). */
  explanation: Explanation | null;
}

const fmt = (v: number, digits = 1): string => (Number.isInteger(v) ? String(v) : v.toFixed(digits));

function phraseList(phrases: unknown, sep: string, max = 4): string {
  const keys = Object.keys((phrases as Record<string, number> | undefined) ?? {});
  if (keys.length === 0) return '';
  return keys.slice(0, max).join(sep) + (keys.length > max ? '…' : '');
}

function listOf(items: unknown, sep: string, max = 4): string {
  const arr = Array.isArray(items) ? (items as string[]) : [];
  return arr.slice(0, max).join(sep) + (arr.length > max ? '…' : '');
}

type Messages = (f: FeatureValue, lang: Lang) => { zh: string; en: string };

/** One bilingual message per feature, concrete: counts, rates and the matched phrases. */
const MESSAGES: Record<FeatureName, Messages> = {
  template_rate: ({ value, evidence: e }, lang) => {
    const zhList = phraseList(e.phrases, '、');
    const enList = phraseList(e.phrases, ', ');
    return {
      zh: `模板化过渡语出现${e.count}次（${zhList}），每千${lang === 'zh' ? '字' : '词'}${fmt(value ?? 0)}次`,
      en: `${e.count} stock transitions and template phrases (${enList}), ${fmt(value ?? 0)} per 1,000 ${lang === 'zh' ? 'characters' : 'words'}`,
    };
  },
  sentence_len_cv: ({ value, evidence: e }, lang) => ({
    zh: `句子长度高度均匀：${e.sentences}句，平均${fmt(Number(e.meanLength))}${lang === 'zh' ? '字' : '词'}，变异系数仅${fmt(value ?? 0, 2)}（人写文本长短更参差）`,
    en: `Uniform sentence lengths: ${e.sentences} sentences averaging ${fmt(Number(e.meanLength))} ${lang === 'zh' ? 'characters' : 'words'}, coefficient of variation only ${fmt(value ?? 0, 2)} (human writing varies more)`,
  }),
  personal_rate: ({ evidence: e }) => {
    const list = phraseList(e.markers, '、');
    return {
      zh: `缺少第一人称、情绪和口语表达：仅${e.count}处${list ? `（${list}）` : ''}，语气“莫得感情”`,
      en: `Few first-person, emotional or colloquial markers: ${e.count}${list ? ` (${phraseList(e.markers, ', ')})` : ''}, an impersonal tone`,
    };
  },
  exclaim_question_share: ({ evidence: e }) => ({
    zh: `${e.sentences}句中感叹句或问句仅${e.count}句，语气平铺直叙`,
    en: `Only ${e.count} of ${e.sentences} sentences are exclamations or questions: a flat tone`,
  }),
  lexical_mattr: ({ value, evidence: e }) => ({
    zh: `用词变化少：滑动窗口类符/形符比（MATTR，${e.window}个${e.unit === 'word' ? '词' : '字二元组'}为窗）仅${fmt(value ?? 0, 3)}`,
    en: `Low lexical variety: moving-average type-token ratio ${fmt(value ?? 0, 3)} over ${e.window}-${e.unit === 'word' ? 'word' : 'character-bigram'} windows`,
  }),
  detail_rate: ({ value, evidence: e }, lang) => {
    const ex = listOf(e.examples, '、');
    return {
      zh: `缺少具体细节：数字、日期、地名、人名和引语共${e.count}处${ex ? `（${ex}）` : ''}，每千${lang === 'zh' ? '字' : '词'}${fmt(value ?? 0)}处`,
      en: `Little concrete detail: ${e.count} numbers, dates, places, names or quotes${ex ? ` (${listOf(e.examples, ', ')})` : ''}, ${fmt(value ?? 0)} per 1,000 ${lang === 'zh' ? 'characters' : 'words'}`,
    };
  },
  clickbait_rate: ({ evidence: e }) => ({
    zh: `赚钱/引流话术${e.count}处（${phraseList(e.phrases, '、')}）`,
    en: `${e.count} money-making or engagement-bait phrases (${phraseList(e.phrases, ', ')})`,
  }),
  structure_rate: ({ value, evidence: e }, lang) => ({
    zh: `列表/小标题式结构${e.count}处（${listOf(e.examples, ' ')}），每千${lang === 'zh' ? '字' : '词'}${fmt(value ?? 0)}处`,
    en: `${e.count} list or heading markers (${listOf(e.examples, ' ')}), ${fmt(value ?? 0)} per 1,000 ${lang === 'zh' ? 'characters' : 'words'}`,
  }),
  hedge_rate: ({ value, evidence: e }, lang) => ({
    zh: `含糊泛化、广而不精的表述${e.count}处（${phraseList(e.phrases, '、')}），每千${lang === 'zh' ? '字' : '词'}${fmt(value ?? 0)}处`,
    en: `${e.count} hedges and generic qualifiers (${phraseList(e.phrases, ', ')}), ${fmt(value ?? 0)} per 1,000 ${lang === 'zh' ? 'characters' : 'words'}`,
  }),
};

/**
 * Scores one canonical text synchronously. Exported for callers that want the full
 * breakdown (`explanation`) and for tests; the `Scorer` wraps it.
 */
export function scoreTextSignals(input: ScoreInput, weights: TextSignalsWeights = TEXT_SIGNALS_WEIGHTS): TextSignalsResult {
  const { lang } = input;
  const signals = extractTextSignals(input.text, lang, input.title);
  const features: Record<string, number> = { units: signals.units };
  for (const f of FEATURE_NAMES) {
    const v = signals.features[f].value;
    if (v !== null) features[f] = v;
  }
  const base = { name: TEXT_SIGNALS_NAME, version: TEXT_SIGNALS_VERSION, segments: [], features, thresholds: null };
  if (signals.units < MIN_UNITS[lang]) {
    return { output: { ...base, probability: null, reasons: [] }, explanation: null };
  }
  const w = weights[lang];
  const explanation = explain(signals, w);
  const reasons: Reason[] = [];
  for (const f of FEATURE_NAMES) {
    const fv = signals.features[f];
    const fw = w.features[f];
    if (!fires(f, fv.value, fw)) continue;
    const msg = MESSAGES[f](fv, lang);
    const unweighted = fw.weight === 0;
    reasons.push({
      code: `text.${f}`,
      source: 'text',
      contribution: explanation.contributions[f],
      message: unweighted ? { zh: `${msg.zh}（训练数据中无区分力，不计分）`, en: `${msg.en} (not weighted: not predictive in the training data)` } : msg,
      evidence: { value: fv.value, ...fv.evidence, weight: fw.weight, fireAt: fw.fireAt },
    });
  }
  reasons.sort((a, b) => b.contribution - a.contribution || (a.code < b.code ? -1 : 1));
  return { output: { ...base, probability: explanation.probability, reasons }, explanation };
}

/** The text-signals `Scorer`: nothing to load, answers synchronously under the promise. */
export function createTextSignalsScorer(weights: TextSignalsWeights = TEXT_SIGNALS_WEIGHTS): Scorer {
  let ready = false;
  return {
    name: TEXT_SIGNALS_NAME,
    version: TEXT_SIGNALS_VERSION,
    async load() {
      ready = true;
    },
    isReady: () => ready,
    async score(input) {
      return scoreTextSignals(input, weights).output;
    },
    async close() {
      ready = false;
    },
  };
}
