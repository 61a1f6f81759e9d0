import { describe, expect, it } from 'vitest';
import { canonicalText } from '../../src/domain/normalize.ts';
import type { ScoreInput } from '../../src/domain/types.ts';
import { createTextSignalsScorer, MIN_UNITS, scoreTextSignals, TEXT_SIGNALS_NAME, TEXT_SIGNALS_VERSION } from '../../src/scoring/text-signals/index.ts';
import { FEATURE_NAMES, mattr, type FeatureName } from '../../src/scoring/text-signals/features.ts';
import { TEXT_SIGNALS_WEIGHTS } from '../../src/scoring/text-signals/weights.ts';

/** Human news from the seed page (新华社, “办不成事”窗口走红背后), as published. */
const SEED_HUMAN_ZH = `近期,浙江建德一“办不成事”窗口走红网络。

事实上,这类窗口在全国多地均有设立,专门兜底解决因各种原因搁浅的“疑难杂症”,让“办不成事”变为“办得成事”。

为什么有些办不成的事来“办不成事”窗口就能办成?这一窗口走红折射群众的哪些期待?政务服务如何进一步升级?

能办成哪些事儿

家住浙江杭州市富阳区场口镇的盛先生近日向场口便民中心的兜底窗口求助。他的妻子周女士因车祸导致残疾,还有失智症状,无法出门更换身份证,去医院、领保障都遇到了麻烦。

接到诉求后,兜底窗口将问题反馈给场口公安窗口,场口公安辅警周亚芬特地上门,手把手帮周女士完成身份信息核验、人像指纹采集等流程,顺利办结业务。

这是“办不成事”窗口解决的一类“疑难杂症”——老百姓有实际困难不会办或不能办的事。

事实上,此类“办不成事”窗口已开设多年。早在2022年,国务院关于加快推进政务服务标准化规范化便利化的指导意见就提出,设置“办不成事”反映窗口,提供兜底服务,解决企业和群众办事过程中遇到的疑难事项和复杂问题。

“办不成事”窗口,要处理的都是什么问题?

一类难办的事是民生领域长期积累的“历史旧账”。

“十多年办不下来的证终于办好了!”今年3月,杭州市民王女士终于办理了不动产证。因涉及土地登记、税费缴纳等问题,她所在小区的32套住房中,只有17套办理了房产证,土地证也未均办。

了解情况后,富阳区政务服务中心兜底窗口将问题转交给不动产登记登记工作室。由工作室牵头,多次召集相关单位研究协调,现场踏勘。最终为该集资建房项目成功办理房地一体首次登记。

还有一类,是涉及多地多部门或“不知道该找谁”的事儿。

中石油天津分公司在办理危险化学品经营许可证变更时,遇到政策衔接的矛盾。一个部门要求“先照后证”,而另一部门则要求“先证后照”。天津市和平区政务服务办通过协调,打通部门间信息壁垒,帮助企业顺利办结。

针对一些新情况,此类窗口也敢于打破常规,寻求解决方案。

天津京邦达供应链科技有限公司为快递员申办特殊工时业务时,因快递员岗位不在传统政策范围内而受阻。天津市东丽区政务服务办联合人社部门,通过实地考察研究,指导企业从“配送员”角度提出申请,灵活运用政策。

服务理念有哪些变化

兜底窗口,能无限兜底吗?答案是肯定的。

“依法依规”,永远是兜底的核心所在。在多位基层一线人员看来,兜底窗口兜住的从来不是“例外”,而是制度缝隙中的民生期盼;坚守的并非“无限责任”,而是法律框架内的“有解”思维。

杭州市富阳区行政服务中心主任洪宇斌说,政务服务部门在“兜底办”过程中,必须明确职责和权限,始终在法定职责范围内行使权力,并通过固化协调成果,完善服务机制,确保长效运行。

“办不成事”窗口的走红,对于党员干部如何树立和践行正确政绩观,也带来启发和思考。自设立以来,不少地方此类窗口的功能定位、运行方式和服务范围不断演进,政务服务理念悄然转型。

多地窗口工作人员都被要求不能简单说“不”,推动工作人员从“按章办事”的被动执行者,转变为“想办法办事”的主动服务者。

富阳区审管办审批管理科科长陈航军说,如今,在审批服务窗口推行“三不三问”服务机制,即:企业群众咨询、办事时,不能简单地说:不知道、不能办、不归我管,在办理完基本政务服务的同时,还要办理什么业务?还有什么需

求?还有什么问题与困难?

天津市政务服务办对“办不成”的事项进行了深入分析,将其共性问题归纳为六大类:服务流程不规范、政策界定不清楚、历史遗留问题不处理、线上线下渠道不通、部门间数据传输不及时、改革政策衔接不畅。围绕这些共性成因,着力从“个案协调”向“类案治理”转变。

也有一些地方的窗口受理业务日益减少。

济南市章丘区政务服务大厅“办不成事”窗口设立初期2个月内受理26件业务,2024年全年仅受理11件,2025年更是寥寥无几。

“现在来求助的人越来越少,不是我们的服务缩水了,而是很多以前‘办不成’的事,现在常规窗口就能顺利办好。”章丘区行政审批局党务工作分管负责人柴启龙说。

在受访人员看来,“办不成事”窗口火爆,说明政务服务还未能从“特事特办”的应急模式,转向“事事好办”的常态机制。从这一意义上讲,唯有在“办不成事”窗口遇冷之时,才是常规窗口“办得

快”“办得好”的升级之日。

如何从“一件事”到“一类事”

经过多年实践,不少地方的政府服务人员意识到,解决个案不是终点,破解同类问题才是目标。

“富阳区‘办不成事’反映窗口自2022年正式运行以来,全量收集企业群众诉求594件,解决585件。”洪宇斌说,目前已形成18个“一类事”解决方案,并以工作提示进行固化。

富阳区审管办副主任包烈说,如果换一个人就换一套标准,工作会重复且复杂。固化下来后就可延续执行,增加了政府公信力,也让一类事的处置方式贯穿始终。

“闻一知十”。绍兴市上虞区则形成了不动产登记网上“不见面审批”、医保服务通办点设置、小型房屋建筑工程不动产产权证办理等普适性解决方案10件。

“这意味着,如果遇到这10类事,我们都可以按照固定的处理方式解决。”上虞区便民服务中心主任赵伟平说,这也

能最大限度解决企业群众“急难愁盼”,做到解决一个问题,受益一批对象。

“疑难杂症都有特殊性,我们既要‘对症下药’解决当下问题,更要总结经验、优化流程。”章丘区行政审批服务局党组书记刘平科说。

随着一个个难题化解,窗口将“特事特办”的经验转化为“日常手段”。如今,审批科室人员也从办公室搬到了大厅,实现“受理审批同步进行”。

多名受访人士表示,“办不成事”窗口不仅要为群众兜底,也需通过更多制度探索为基层工作人员兜底。比如,将办理事务纳入容错免责机制,由参与部门共同分担风险责任;完善考核机制,对推诿塞责的扣分、主动揽活的加分等,鼓励更多人“不为不办找理由,只为办好想办法”。

“政策夹缝”中的事、“历史遗留”的事、“跨境跑腿”的事……在多名一线工作人员看来,难事之“难”,往往不在技术,而在担当。工作业绩的最终落脚点,也不在报表里、不在展板上,而在群众的口碑与民心之中。`;

