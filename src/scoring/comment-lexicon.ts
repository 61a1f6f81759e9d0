/**
 * Phrase lists for short comments, written for this service (no model): generic praise that
 * could sit under any article, the formulaic phrasing of machine replies, and the markers of a
 * person talking (interjections, slang, first-person experience). Matching is on the comment
 * lower-cased with spaces collapsed.
 */

/** Could answer any article: praise, thanks, agreement, "following". */
export const GENERIC_PHRASES = {
  zh: [
    '写得真好', '写得太好了', '写得很好', '写的真好', '写的太好了', '写的很好', '写得不错', '写得很用心', '好文', '好文章', '深度好文',
    '受益匪浅', '受益良多', '感谢分享', '谢谢分享', '感谢作者', '谢谢作者', '感谢楼主', '学到了', '学习了', '涨知识了', '长知识了',
    '收藏了', '已收藏', '先收藏', '支持一下', '支持', '必须支持', '顶一下', '顶', '点赞', '赞一个', '赞', '说得好', '说得对', '说的好', '说的对',
    '有道理', '很有道理', '太有道理了', '深有同感', '感同身受', '很有启发', '很有收获', '干货满满', '干货', '期待更新', '期待更多', '期待下一篇',
    '辛苦了', '作者辛苦了', '楼主辛苦了', '厉害', '太厉害了', '太棒了', '非常好', '很棒', '真不错', '不错', '很实用', '非常实用', '实用',
    '分析得很透彻', '分析得很到位', '分析透彻', '很有见地', '见解独到', '观点新颖', '值得一读', '值得学习', '值得深思', '发人深省',
    '引人深思', '内容详实', '条理清晰', '通俗易懂', '一针见血', '醍醐灌顶', '茅塞顿开', '大开眼界', '继续加油', '加油', '关注了', '已关注',
    '转发了', '已转发', '写得很精彩', '非常精彩', '精彩', '很有意义', '非常有意义', '好内容', '优质内容', '很有价值', '非常有价值',
  ],
  en: [
    'great article', 'great post', 'nice post', 'nice article', 'good read', 'great read', 'interesting read', 'well written',
    'thanks for sharing', 'thank you for sharing', 'thanks for this', 'very informative', 'so informative', 'informative',
    'insightful', 'great insights', 'valuable insights', 'thought-provoking', 'thought provoking', 'keep it up',
    'keep up the good work', 'i completely agree', 'totally agree', 'couldn\'t agree more', 'great job', 'nice work', 'love this',
    'amazing', 'awesome', 'very helpful', 'so helpful', 'helpful', 'this is great', 'well said', 'spot on', 'learned a lot',
    'very useful', 'great content', 'excellent', 'fantastic', 'brilliant', 'great work', 'good job', 'bookmarked', 'following',
  ],
} as const;

/** The phrasing of machine replies: summarising the article back, stock praise in full sentences. */
export const FORMULAIC_PHRASES = {
  zh: [
    '这篇文章', '本文', '文章深入', '深入浅出', '全面而深入', '深入探讨', '深入分析', '提供了宝贵', '宝贵的见解', '独到的见解', '具有重要意义',
    '总的来说', '综上所述', '值得注意的是', '让我对', '有了更深的理解', '有了更深入的了解', '更深刻的认识', '引发了我的思考', '感谢作者的分享',
    '期待作者', '更多精彩内容', '更多优质内容', '作为一名', '视角独特', '逻辑清晰', '论述严谨', '见解深刻', '非常有启发性', '很有启发性',
    '不仅', '而且', '同时也', '此外', '总而言之', '希望大家', '让我们', '共同努力', '从中受益',
    // How LLM answers open: definitions and overviews.
    '是指', '通常', '一般来说', '主要包括', '以下', '首先', '需要注意', '建议您', '可以通过', '取决于', '因素', '方面',
  ],
  en: [
    'this article', 'this post', 'the author', 'provides valuable', 'valuable insights', 'delves into', 'delve into', 'comprehensive',
    'in conclusion', 'overall,', 'it is worth noting', 'i appreciate the', 'sheds light', 'a must-read', 'offers a', 'highlights the importance',
    'nuanced', 'insightful analysis', 'looking forward to more', 'great insights', 'well-researched', 'well researched', 'thank you for this',
    'as an ai', 'furthermore', 'additionally', 'in today\'s', 'plays a crucial role', 'crucial', 'fostering', 'resonates',
    // How LLM answers open: definitions and overviews.
    'generally', 'typically', 'it is important', 'there are several', 'refers to', 'depends on', 'various', 'factors', 'can help',
  ],
} as const;

