/**
 * Word lists behind the text-signals features, per language. Each entry is a regular-expression
 * source and the label shown to moderators as evidence. Lists follow the seed article's
 * description of AI "digital slop" (模板话术, 正确废话, 莫得感情, 广而不精) plus the stock
 * vocabulary that LLM answers overuse in English.
 *
 * Matching is case-insensitive for English. Chinese sentence-initial connectives (首先, 最后…)
 * only count at the start of a sentence or clause, because mid-sentence they are ordinary
 * words in narrative news ("最后他把证办下来了").
 */
import type { Lang } from '../../domain/normalize.ts';

export interface LexEntry {
  /** Regular-expression source, no flags. */
  re: string;
  /** What the evidence shows for a match (`MATCHED`: the matched text). */
  label: string;
}

/** Start of a sentence or clause in Chinese text (after modelText, so no newlines). */
const ZH_START = '(?<=^|[。！？!?；;：:，,“”"])';

/** One entry for all sentence-initial words (one lookbehind, not one per word); labelled by the match. */
function zhStart(words: string[]): LexEntry[] {
  return [{ re: `${ZH_START}(?:${words.join('|')})`, label: MATCHED }];
}

/** Label placeholder: show the matched text itself. */
export const MATCHED = '';

function plain(words: string[]): LexEntry[] {
  return words.map((w) => ({ re: escapeRegExp(w), label: w }));
}

