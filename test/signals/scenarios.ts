/**
 * Synthetic posting histories and texts for the account-signal tests and the benchmark:
 * template farms (names, cities, numbers and dates swapped), light paraphrases, unrelated
 * articles on the same topic, and real distinct articles from the shared dataset.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sharedPath } from '../helpers/shared.ts';

export interface DatasetRow {
  text: string;
  label: string;
  lang: string;
  id: string;
}

export function loadDataset(file: 'dev.jsonl.gz' | 'train.jsonl.gz'): DatasetRow[] {
  const dir = sharedPath('datasets', 'nlpcc2026-task6');
  if (!dir) throw new Error('shared/datasets not found beside the checkout, at /work/shared, or in SLOPGUARD_SHARED_DIR');
  const raw = gunzipSync(readFileSync(path.join(dir, file))).toString('utf8');
  return raw
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as DatasetRow);
}

/** mulberry32: small seeded PRNG so scenarios are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function shuffle<T>(r: () => number, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

const CITIES = ['北京', '上海', '广州', '深圳', '成都', '杭州', '武汉', '西安', '南京', '重庆', '长沙', '郑州', '青岛', '昆明', '合肥', '济南', '福州', '沈阳'];
const NAMES = ['王建国', '李晓梅', '张伟', '刘洋', '陈静', '杨帆', '赵磊', '黄丽', '周强', '吴敏', '徐涛', '孙悦'];
const COMPANIES = ['恒达科技', '鼎盛置业', '华信物流', '天诚医药', '博远教育', '金桥食品', '远航汽车', '瑞丰农业'];
const EN_CITIES = ['Springfield', 'Riverton', 'Lakeside', 'Fairview', 'Georgetown', 'Madison', 'Clinton', 'Salem', 'Franklin', 'Greenville'];
const EN_NAMES = ['John Miller', 'Sarah Chen', 'David Brown', 'Emily Davis', 'Michael Lee', 'Laura Wilson', 'James Taylor', 'Anna Moore'];

/** Content-farm templates: one skeleton, slots swapped per post. */
export const ZH_TEMPLATES = [
  '{city}突发重大消息！{date}，{city}市民{name}在家中意外发现了一个惊人的秘密，引发网友热议。据{name}介绍，当天上午他像往常一样整理旧物，却在柜子深处找到了一张尘封多年的存折，上面的余额竟然高达{n1}万元。{name}表示，这笔钱是已故父亲生前悄悄存下的，家里人此前毫不知情。消息传出后，{city}当地银行工作人员表示，类似情况并不罕见，建议市民定期清理家中旧存折和银行卡，及时办理相关手续。不少网友留言称，看完这个故事非常感动，也提醒自己要多关心家里的老人。专家提醒，遇到类似情况应携带有效证件前往银行柜台咨询，切勿轻信陌生来电，谨防诈骗。目前，{name}已将这笔钱用于为母亲治病，剩余的{n2}万元计划捐给{city}本地的养老院。',
  '{city}楼市迎来新变化！{date}，{city}住建部门正式发布通知，对本地住房公积金贷款政策进行调整，首套房最低首付比例下调至{n1}%，公积金贷款最高额度提高到{n2}万元。业内人士分析认为，这一政策将有效降低刚需购房者的置业门槛，对{city}楼市形成明显利好。{company}市场部负责人{name}表示，政策发布当天，售楼处来访量比平时增加了{n3}成，不少观望已久的购房者开始主动咨询。不过也有专家提醒，购房者应理性看待政策变化，结合自身收入状况量力而行，避免盲目跟风。据统计，今年以来{city}新建商品住宅成交面积同比下降{n4}%，市场整体仍处于调整阶段。',
  '重磅！{company}{city}分公司招聘{n1}名员工，月薪{n2}元起，包吃包住！{date}，记者从{company}了解到，由于业务快速扩张，公司{city}分公司急需招聘一批仓储管理、物流配送和客户服务人员，学历不限，年龄{n3}至{n4}岁均可报名。人事经理{name}介绍，新员工入职后将接受为期一周的带薪培训，表现优秀者三个月后即可转正，并享受五险一金、带薪年假和节日福利。{name}还特别提醒，公司招聘全程不收取任何费用，求职者如遇到以招聘名义收取报名费、培训费的情况，请立即向{city}当地劳动监察部门举报。有意者可携带身份证原件前往公司人事部面试。',
];

