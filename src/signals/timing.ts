/**
 * Pure timing tests over one account's posting times: a Kleinberg two-state burst automaton
 * and the regularity of intervals. No I/O: `AccountSignals` feeds them from Redis.
 */

export interface BurstOptions {
  s: number;
  gamma: number;
}

export interface BurstState {
  /** True when the optimal state sequence ends in the burst state. */
  inBurst: boolean;
  /** First and last post of the final burst run (ms); equal to the last post when not bursting. */
  start: number;
  end: number;
  /** Posts in the final burst run (its gaps + 1). */
  posts: number;
}

/**
 * Kleinberg's two-state automaton (Kleinberg 2002, "Bursty and hierarchical structure in
 * streams"): gaps are exponential with rate `base` in state 0 and `s * base` in state 1;
 * entering state 1 costs `gamma * ln n`, leaving it is free. Viterbi finds the cheapest state
 * sequence; we report whether the latest post sits in a burst and the extent of that burst.
 *
 * Example: base 2/day, times = 20 daily posts then 14 posts a minute apart ->
 * { inBurst: true, posts: 14 or 15, ... }.
 *
 * @param times ascending post times in ms (the latest is the post being judged)
 * @param basePerMs baseline rate in posts per ms (> 0)
 */
export function kleinbergBurst(times: readonly number[], basePerMs: number, options: BurstOptions): BurstState {
  const last = times[times.length - 1] ?? 0;
  const none: BurstState = { inBurst: false, start: last, end: last, posts: 1 };
  const n = times.length - 1;
  if (n < 1 || !(basePerMs > 0)) return none;
  const a0 = basePerMs;
  const a1 = options.s * basePerMs;
  const up = options.gamma * Math.log(n + 1);
  const lnS = Math.log(options.s);
  // Costs relative to -ln(a0): state 0 costs a0*x, state 1 costs a1*x - ln s.
  let c0 = 0;
  let c1 = Infinity;
  const from1 = new Uint8Array(n); // for state 1 at step i: 1 if previous state was 1
  const from0 = new Uint8Array(n); // for state 0 at step i: 1 if previous state was 1
  for (let i = 0; i < n; i++) {
    const x = Math.max(0, (times[i + 1] as number) - (times[i] as number));
    const cost0 = a0 * x;
    const cost1 = a1 * x - lnS;
    const n0prev1 = c1 < c0;
    const next0 = (n0prev1 ? c1 : c0) + cost0;
    const stay1 = c1;
    const enter1 = c0 + up;
    const n1prev1 = stay1 <= enter1;
    const next1 = (n1prev1 ? stay1 : enter1) + cost1;
    from0[i] = n0prev1 ? 1 : 0;
    from1[i] = n1prev1 ? 1 : 0;
    c0 = next0;
    c1 = next1;
  }
  if (!(c1 < c0)) return none;
  // Walk back through the burst run that ends at the last gap.
  let i = n - 1;
  while (i > 0 && from1[i] === 1) i--;
  const start = times[i] as number;
  return { inBurst: true, start, end: last, posts: n - i + 1 };
}

/** Coefficient of variation (std / mean) of the intervals between ascending times. */
export function intervalCv(times: readonly number[]): number | null {
  if (times.length < 3) return null;
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) gaps.push((times[i] as number) - (times[i - 1] as number));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  if (mean <= 0) return 0;
  const variance = gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length;
  return Math.sqrt(variance) / mean;
}

/** Longest stretch without a post in [from, to], counting the edges of the window. */
export function longestGap(times: readonly number[], from: number, to: number): number {
  let prev = from;
  let longest = 0;
  for (const t of times) {
    if (t < from || t > to) continue;
    longest = Math.max(longest, t - prev);
    prev = t;
  }
  return Math.max(longest, to - prev);
}

/** "14分钟" / "14 minutes" style durations for reasons. */
export function formatDuration(ms: number): { zh: string; en: string } {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  if (minutes < 120) return { zh: `${minutes}分钟`, en: `${minutes} minute${minutes === 1 ? '' : 's'}` };
  const hours = Math.round(minutes / 60);
  if (hours < 48) return { zh: `${hours}小时`, en: `${hours} hours` };
  const days = Math.round(hours / 24);
  return { zh: `${days}天`, en: `${days} days` };
}