/** Human news from the seed page (河北日报, 张家口虚拟审批). */
const SEED_HUMAN_ZH_2 = `“项目进展怎么样了?”“很顺利,目前正在和多个潜在客户接触,商量合作细节。”

近日,在河北省张家口经开区政务服务中心办事大厅,张家口战新产业发展集团项目部部长张杰遇到了老朋友——经开区数据和政务服务局规划国土股股长范小强。两个人握手,聊个不停。

张杰和范小强其实之前并不熟悉,缘分要从一个项目说起。

2025年,经充分调研和酝酿,张家口战新产业发展集团决定上马吉家房水厂扩建项目。该项目总投资8100万元,建成投用后日供水能力达5万吨。

但第一次来到政务服务中心,张杰就遇到了一个难题:按照以往流程,企业取得不动产权证后,才能申请办理建设工程规划许可证,然后开展施工图审查、水土保持方案审查、人防工程设计审查等工作,从而拿到建筑工程施工许可证。这中间至少要等待一个多月时间。

“这可是代价昂贵的‘等待’。”张杰介绍,按照项目的投资体量,张家口战新产业发展集团仅银行利息就要多支付几十万元。更关键的是发展不等人,越来

越多的落地项目都在呼唤用水保障。

就在张杰发愁的时候,范小强介绍的虚拟审批制度为他打开了一扇窗。为提高项目审批效率,张家口创新推出虚拟审批制度,在项目单位拿地期间,审批部门虚拟其拿地成功,充分利用土地出让公告等侯期,提前进行施工图设计及审查等后续审批流程。

“待土地手续完成后,将虚拟审批结果‘转正’,这样项目单位在拿到不动产权证后,就能同步拿到建设工程规划许可证等,在审批上省去了大量等待时间。”范小强的话,让张杰充满期待。

在签署了建设项目虚拟审批承诺书后,张家口战新产业发展集团在土地手续公示期间就同步开展了施工图审查等后续工作。在拿到不动产权证后的第二天,张杰接到了范小强的电话:“来领施工许可证。”

“算下来节省了一个多月时间,这个建设周期为两年的项目预计后年初建成投用。”张杰邀请范小强项目投用后去现场看一看。

据介绍,2025年,该市共有66个社会投资产业项目通过虚拟审批,为企业节省了大量时间和资金成本。`;