function enWords(words: string[]): LexEntry[] {
  return words.map((w) => ({ re: `\\b${escapeRegExp(w).replace(/ /g, '\\s+')}\\b`, label: w }));
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Template phrases and stock transitions. */
export const TEMPLATE: Record<Lang, LexEntry[]> = {
  zh: [
    ...zhStart(['首先', '其次', '再次', '最后', '此外', '另外', '总之', '因此', '然而', '同时']),
    ...plain([
      '综上所述',
      '总而言之',
      '总的来说',
      '总体而言',
      '总体来说',
      '简而言之',
      '换句话说',
      '由此可见',
      '值得注意的是',
      '需要注意的是',
      '值得一提的是',
      '需要指出的是',
      '不可否认',
      '毋庸置疑',
      '众所周知',
      '在当今社会',
      '在当今时代',
      '当今社会',
      '在这个信息爆炸的时代',
      '让我们一起',
      '让我们共同',
      '发挥着重要作用',
      '起着重要作用',
      '具有重要意义',
      '至关重要',
      '不容忽视',
      '不可或缺',
      '一方面',
      '另一方面',
      '总结一下',
      '希望对你有所帮助',
      '希望以上',
      '共同努力',
      '携手共进',
    ]),
    { re: '随着[^，。！？,]{1,20}的(?:发展|进步|普及|到来|推进|深入)', label: '随着…的发展' },
    { re: '扮演着?[^，。]{0,8}角色', label: '扮演…角色' },
    { re: '在[^，。]{1,12}的(?:时代|今天|背景下)', label: '在…的时代/背景下' },
    { re: '不仅[^。！？]{1,30}(?:而且|更是|还)', label: '不仅…而且' },
  ],
  en: enWords([
    'in conclusion',
    'in summary',
    'to summarize',
    'to sum up',
    'overall',
    'ultimately',
    'in essence',
    'it is worth noting',
    "it's worth noting",
    'it is important to note',
    "it's important to note",
    'it is important to',
    "it's important to",
    'it is essential to',
    "it's essential to",
    'furthermore',
    'moreover',
    'additionally',
    'firstly',
    'secondly',
    'lastly',
    'in addition',
    'delve',
    'delves',
    'delving',
    "in today's fast-paced world",
    "in today's",
    'in the realm of',
    'plays a crucial role',
    'play a crucial role',
    'plays a vital role',
    'play a vital role',
    'plays a pivotal role',
    'play a pivotal role',
    'plays a key role',
    'play a key role',
    'a testament to',
    'navigate the complexities',
    'ever-evolving',
    'tapestry',
    'embark',
    'unlock the potential',
    'harness the power',
    "let's dive",
    'dive into',
    'in the world of',
    'crucial',
    'pivotal',
    'foster',
    'fostering',
    'enhance',
    'enhancing',
    'seamless',
    'seamlessly',
    'multifaceted',
    'comprehensive',
    'landscape',
    'paramount',
    'underscores',
    'showcasing',
    'when it comes to',
    'not only',
    'by doing so',
  ]),
};

/** First-person, emotional and colloquial markers: what "莫得感情" text lacks. */
export const PERSONAL: Record<Lang, LexEntry[]> = {
  zh: [
    { re: '我(?![们国市省县区校院司方军党])', label: '我' },
    ...plain([
      '俺',
      '咱',
      '本人',
      '哈哈',
      '呵呵',
      '嘿嘿',
      '唉',
      '哎',
      '卧槽',
      '我靠',
      '吐槽',
      '真的',
      '居然',
      '竟然',
      '太棒',
      '好气',
      '心疼',
      '感动',
      '难受',
      '开心',
      '郁闷',
      '无语',
      '吧',
      '呢',
      '啊',
      '嘛',
      '呀',
      '哦',
      '啦',
      '咋',
      '啥',
      '挺',
    ]),
  ],
  en: [
    ...enWords([
      'i',
      "i'm",
      "i've",
      "i'd",
      "i'll",
      'me',
      'my',
      'mine',
      'myself',
      'lol',
      'haha',
      'gonna',
      'wanna',
      'kinda',
      'yeah',
      'wow',
      'damn',
      'honestly',
      'okay',
      'ok',
      'dude',
      'stuff',
      'cool',
      'hey',
      'guess',
      'pretty much',
      'awesome',
      'hate',
      'love',
      'crazy',
      'weird',
    ]),
  ],
};

/** Hedges and generic quantifiers: stitched, "广而不精" text that commits to nothing. */
export const HEDGE: Record<Lang, LexEntry[]> = {
  zh: plain([
    '可能',
    '或许',
    '也许',
    '一般来说',
    '通常',
    '往往',
    '在一定程度上',
    '一定程度',
    '某种程度上',
    '相对',
    '各种',
    '多种',
    '诸多',
    '一系列',
    '方方面面',
    '多方面',
    '各个方面',
    '等方面',
    '相关',
    '因人而异',
    '视情况而定',
    '具体情况',
    '建议',
    '适当',
    '有效',
    '合理',
    '积极',
    '不同的',
    '多元',
  ]),
  en: enWords([
    'may',
    'might',
    'could',
    'generally',
    'typically',
    'often',
    'various',
    'a variety of',
    'a range of',
    'a wide range of',
    'numerous',
    'several',
    'certain',
    'depending on',
    'potentially',
    'can help',
    'can be',
    'some',
    'many',
    'overall',
    'significant',
    'significantly',
    'effective',
    'effectively',
    'important',
    'key',
    'essential',
    'different',
  ]),
};

/** Money-making clickbait and engagement bait (月入/暴富/躺赚… "passive income"). */
export const CLICKBAIT: Record<Lang, LexEntry[]> = {
  zh: [
    ...plain([
      '暴富',
      '躺赚',
      '躺着赚',
      '副业',
      '裸辞',
      '财务自由',
      '被动收入',
      '搞钱',
      '变现',
      '赚钱',
      '日赚',
      '年赚',
      '点击关注',
      '关注我',
      '点赞',
      '转发',
      '收藏',
      '私信',
      '评论区',
      '震惊',
      '速看',
      '必看',
      '揭秘',
      '秘籍',
      '干货',
      '逆袭',
      '爆款',
      '涨粉',
      '流量密码',
      '不看后悔',
      '建议收藏',
      '零基础',
      '0基础',
      '小白也能',
      '一夜',
    ]),
    { re: '(?:月入|月薪|年入|日入)[0-9一二三四五六七八九十百千万]*', label: '月入…' },
    { re: '每天[0-9一二三四五六七八九十]+分钟', label: '每天X分钟' },
  ],
  en: [
    ...enWords([
      'passive income',
      'side hustle',
      'financial freedom',
      'work from home',
      'get rich',
      'click the link',
      'link in bio',
      'like and subscribe',
      'smash that',
      "you won't believe",
      'shocking',
      'game-changer',
      'game changer',
      'life-changing',
      'make money',
      'making money',
      'earn money',
      'quit my job',
      'quit your job',
      'hack',
      'hacks',
      'secret to',
      'secrets to',
      'must-read',
      'must read',
      'go viral',
    ]),
    { re: '\\b(?:make|making|earn|earning|made)\\s+\\$\\s?[0-9][0-9,.]*k?\\b', label: 'make $X' },
    { re: '\\$[0-9][0-9,.]*k?\\s*(?:a|per|every)\\s+(?:day|week|month)', label: '$X a day' },
    { re: "\\bdon't forget to (?:like|subscribe|share|follow)", label: "don't forget to subscribe" },
  ],
};

/**
 * Chinese two-character place words that end in 省/市/县/区/镇/村 but name no place
 * (城市, 社区, 股市…). A match of "X市" whose two characters are not listed counts as a place.
 */
export const ZH_GENERIC_PLACE = new Set(
  (
    '城市 都市 超市 上市 门市 夜市 股市 楼市 车市 菜市 早市 闹市 全市 本市 该市 各市 省市 市区 ' +
    '地区 社区 小区 景区 误区 山区 郊区 城区 园区 辖区 专区 分区 片区 街区 校区 展区 灾区 牧区 老区 新区 禁区 ' +
    '盲区 雷区 战区 市县 各区 全区 本区 该区 两区 ' +
    '农村 乡村 新村 山村 渔村 全村 本村 该村 各村 ' +
    '城镇 乡镇 村镇 小镇 古镇 全镇 本镇 该镇 各镇 坐镇 ' +
    '全省 本省 该省 各省 外省 反省 节省 自省 ' +
    '全县 本县 该县 各县 郡县 区县 州县'
  ).split(/\s+/),
);

/** Chinese honorifics that follow a surname in reported news (盛先生, 王女士). */
export const ZH_PERSON_TITLE = '(?:先生|女士|老师|师傅|阿姨|大爷|大妈|主任|科长|局长|书记|教授|博士|经理|记者|院士|部长|厅长|处长|村长|镇长|县长|市长|省长|董事长|总经理)';
