/** Texts for the content-farm and repost tests and benches. */

/** Six accounts, one template: the farm of issue 15 (a few seconds apart). */
export const farmText = (city: string, n: number) =>
  `${city}本地人才知道的三个宝藏去处!第一个是${city}老街,这里保留着上百年的历史建筑,每到周末游客络绎不绝。` +
  `第二个是${city}湿地公园,春天花开的时候美不胜收,很多市民都会带着孩子来这里散步。第三个是${city}夜市,` +
  `各种地道小吃应有尽有,人均${n}元就能吃得心满意足。总而言之,如果你也来${city}旅游,一定不要错过这些地方。` +
  `值得注意的是,这些地方节假日人流量较大,建议合理安排时间。记得点赞收藏转发给身边的朋友,关注我获取更多旅游攻略。`;
export const FARM_CITIES = ['杭州', '苏州', '成都', '西安', '南京', '重庆'];

/** A human news report, reposted with attribution by several outlets. */
export const NEWS =
  '本报讯（记者 王磊）11月20日上午，杭州市余杭区良渚街道荀山社区的老旧小区加装电梯工程正式完工。' +
  '68岁的居民陈阿姨住在6楼，她说以前下楼买菜要歇两回，腿疼得厉害，今天第一次坐电梯下楼，“按一下就到了，跟做梦一样”。' +
  '据社区主任周建华介绍，这部电梯从2023年3月开始征求意见，12户居民里有2户一开始担心噪音和采光，' +
  '社区前后开了9次协调会，最后约定低层住户不出钱、高层按楼层分摊，总造价58万元，其中政府补贴20万元。' +
  '周建华说，接下来还有4个单元在排队，预计明年5月前再完工两部。';
