/** The charts' words in both interface languages (kept apart from the page catalog in i18n.ts). */
import type { Lang } from '../i18n.ts';
import type { Verdict } from './svg.ts';

const en = {
  verdicts: { pass: 'pass', review: 'review', flag: 'flag' } as Record<Verdict, string>,
  unscored: 'not scored',
  dashboard: 'Dashboard',
  asOf: 'As of {t} (UTC days)',
  timeline: 'Posts over time',
  timelineLabel: 'Posting timeline of account {a}: {n} posts by verdict; {b} burst window(s); machine cadence {c}',
  score: 'score',
  burst: 'burst: {n} posts',
  cadence: 'machine cadence: {n} intervals, CV {cv}',
  cadenceNone: 'none',
  detail: 'Detail around the first dense burst ({s} shown)',
  peak: '{n} posts in {s}',
  perDay: 'Posts per active day: this account {a}, the tenant’s typical account {t} (median of {n} accounts)',
  typical: 'typical account',
  thisAccount: 'this account',
  clusterTimeline: 'Cluster posts by account',
  clusterTimelineLabel: 'Posts of cluster {c} by account: {n} posts from {a} accounts within {s}',
  within: '{n} posts within {s}',
  graph: 'Accounts joined by shared near-duplicates',
  graphLabel: 'Graph of {a} accounts joined by {e} near-duplicate links; line width and number = shared articles',
  graphNone: 'No near-duplicate links recorded between these accounts.',
  volume: 'Articles by verdict per day',
  volumeLabel: 'Stacked bars of articles per day over {d} days by verdict: {p} pass, {r} review, {f} flag',
  backlog: 'Review backlog by age',
  backlogLabel: 'Open review items by age: {n} in total, oldest received {o}',
  ages: { lt1h: '< 1 h', lt1d: '1–24 h', lt3d: '1–3 d', lt7d: '3–7 d', ge7d: '≥ 7 d' } as Record<string, string>,
  clusters: 'Largest open clusters',
  clustersLabel: 'Clusters with the most open review items',
  clusterRow: '{o} open of {s}, {a} accounts',
  precision: 'Moderator-confirmed precision by model version',
  precisionLabel: 'Share of flag and review verdicts that moderators confirmed as AI, per model version',
  precisionRow: '{c} of {d} confirmed ({p})',
  scores: 'Detector scores: this week against the weeks before',
  scoresLabel:
    'Score distribution of {n} articles scored in the last 7 days (bars) against {m} in the {w} weeks before (line); mean {a} vs {b}; largest gap between the two cumulative distributions {k}',
  thisWeek: 'this week ({n})',
  before: '{w} weeks before ({n})',
  shift: 'mean {a} vs {b} · largest CDF gap {k}',
  none: 'nothing yet',
};

type ChartMessages = typeof en;

const zh: ChartMessages = {
  verdicts: { pass: '通过', review: '待审', flag: '标记' },
  unscored: '未评分',
  dashboard: '总览',
  asOf: '截至 {t}（按 UTC 日期）',
  timeline: '发帖时间线',
  timelineLabel: '账号 {a} 的发帖时间线：按结论显示 {n} 篇；{b} 个突发窗口；机器节奏 {c}',
  score: '分数',
  burst: '突发：{n} 篇',
  cadence: '机器节奏：{n} 个间隔，变异系数 {cv}',
  cadenceNone: '无',
  detail: '第一个密集突发的细节（显示 {s}）',
  peak: '{s} 内 {n} 篇',
  perDay: '每个活跃日发帖数：本账号 {a}，本租户典型账号 {t}（{n} 个账号的中位数）',
  typical: '典型账号',
  thisAccount: '本账号',
  clusterTimeline: '集群文章（按账号）',
  clusterTimelineLabel: '集群 {c} 的文章按账号排列：{a} 个账号的 {n} 篇文章，发布于 {s} 内',
  within: '{s} 内 {n} 篇',
  graph: '共享近似重复内容的账号关系',
  graphLabel: '{a} 个账号之间 {e} 条近似重复连接的关系图；线宽和数字 = 共享文章数',
  graphNone: '这些账号之间没有记录到近似重复的连接。',
  volume: '每日文章数（按结论）',
  volumeLabel: '{d} 天内每日文章数的堆叠柱状图：通过 {p}，待审 {r}，标记 {f}',
  backlog: '待审积压（按等待时长）',
  backlogLabel: '待处理的审核条目按等待时长分布：共 {n} 条，最早接收于 {o}',
  ages: { lt1h: '< 1 小时', lt1d: '1–24 小时', lt3d: '1–3 天', lt7d: '3–7 天', ge7d: '≥ 7 天' },
  clusters: '待处理最多的集群',
  clustersLabel: '待审条目最多的集群',
  clusterRow: '{s} 篇中 {o} 篇待处理，{a} 个账号',
  precision: '审核员确认的准确率（按模型版本）',
  precisionLabel: '各模型版本的标记和待审结论中被审核员确认为 AI 的比例',
  precisionRow: '{d} 条中确认 {c} 条（{p}）',
  scores: '检测分数：本周与之前几周对比',
  scoresLabel: '最近 7 天评分的 {n} 篇文章的分数分布（柱）与之前 {w} 周的 {m} 篇（线）对比；均值 {a} 对 {b}；两条累积分布的最大差 {k}',
  thisWeek: '本周（{n}）',
  before: '之前 {w} 周（{n}）',
  shift: '均值 {a} 对 {b} · 累积分布最大差 {k}',
  none: '暂无数据',
};

const CATALOG: Record<Lang, ChartMessages> = { en, zh };

type Key = Exclude<keyof ChartMessages, 'verdicts' | 'ages'>;

export function ct(lang: Lang, key: Key, vars: Record<string, string | number> = {}): string {
  let s = CATALOG[lang][key];
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

export function verdictNames(lang: Lang): Record<Verdict, string> {
  return CATALOG[lang].verdicts;
}

export function ageName(lang: Lang, bucket: string): string {
  return CATALOG[lang].ages[bucket] ?? bucket;
}