export const EN_TEMPLATES = [
  "Breaking news from {city}! On {date}, local resident {name} made a shocking discovery while cleaning out an old storage unit, finding a forgotten savings account statement worth {n1} thousand dollars. According to {name}, the money had been quietly saved by a late grandfather, and nobody in the family had any idea it existed. Staff at a {city} bank said such cases are more common than people think and advised residents to check old bank cards and passbooks regularly. Many readers said the story moved them and reminded them to spend more time with elderly relatives. Experts warn that anyone in a similar situation should visit a bank branch with valid identification and never trust unexpected phone calls, as scammers often target such stories. {name} plans to use the money for a parent's medical bills and donate the remaining {n2} thousand dollars to a nursing home in {city}.",
];

function fillSlots(template: string, r: () => number, lang: 'zh' | 'en'): string {
  const city = lang === 'zh' ? pick(r, CITIES) : pick(r, EN_CITIES);
  const name = lang === 'zh' ? pick(r, NAMES) : pick(r, EN_NAMES);
  const company = pick(r, COMPANIES);
  const month = 1 + Math.floor(r() * 12);
  const dayOfMonth = 1 + Math.floor(r() * 28);
  const date = lang === 'zh' ? `${month}月${dayOfMonth}日` : `${['January', 'March', 'May', 'July', 'October'][month % 5]} ${dayOfMonth}`;
  return template
    .replaceAll('{city}', city)
    .replaceAll('{name}', name)
    .replaceAll('{company}', company)
    .replaceAll('{date}', date)
    .replace(/\{n\d\}/g, () => String(2 + Math.floor(r() * 98)));
}

export function templateVariant(template: string, r: () => number, lang: 'zh' | 'en' = 'zh'): string {
  return fillSlots(template, r, lang);
}

const ZH_SYNONYMS: [string, string][] = [
  ['表示', '指出'],
  ['目前', '当前'],
  ['进行', '开展'],
  ['不少', '许多'],
  ['建议', '提议'],
  ['提醒', '告诫'],
  ['已经', '已'],
  ['相关', '有关'],
  ['认为', '觉得'],
  ['非常', '十分'],
  ['发现', '找到'],
  ['了解', '获悉'],
  ['明显', '显著'],
  ['同时', '此外'],
  ['因此', '所以'],
  ['情况', '状况'],
  ['主要', '重点'],
  ['需要', '须要'],
];
const EN_SYNONYMS: [string, string][] = [
  ['said', 'stated'],
  ['local', 'area'],
  ['money', 'funds'],
  ['shocking', 'surprising'],
  ['regularly', 'often'],
  ['many', 'numerous'],
  ['never', 'not'],
  ['quietly', 'secretly'],
  ['advised', 'urged'],
  ['plans', 'intends'],
];

/**
 * Light paraphrase: synonym swaps, one sentence dropped or two swapped, a short phrase added.
 * What a spinner or an LLM "rewrite this slightly" does to a farm's base article.
 */
export function paraphrase(text: string, r: () => number, lang: 'zh' | 'en' = 'zh'): string {
  const stop = lang === 'zh' ? '。' : '. ';
  let sentences = text.split(stop).filter((s) => s.trim());
  const swaps = lang === 'zh' ? ZH_SYNONYMS : EN_SYNONYMS;
  sentences = sentences.map((s) => {
    let out = s;
    for (const [a, b] of swaps) if (r() < 0.6) out = out.replaceAll(a, b);
    return out;
  });
  if (sentences.length > 5 && r() < 0.5) sentences.splice(1 + Math.floor(r() * (sentences.length - 2)), 1);
  else if (sentences.length > 3) {
    const i = 1 + Math.floor(r() * (sentences.length - 2));
    [sentences[i], sentences[i + 1]] = [sentences[i + 1] as string, sentences[i] as string];
  }
  const extra =
    lang === 'zh' ? pick(r, ['对此，网友纷纷点赞', '这件事值得关注', '小编也觉得很有道理']) : pick(r, ['Readers reacted strongly', 'This is worth watching', 'We think so too']);
  sentences.splice(Math.floor(r() * sentences.length), 0, extra);
  return sentences.join(stop) + (lang === 'zh' ? '。' : '.');
}