/** Template slop as the seed article describes it: 模板话术、正确废话、无细节、无情感. */
const SLOP_ZH = `在当今社会，随着科技的不断发展，人工智能在我们的生活中扮演着越来越重要的角色。它不仅改变了我们的工作方式，而且深刻影响着社会的各个方面。

首先，人工智能可以有效提高工作效率，帮助人们节省大量时间。其次，人工智能能够改善生活质量，为各行各业带来新的机遇。此外，人工智能在教育、医疗等领域也具有重要意义。

值得注意的是，人工智能的发展也面临一些挑战。一方面，相关技术仍需进一步完善；另一方面，我们也需要关注可能存在的各种风险。因此，合理使用人工智能至关重要。

综上所述，人工智能的发展是时代的必然趋势。我们应该积极拥抱变化，理性看待问题。让我们一起努力，共同迎接更加美好的未来。`;

const SLOP_EN = `In today's fast-paced world, technology plays a crucial role in shaping how we live and work. It is worth noting that artificial intelligence has become an essential tool for businesses of all sizes. Furthermore, it offers a wide range of benefits that can significantly enhance productivity.

Firstly, AI can help organizations streamline various processes. Secondly, it can provide valuable insights that foster innovation. Additionally, it may improve customer experiences in numerous ways. Moreover, it can be applied across different industries.

However, it is important to note that there are also certain challenges. Organizations must navigate the complexities of data privacy and ethical considerations. By doing so, they can unlock the potential of this transformative technology.

In conclusion, AI is a pivotal force in the ever-evolving landscape of modern business. Let us embrace this change and delve into the opportunities it presents.`;

