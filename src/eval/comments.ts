/**
 * Comment evaluation: `npm run --silent eval:comments -- [--datasets DIR] [--json]`.
 *
 * There is no labelled comment data; the corpus is built as `comment-corpus.ts` describes. It
 * reports, per signal and language, how well the signal separates what it is meant to separate
 * (AUROC), and the end-to-end verdicts of the farm scenario run through the real comment
 * pipeline (template index, account signals and boosting in a private redis-server started
 * here in a temporary folder, then fusion):
 *
 *   beside the point   relevance.offTopic: human on-topic (negatives) vs the same comments under
 *                      another question's article, and vs generic comments
 *   tone               tone.machineLike: human vs generic comments and machine-like replies
 *   template reuse     fusion's template strength: farm vs human comments (scenario)
 *   behaviour          fusion's behaviour suspicion: farm vs human (scenario)
 *   fused score        farm vs everything else (scenario)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../infra/redis-server.ts';
import { defaultCommentFusionConfig } from '../scoring/comment-fusion.ts';
import { commentRelevance } from '../scoring/comment-relevance.ts';
import { commentTone } from '../scoring/comment-tone.ts';
import { CommentPipeline } from '../services/comment-scoring.ts';
import { boostingSettingsSchema, CommentBoosting } from '../signals/comment-boosting.ts';
import { commentTemplateSettingsSchema, CommentTemplates } from '../signals/comment-templates.ts';
import { AccountSignals, accountSignalSettingsSchema } from '../signals/index.ts';
import { buildScenario, type CommentPair, firstSentences, GENERIC_COMMENTS, loadHumanPairs, loadHumanThreads, machineReply, prng, shuffledPairs } from './comment-corpus.ts';
import { auroc } from './metrics.ts';

interface Args {
  datasets: string;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const repo = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
  let datasets = [path.resolve(repo, '../shared/datasets'), '/work/shared/datasets'].find((d) => existsSync(d)) ?? '';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--datasets') datasets = argv[++i] ?? '';
    else if (argv[i] === '--json') json = true;
    else throw new Error(`unknown argument ${argv[i]}; usage: eval:comments [--datasets DIR] [--json]`);
  }
  if (!datasets || !existsSync(datasets)) throw new Error('the shared datasets were not found: pass --datasets DIR');
  return { datasets, json };
}

interface Row {
  signal: string;
  lang: string;
  positives: string;
  negatives: string;
  nPos: number;
  nNeg: number;
  auroc: number;
}

function row(signal: string, lang: string, positives: string, negatives: string, pos: number[], neg: number[]): Row {
  return {
    signal,
    lang,
    positives,
    negatives,
    nPos: pos.length,
    nNeg: neg.length,
    auroc: Math.round(auroc([...pos.map(() => 1), ...neg.map(() => 0)], [...pos, ...neg]) * 1000) / 1000,
  };
}

function textSignalRows(pairs: CommentPair[]): Row[] {
  const rand = prng(7);
  const rows: Row[] = [];
  for (const lang of ['zh', 'en'] as const) {
    const human = pairs.filter((p) => p.lang === lang);
    const shuffled = shuffledPairs(human, rand);
    const generic = human.map((p, i) => ({ ...p, comment: GENERIC_COMMENTS[lang][i % GENERIC_COMMENTS[lang].length]! }));
    const machine = human.map((p) => ({ ...p, comment: machineReply(p.article, lang, rand) }));
    const off = (ps: CommentPair[]) =>
      ps.map((p) => {
        const r = commentRelevance(p.comment, lang, { title: null, text: p.article }, null);
        return r.status === 'measured' ? r.offTopic : 0.5;
      });
    const tone = (ps: CommentPair[]) => ps.map((p) => commentTone(p.comment, lang).machineLike);
    const humanOff = off(human);
    rows.push(row('beside the point (offTopic)', lang, 'shuffled human', 'human on topic', off(shuffled), humanOff));
    rows.push(row('beside the point (offTopic)', lang, 'generic', 'human on topic', off(generic), humanOff));
    rows.push(row('beside the point (offTopic)', lang, 'machine-like reply', 'human on topic', off(machine), humanOff));
    const humanTone = tone(human);
    rows.push(row('tone (machineLike)', lang, 'generic', 'human', tone(generic), humanTone));
    rows.push(row('tone (machineLike)', lang, 'machine-like reply', 'human', tone(machine), humanTone));
    // Real machine text of a comment's length: the first sentences of the LLM answer to the same question.
    const llm = human.map((p) => ({ ...p, comment: firstSentences(p.article, lang) }));
    rows.push(row('tone (machineLike)', lang, 'LLM answer, first sentences', 'human', tone(llm), humanTone));
  }
  return rows;
}

async function scenarioRows(datasets: string): Promise<{ rows: Row[]; verdicts: Record<string, Record<string, number>> }> {
  const scenario = buildScenario(await loadHumanThreads(datasets));
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-eval-comments-'));
  const server = await startEmbeddedRedis(dir);
  const redis = new Redis(server.url);
  try {
    const articles = new Map(scenario.articles.map((a) => [a.externalId, a]));
    const account = new AccountSignals(
      redis,
      accountSignalSettingsSchema.parse({ burst: { baselineFloorPerDay: 20, minPosts: 8 }, cadence: { maxMeanIntervalSeconds: 3600 }, nearDuplicate: { minShingles: 1_000_000 } }),
      'ev:csig:',
    );
    const pipeline = new CommentPipeline({
      templates: new CommentTemplates(redis, commentTemplateSettingsSchema.parse({}), 'ev:ct:'),
      boosting: new CommentBoosting(redis, boostingSettingsSchema.parse({}), 'ev:cb:'),
      account,
      detector: null,
      detectorMinLength: 60,
      fusion: defaultCommentFusionConfig,
      articles: {
        async getByExternalId(_tenant, externalId) {
          const a = articles.get(externalId);
          return a ? { id: a.externalId, title: a.title, text: a.text, accountId: a.accountId } : null;
        },
      },
      comments: { getByExternalId: async () => null },
    });
    const results: { role: string; score: number; template: number; behaviour: number; verdict: string }[] = [];
    for (const c of scenario.comments) {
      const postedAt = new Date(c.postedAt);
      const r = await pipeline.run({
        id: c.externalId,
        tenantId: 'eval',
        accountId: c.accountId,
        articleExternalId: c.articleExternalId,
        parentExternalId: null,
        articleAccountId: null,
        text: c.text,
        lang: 'zh',
        postedAt,
        receivedAt: postedAt,
        declaredAi: false,
      });
      const parts = r.signals.parts as { template: number; behaviour: number };
      results.push({ role: c.role, score: r.score, template: parts.template, behaviour: parts.behaviour, verdict: r.verdict });
    }
    const farm = results.filter((x) => x.role === 'farm');
    const human = results.filter((x) => x.role === 'human');
    const rest = results.filter((x) => x.role !== 'farm');
    const verdicts: Record<string, Record<string, number>> = {};
    for (const x of results) {
      verdicts[x.role] ??= { pass: 0, review: 0, flag: 0 };
      verdicts[x.role]![x.verdict]! += 1;
    }
    return {
      rows: [
        row(
          'template reuse (strength)',
          'zh',
          'farm',
          'human',
          farm.map((x) => x.template),
          human.map((x) => x.template),
        ),
        row(
          'behaviour (suspicion)',
          'zh',
          'farm',
          'human',
          farm.map((x) => x.behaviour),
          human.map((x) => x.behaviour),
        ),
        row(
          'fused score',
          'zh',
          'farm',
          'human + praiser',
          farm.map((x) => x.score),
          rest.map((x) => x.score),
        ),
      ],
      verdicts,
    };
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const pairs = await loadHumanPairs(args.datasets);
  const rows = textSignalRows(pairs);
  const scenario = await scenarioRows(args.datasets);
  const all = [...rows, ...scenario.rows];
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ corpus: { humanPairs: { zh: pairs.filter((p) => p.lang === 'zh').length, en: pairs.filter((p) => p.lang === 'en').length } }, signals: all, scenario: scenario.verdicts })}\n`,
    );
    return;
  }
  console.log(
    `corpus: ${pairs.filter((p) => p.lang === 'zh').length} zh and ${pairs.filter((p) => p.lang === 'en').length} en human comment/article pairs (agt2025 HC3 QA); see src/eval/comment-corpus.ts`,
  );
  console.log('\n| signal | lang | positives | negatives | n+ | n- | AUROC |\n| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of all) console.log(`| ${r.signal} | ${r.lang} | ${r.positives} | ${r.negatives} | ${r.nPos} | ${r.nNeg} | ${r.auroc.toFixed(3)} |`);
  console.log('\nfarm scenario verdicts (30 accounts x 20 templates under 200 articles, 500 human comments, one person writing short praise):');
  console.log('\n| comments | pass | review | flag |\n| --- | --- | --- | --- |');
  for (const [role, v] of Object.entries(scenario.verdicts)) console.log(`| ${role} | ${v.pass} | ${v.review} | ${v.flag} |`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