/** Sentences about one topic (a rainstorm), for unrelated articles sharing a topic and its words. */
const ZH_TOPIC_BANK = [
  '{city}气象台{date}发布暴雨红色预警信号，预计未来{n1}小时内累计降雨量将超过{n2}毫米',
  '受强降雨影响，{city}多条道路出现严重积水，部分路段交通一度中断',
  '{city}市防汛抗旱指挥部已启动防汛一级应急响应，全市各级部门进入战时状态',
  '据统计，此次降雨过程已造成{city}{n1}个乡镇受灾，紧急转移安置群众{n2}余人',
  '地铁{n1}号线部分站点因进水临时封闭，运营方安排了接驳公交疏导乘客',
  '消防救援人员连夜出动，从被困车辆中救出{n1}名群众，目前均已安全转移',
  '水文部门监测显示，境内主要河流水位持续上涨，部分站点已超过警戒水位{n1}米',
  '教育部门通知全市中小学和幼儿园停课一天，具体复课时间另行通知',
  '电力公司组织抢修队伍对受损线路进行抢修，受影响的{n1}户居民已陆续恢复供电',
  '专家分析称，今年汛期降雨偏多，与副热带高压位置偏北和台风活跃有关',
  '农业部门提醒农户及时排除田间积水，加强病虫害防治，减少灾害损失',
  '{city}市民{name}告诉记者，自己家所在的小区地下车库已经被淹，不少车辆泡在水中',
  '城管部门出动排水车和抽水泵，对低洼易涝点进行全天候值守和强排',
  '卫生健康部门提醒，洪水退去后要做好环境消毒，注意饮用水安全，预防肠道传染病',
  '保险公司开通理赔绿色通道，对受灾车辆和房屋实行快速查勘、快速理赔',
  '气象专家提醒，未来三天仍有强对流天气，市民应尽量减少外出，远离河道和山体',
  '多家爱心企业向灾区捐赠了帐篷、饮用水和方便食品等救灾物资',
  '铁路部门表示，受降雨影响，途经{city}的{n1}趟列车停运或晚点，请旅客及时关注',
  '当地社区工作人员挨家挨户排查危房，组织老人和儿童提前撤离',
  '截至发稿时，{city}降雨已趋于减弱，各项救灾工作正在有序进行',
  '航空公司表示，{city}机场已有{n1}个航班取消，旅客可免费办理退改签',
  '有关部门呼吁市民不要前往江边观潮拍照，遇到险情及时拨打求助电话',
  '灾后重建工作随即展开，政府拨付专项资金{n1}万元用于修复受损道路和桥梁',
  '志愿者们冒雨在路口疏导交通，为被困行人送去雨衣和热水',
];

/** An article on the rainstorm topic: a random selection of the topic's sentences. */
export function sameTopicArticle(r: () => number, sentences = 7): string {
  const chosen = shuffle(r, [...ZH_TOPIC_BANK]).slice(0, sentences);
  return fillSlots(chosen.join('。') + '。', r, 'zh');
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export interface Post {
  accountId: string;
  articleId: string;
  postedAt: number;
  text: string;
  lang: 'zh' | 'en';
}

/** A normal person: one to three posts a day at waking hours, for `days` days. */
export function humanTimes(r: () => number, start: number, days: number): number[] {
  const out: number[] = [];
  for (let d = 0; d < days; d++) {
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) out.push(start + d * DAY + 8 * HOUR + Math.floor(r() * 14 * HOUR));
  }
  return out.sort((a, b) => a - b);
}

/** A newsroom: Poisson posting at `perDay` during 06:00-24:00, every day. */
export function newsroomTimes(r: () => number, start: number, days: number, perDay: number): number[] {
  const out: number[] = [];
  const rate = perDay / (18 * HOUR);
  for (let d = 0; d < days; d++) {
    let t = start + d * DAY + 6 * HOUR;
    const end = start + d * DAY + 24 * HOUR;
    for (;;) {
      t += -Math.log(1 - r()) / rate;
      if (t >= end) break;
      out.push(Math.floor(t));
    }
  }
  return out;
}