/** A person talking: interjections, slang, doubt, first-person experience. */
export const HUMAN_MARKERS = {
  zh: [
    '哈哈', '呵呵', '嘿嘿', '嘻嘻', '卧槽', '我去', '妈呀', '天哪', '天呐', '呜呜', '555', '哇', '唉', '靠', '艹', '牛逼', '牛b', 'nb', 'yyds',
    '绝了', '笑死', '无语', '离谱', '服了', '真的假的', '啥', '咋', '俺', '咱', '吧', '呢', '嘛', '呀', '啦', '哦', '嗯', '额', 'emmm', '？', '?',
    '我家', '我妈', '我爸', '我们小区', '我们公司', '我去年', '我当时', '我之前', '我也是', '我也遇到', '本人', '我老婆', '我老公', '我儿子', '我女儿',
    '楼上', '楼主', '同问', '蹲', '+1', '求', '不懂就问', '有没有人', '我觉得', '我认为', '个人觉得', '我的', '你好',
  ],
  en: [
    'lol', 'lmao', 'haha', 'omg', 'wtf', 'damn', 'ugh', 'tbh', 'imo', 'imho', 'idk', 'gonna', 'wanna', 'y\'all', 'kinda', 'meh', 'nah', 'yeah', 'yep',
    'my wife', 'my husband', 'my kid', 'my mom', 'my dad', 'i remember', 'when i was', 'last year i', 'i tried', 'i used to', '?', ':)', ':(',
    'honestly', 'seriously', 'dude', 'wait', 'huh', 'hmm', 'anyone else', 'edit:', 'i think', 'my ', 'i\'ve', 'i\'m',
  ],
} as const;

/** Characters and words that carry no topic (stripped before measuring overlap with the article). */
export const STOP_UNITS = {
  zh: new Set([
    '这个', '那个', '我们', '你们', '他们', '一个', '没有', '什么', '自己', '就是', '可以', '不是', '因为', '所以', '觉得', '真的', '非常', '文章',
    '作者', '这篇', '这样', '那样', '如果', '但是', '还是', '已经', '现在', '时候', '这种', '一些', '很多', '知道', '感觉', '还有', '其实', '应该',
    '大家', '看到', '一下', '这么', '那么', '怎么', '为什么', '的人', '了一', '是一', '在这', '也是', '都是', '不会', '的是', '有点', '一样',
  ]),
  en: new Set([
    'the', 'and', 'for', 'that', 'this', 'with', 'you', 'your', 'are', 'was', 'were', 'have', 'has', 'had', 'not', 'but', 'all', 'any', 'can',
    'will', 'would', 'could', 'should', 'just', 'about', 'from', 'they', 'them', 'their', 'there', 'what', 'when', 'where', 'which', 'who',
    'how', 'why', 'more', 'most', 'some', 'such', 'than', 'then', 'too', 'very', 'also', 'into', 'out', 'our', 'its', 'it\'s', 'i\'m',
    'really', 'thing', 'things', 'get', 'got', 'one', 'like', 'article', 'post', 'author', 'read', 'people', 'because', 'been', 'being',
    'does', 'did', 'doing', 'don\'t', 'much', 'many', 'make', 'made', 'well', 'way', 'even', 'only', 'other', 'these', 'those', 'here',
  ]),
} as const;