/** Plain human-sounding English: names, numbers, quotes, first person, varied sentences. */
const HUMAN_EN = `I drove out to Millbrook on Tuesday because Dana Alvarez, who runs the feed store on Route 9, called me at 6:40 in the morning. "The river's up past the second post," she said. It was. By noon the water had covered 14 of the 22 parking spaces behind the Lutheran church, and Pastor Green was hauling hymnals to the balcony in laundry baskets.

Nobody panicked. Why would they? The same thing happened in March 2019, and again in 2021, when the county spent $1.2 million on a levee that, as Dana put it, "works great until it rains." I laughed. She didn't.

Tom Becker, 71, watched from his porch with a thermos. He has lived on Water Street since 1968. "My dad sandbagged this house with me when I was nine," he told me. "I'm not doing it again." Then he went inside and, twenty minutes later, came back out with a shovel.`;

const CLICKBAIT_ZH = `每天5分钟，月入3千！我从月薪3万到裸辞创业，靠AI写作暴富的秘籍今天全部揭秘。零基础小白也能躺赚，副业变现真的太香了。很多人问我怎么做到的？其实就是用对了工具，批量生产爆款文章，一个月涨粉十万。想知道具体方法的朋友，点击关注，转发收藏，评论区留言“搞钱”，我私信发你全套干货！不看后悔，建议收藏，这可能是你今年最重要的一篇文章。`;

const CLICKBAIT_EN = `Want to make $500 a day from home? I quit my job last year and built a passive income machine with one simple AI side hustle. You won't believe how easy it is. This game-changer let me reach financial freedom in six months, and today I'm sharing every secret. No experience needed. Just copy my hacks, post every day, and watch the money roll in. Click the link in bio to get my free guide, and don't forget to like and subscribe so you never miss a money-making tip. Seriously, this changed my life and it can change yours too.`;

const LIST_ZH = `提升工作效率的方法如下：
1. 制定清晰的目标，明确每天的任务。
2. 合理安排时间，避免拖延。
3. 保持良好的作息，保证充足睡眠。
4. 学会使用工具，提高效率。
一、注重沟通，与同事保持良好协作。
二、持续学习，不断提升自身能力。
三、保持积极心态，勇于面对挑战。
- 定期复盘总结
- 及时调整计划
坚持以上方法，工作效率一定会得到显著提升，生活也会更加充实和有意义，未来也会更加美好。`;

const LIST_EN = `Here are the key steps to improve your productivity at work:
1. Set clear goals and define your daily tasks.
2. Manage your time wisely and avoid procrastination.
3. Maintain a healthy routine and get enough sleep.
4. Use the right tools to streamline your workflow.
- Review your progress regularly
- Adjust your plan when needed
- Communicate with your team
By following these steps, you can become more productive and achieve better results in both your career and your personal life over time.`;

/** Repetitive wording: low lexical variety. */
const REPETITIVE_ZH = '发展是重要的，发展是必要的，发展是关键的，我们要发展，发展要重视，重视要发展。'.repeat(6);
const REPETITIVE_EN = 'The product is good and the service is good and the price is good, so the product is good for the people and the people like the product. '.repeat(6);

const zh = (text: string): ScoreInput => ({ text: canonicalText(text), title: null, lang: 'zh' });
const en = (text: string): ScoreInput => ({ text: canonicalText(text), title: null, lang: 'en' });
const codes = (input: ScoreInput): string[] => scoreTextSignals(input).output.reasons.map((r) => r.code);

describe('text-signals scorer', () => {
  it('implements Scorer: name, version, load, score shape', async () => {
    const scorer = createTextSignalsScorer();
    expect(scorer.name).toBe('text_signals');
    expect(scorer.version).toBe('text-signals@1');
    expect(scorer.isReady()).toBe(false);
    await scorer.load();
    expect(scorer.isReady()).toBe(true);
    const out = await scorer.score(zh(SLOP_ZH));
    expect(out).toMatchObject({ name: TEXT_SIGNALS_NAME, version: TEXT_SIGNALS_VERSION, segments: [], thresholds: null });
    expect(out.probability).toBeGreaterThanOrEqual(0);
    expect(out.probability).toBeLessThanOrEqual(1);
    for (const f of FEATURE_NAMES) expect(typeof out.features[f]).toBe('number');
    await scorer.close();
    expect(scorer.isReady()).toBe(false);
  });

  it('scores synthetic template slop high and the seed page human news low', () => {
    expect(scoreTextSignals(zh(SLOP_ZH)).output.probability).toBeGreaterThan(0.85);
    expect(scoreTextSignals(en(SLOP_EN)).output.probability).toBeGreaterThan(0.85);
    expect(scoreTextSignals(zh(SEED_HUMAN_ZH)).output.probability).toBeLessThan(0.4);
    expect(scoreTextSignals(zh(SEED_HUMAN_ZH_2)).output.probability).toBeLessThan(0.4);
    expect(scoreTextSignals(en(HUMAN_EN)).output.probability).toBeLessThan(0.4);
  });

  it('fires no reason at all on the seed human news article', () => {
    expect(codes(zh(SEED_HUMAN_ZH))).toEqual([]);
  });

  const crafted: [FeatureName, ScoreInput][] = [
    ['template_rate', zh(SLOP_ZH)],
    ['template_rate', en(SLOP_EN)],
    ['sentence_len_cv', zh(SLOP_ZH)],
    ['sentence_len_cv', en(SLOP_EN)],
    ['personal_rate', zh(SLOP_ZH)],
    ['personal_rate', en(SLOP_EN)],
    ['exclaim_question_share', zh(SLOP_ZH)],
    ['exclaim_question_share', en(SLOP_EN)],
    ['lexical_mattr', zh(REPETITIVE_ZH)],
    ['lexical_mattr', en(REPETITIVE_EN)],
    ['detail_rate', zh(SLOP_ZH)],
    ['detail_rate', en(SLOP_EN)],
    ['clickbait_rate', zh(CLICKBAIT_ZH)],
    ['clickbait_rate', en(CLICKBAIT_EN)],
    ['structure_rate', zh(LIST_ZH)],
    ['structure_rate', en(LIST_EN)],
    ['hedge_rate', zh(SLOP_ZH)],
    ['hedge_rate', en(SLOP_EN)],
  ];
  it.each(crafted)('%s fires on a crafted %#', (feature, input) => {
    expect(codes(input)).toContain(`text.${feature}`);
  });

  it.each(FEATURE_NAMES.map((f) => [f]))('%s does not fire on the seed human news', (feature) => {
    expect(codes(zh(SEED_HUMAN_ZH))).not.toContain(`text.${feature}`);
  });

  it('does not fire the detail, personal or emotion reasons on the English human text', () => {
    const c = codes(en(HUMAN_EN));
    for (const f of ['detail_rate', 'personal_rate', 'exclaim_question_share', 'clickbait_rate', 'structure_rate']) {
      expect(c).not.toContain(`text.${f}`);
    }
  });

  it('writes concrete bilingual messages with evidence', () => {
    const { reasons } = scoreTextSignals(zh(SLOP_ZH)).output;
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) {
      expect(r.source).toBe('text');
      expect(r.message.zh).toMatch(/[\u4E00-\u9FFF]/);
      expect(r.message.en).toMatch(/[A-Za-z]{3}/);
      expect(r.message.en).not.toMatch(/undefined|NaN/);
      expect(r.message.zh).not.toMatch(/undefined|NaN/);
      expect(r.evidence).toBeDefined();
    }
    const template = reasons.find((r) => r.code === 'text.template_rate')!;
    expect(template.message.zh).toMatch(/^模板化过渡语出现\d+次（.*(首先|其次|综上所述|值得注意的是)/);
    expect(template.message.en).toMatch(/^\d+ stock transitions/);
    const phrases = (template.evidence as { phrases: Record<string, number> }).phrases;
    expect(Object.keys(phrases).length).toBeGreaterThan(2);

    const click = scoreTextSignals(zh(CLICKBAIT_ZH)).output.reasons.find((r) => r.code === 'text.clickbait_rate')!;
    expect(click.message.zh).toContain('月入');
    const enClick = scoreTextSignals(en(CLICKBAIT_EN)).output.reasons.find((r) => r.code === 'text.clickbait_rate')!;
    expect(enClick.message.en).toMatch(/^\d+ money-making or engagement-bait phrases \(/);
    expect(Object.keys((enClick.evidence as { phrases: Record<string, number> }).phrases)).toEqual(expect.arrayContaining(['passive income', 'make $X', 'side hustle']));
  });

  it('counts clickbait in the title too', () => {
    const body = SEED_HUMAN_ZH_2;
    const plain = scoreTextSignals({ ...zh(body), title: null }).output.features.clickbait_rate;
    const baited = scoreTextSignals({ ...zh(body), title: '每天5分钟月入3千，副业躺赚秘籍' }).output.features.clickbait_rate;
    expect(plain).toBe(0);
    expect(baited).toBeGreaterThan(0);
  });

  it('returns null probability and no reasons for short or empty text', async () => {
    const scorer = createTextSignalsScorer();
    await scorer.load();
    for (const input of [zh(''), en(''), zh('综上所述，值得注意的是，首先其次。'), en('In conclusion, it is worth noting.')]) {
      const out = await scorer.score(input);
      expect(out.probability).toBeNull();
      expect(out.reasons).toEqual([]);
    }
    // Just at the minimum it answers.
    const atMin = zh('这是一个很长的句子，用来测试。'.repeat(Math.ceil(MIN_UNITS.zh / 11)));
    expect(scoreTextSignals(atMin).output.probability).not.toBeNull();
  });

  it('is deterministic', () => {
    for (const input of [zh(SLOP_ZH), en(SLOP_EN), zh(SEED_HUMAN_ZH), en(HUMAN_EN)]) {
      expect(scoreTextSignals(input)).toEqual(scoreTextSignals(input));
    }
  });

  it('bias plus contributions is the logit; reasons carry those contributions', () => {
    for (const input of [zh(SLOP_ZH), en(SLOP_EN), zh(SEED_HUMAN_ZH), en(HUMAN_EN), zh(LIST_ZH), en(CLICKBAIT_EN)]) {
      const { output, explanation } = scoreTextSignals(input);
      expect(explanation).not.toBeNull();
      const e = explanation!;
      expect(e.bias).toBe(TEXT_SIGNALS_WEIGHTS[input.lang].bias);
      const sum = Object.values(e.contributions).reduce((a, b) => a + b, e.bias);
      expect(sum).toBeCloseTo(e.logit, 10);
      expect(output.probability).toBeCloseTo(1 / (1 + Math.exp(-e.logit)), 12);
      for (const r of output.reasons) {
        const f = r.code.replace(/^text\./, '') as FeatureName;
        expect(r.contribution).toBe(e.contributions[f]);
      }
    }
  });

  it('reads only modelText for everything but structure: newlines and spacing do not move the score', () => {
    const flat = SLOP_ZH.replace(/\n+/g, ' ');
    expect(scoreTextSignals(zh(flat)).output.probability).toBe(scoreTextSignals(zh(SLOP_ZH)).output.probability);
    const spaced = SLOP_EN.replace(/([,.])/g, ' $1').replace(/\n+/g, ' ');
    expect(scoreTextSignals(en(spaced)).output.probability).toBeCloseTo(scoreTextSignals(en(SLOP_EN)).output.probability!, 12);
  });

  it('MATTR equals TTR for a single window and drops with repetition', () => {
    expect(mattr(['a', 'b', 'c', 'a'], 10)).toBeCloseTo(3 / 4);
    expect(mattr(['a', 'b', 'a', 'b', 'a', 'b'], 2)).toBe(1);
    expect(mattr(['a', 'a', 'a', 'a'], 2)).toBe(0.5);
  });
});
