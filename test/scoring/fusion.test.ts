import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reason, ScorerOutput } from '../../src/domain/types.ts';
import { defaultFusionConfig, parseFusionConfig } from '../../src/scoring/fusion-config.ts';
import { fuse, labelFor, type FusionInput } from '../../src/scoring/fusion.ts';
import type { AccountSignal, AccountSignalsResult } from '../../src/signals/types.ts';

const cfg = defaultFusionConfig;

function scorer(p: number | null, extra: Partial<ScorerOutput> = {}): ScorerOutput {
  return { name: 'x', version: '1', probability: p, reasons: [], segments: [], features: {}, thresholds: null, ...extra };
}
const detector = (p: number | null) => scorer(p, { name: 'detector', thresholds: { review: 0.6, flag: 0.9 } });

function signal(code: AccountSignal['code'], strength: number): AccountSignal {
  return { code, value: 1, strength, message: { zh: code, en: code }, evidence: {} };
}
function account(...signals: AccountSignal[]): AccountSignalsResult {
  return {
    tenantId: 't',
    articleId: 'a',
    accountId: 'u',
    postedAt: '2026-10-01T00:00:00.000Z',
    firstObservation: true,
    signals,
    similar: [],
    clusterId: null,
    stats: { windowCounts: {}, baselinePerDay: 2, baselineSource: 'floor', intervalCv: null, indexed: true },
  };
}
const farm = account(signal('near_duplicate', 1), signal('coordinated_posting', 1), signal('burst', 1), signal('machine_cadence', 1));

function input(over: Partial<FusionInput> = {}): FusionInput {
  return { lang: 'zh', declaredAi: false, contentLength: 800, detector: detector(0.1), text: scorer(0.5), account: null, ...over };
}

describe('fuse', () => {
  it('follows the detector thresholds', () => {
    expect(fuse(input({ detector: detector(0.1) }), cfg)).toMatchObject({ label: 'human', verdict: 'pass' });
    expect(fuse(input({ detector: detector(0.7) }), cfg)).toMatchObject({ label: 'uncertain', verdict: 'review' });
    const flagged = fuse(input({ detector: detector(0.95) }), cfg);
    expect(flagged).toMatchObject({ label: 'ai_undeclared', verdict: 'flag', configVersion: cfg.version });
    expect(flagged.thresholds).toEqual({ review: 0.6, flag: 0.9, source: 'detector' });
    expect(flagged.reasons[0]).toMatchObject({ code: 'model_probability', source: 'model' });
    expect(flagged.reasons[0]!.message.en).toBe('The model puts the chance of AI generation at 95%');
  });

  it('falls back to the config thresholds for a detector without them', () => {
    const r = fuse(input({ detector: scorer(0.8), lang: 'en' }), cfg);
    expect(r.thresholds).toEqual({ ...cfg.thresholds.en, source: 'config' });
    expect(r.verdict).toBe('review');
  });

  it('never labels declared AI content ai_undeclared; it passes unless its accounts look like a farm', () => {
    fc.assert(
      fc.property(
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
        fc.subarray(farm.signals),
        fc.integer({ min: 0, max: 5000 }),
        (p, t, signals, len) => {
          const acc = account(...signals);
          const r = fuse(input({ declaredAi: true, detector: detector(p), text: scorer(t), account: acc, contentLength: len }), cfg);
          expect(r.label).toBe('ai_declared');
          const looksLikeFarm = fuse(input({ account: acc }), cfg).verdict !== 'pass';
          expect(r.verdict).toBe(looksLikeFarm ? 'review' : 'pass');
          expect(r.reasons.some((x) => x.code === 'declared_ai' && x.source === 'policy')).toBe(true);
        },
      ),
    );
  });

  it('sends declared AI from a farm to review by default, and policy may choose otherwise', () => {
    expect(fuse(input({ declaredAi: true, account: farm }), cfg)).toMatchObject({ label: 'ai_declared', verdict: 'review' });
    expect(fuse(input({ declaredAi: true }), cfg)).toMatchObject({ label: 'ai_declared', verdict: 'pass' });
    const lenient = parseFusionConfig({ version: 'test-1', declared: { farmVerdict: 'pass' } });
    expect(fuse(input({ declaredAi: true, account: farm }), lenient)).toMatchObject({ label: 'ai_declared', verdict: 'pass' });
  });

  it('never flags on account signals alone when the model reads the text as human', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.5999, noNaN: true }),
        fc.subarray(farm.signals, { minLength: 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (p, signals, strength) => {
          const acc = account(...signals.map((s) => ({ ...s, strength })));
          // Neutral text signals: the model alone decides the text side.
          const r = fuse(input({ detector: detector(p), account: acc }), cfg);
          expect(r.verdict).not.toBe('flag');
          expect(r.label).not.toBe('ai_undeclared');
        },
      ),
    );
  });

  it('routes strong account signals to review, and escalates a doubtful text to flag', () => {
    const human = fuse(input({ detector: detector(0.05), account: farm }), cfg);
    expect(human).toMatchObject({ verdict: 'review', label: 'uncertain' });
    expect(human.parts.accountSuspicion).toBe(1);
    expect(human.score).toBeGreaterThan(fuse(input({ detector: detector(0.05) }), cfg).score);
    expect(fuse(input({ detector: detector(0.7), account: farm }), cfg).verdict).toBe('flag');
    // A lone weak signal (no rest period, say) does not.
    expect(fuse(input({ account: account(signal('no_rest_period', 0.3)) }), cfg).verdict).toBe('pass');
  });

  it('passes a text without a model probability unless other signals decide', () => {
    const short = fuse(input({ detector: detector(null), contentLength: 20 }), cfg);
    expect(short).toMatchObject({ label: 'human', verdict: 'pass', score: 0.5 });
    expect(short.reasons.map((r) => r.code)).toContain('model_unavailable');
    expect(fuse(input({ detector: null, account: farm }), cfg)).toMatchObject({ label: 'uncertain', verdict: 'review' });
    expect(fuse(input({ detector: null, text: scorer(0.95) }), cfg)).toMatchObject({ label: 'uncertain', verdict: 'review' });
  });

  it('lets text signals nudge and explain, less on short texts, never decide alone', () => {
    const reasons: Reason[] = [
      { code: 'slop_phrases', source: 'text', contribution: 2, message: { zh: '套话', en: 'stock phrases' } },
      { code: 'low_burstiness', source: 'text', contribution: 1, message: { zh: '句长单一', en: 'uniform sentences' } },
      { code: 'typos', source: 'text', contribution: -0.5, message: { zh: '错别字', en: 'typos' } },
    ];
    const neutral = fuse(input({ detector: detector(0.55) }), cfg);
    const nudged = fuse(input({ detector: detector(0.55), text: scorer(1, { reasons }) }), cfg);
    expect(neutral.verdict).toBe('pass');
    expect(nudged.verdict).toBe('review');
    expect(nudged.parts.text).toBeCloseTo(cfg.weights.text, 6);
    const textReasons = nudged.reasons.filter((r) => r.source === 'text');
    expect(textReasons.map((r) => r.code)).toEqual(['slop_phrases', 'low_burstiness', 'typos']);
    expect(textReasons.reduce((a, r) => a + r.contribution, 0)).toBeCloseTo(cfg.weights.text, 3);
    const shortText = fuse(input({ detector: detector(0.55), text: scorer(1), contentLength: 30 }), cfg);
    expect(shortText.parts.text).toBeCloseTo(cfg.weights.text * 0.1, 6);
    // Maximal text signals cannot move a confident human reading past review.
    expect(fuse(input({ detector: detector(0.05), text: scorer(1, { reasons }) }), cfg).verdict).toBe('pass');
  });

  it('labels agree with verdicts: flag is ai_undeclared (or ai_declared), review uncertain, pass human', () => {
    fc.assert(
      fc.property(
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
        fc.subarray(farm.signals),
        fc.boolean(),
        fc.constantFrom('pass', 'review', 'flag') as fc.Arbitrary<'pass' | 'review' | 'flag'>,
        (p, t, signals, declaredAi, declaredVerdict) => {
          const policy = parseFusionConfig({ version: 'test-1', declared: { verdict: declaredVerdict } });
          const r = fuse(input({ detector: detector(p), text: scorer(t), account: account(...signals), declaredAi }), policy);
          expect(r.label).toBe(labelFor(r.verdict, declaredAi));
          if (r.verdict === 'flag') expect(['ai_undeclared', 'ai_declared']).toContain(r.label);
          if (!declaredAi) expect(r.label).toBe({ flag: 'ai_undeclared', review: 'uncertain', pass: 'human' }[r.verdict]);
        },
      ),
    );
    // a doubtful text escalated to flag by a farm is labelled as a flag, not `uncertain`
    expect(fuse(input({ detector: detector(0.7), account: farm }), cfg)).toMatchObject({ verdict: 'flag', label: 'ai_undeclared' });
    // an obvious template article at 0.99 is a flag and says so
    expect(fuse(input({ detector: detector(0.99) }), cfg)).toMatchObject({ verdict: 'flag', label: 'ai_undeclared' });
  });

  it('the strict AI-assisted policy reviews from the lower reviewStrict point, flags alike', () => {
    const d = scorer(0.75, { name: 'detector', thresholds: { review: 0.9, flag: 0.96, reviewStrict: 0.7 } });
    const strict = parseFusionConfig({ version: 'test-1', aiAssisted: 'strict' });
    expect(fuse(input({ detector: d }), cfg)).toMatchObject({ verdict: 'pass', label: 'human' });
    expect(fuse(input({ detector: d }), strict)).toMatchObject({ verdict: 'review', label: 'uncertain', thresholds: { review: 0.7, flag: 0.96 } });
    // a detector without the strict point keeps its review threshold
    expect(fuse(input({ detector: detector(0.75) }), strict).thresholds.review).toBe(0.6);
  });

  it('does not add the text signals twice when the detector already weighs them', () => {
    const reasons: Reason[] = [{ code: 'slop_phrases', source: 'text', contribution: 2, message: { zh: '套话', en: 'stock phrases' } }];
    const fused = (p: number) => scorer(p, { name: 'detector', thresholds: { review: 0.6, flag: 0.9 }, features: { text_signals_weight: 0.25 } });
    const r = fuse(input({ detector: fused(0.55), text: scorer(1, { reasons }) }), cfg);
    // the detector's calibrated probability decides alone: 0.55 stays under review
    expect(r.parts.text).toBe(0);
    expect(r.verdict).toBe('pass');
    // the reason is still shown, with its share of the model's logit (2 x 0.25)
    expect(r.reasons.find((x) => x.code === 'slop_phrases')).toMatchObject({ source: 'text', contribution: 0.5 });
    // without that weight the old bounded nudge applies and moves the same text to review
    expect(fuse(input({ detector: detector(0.55), text: scorer(1, { reasons }) }), cfg).verdict).toBe('review');
  });

  it('sorts reasons by |contribution| and keeps the score in [0, 1]', () => {
    fc.assert(
      fc.property(
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
        fc.subarray(farm.signals),
        fc.boolean(),
        (p, t, signals, declaredAi) => {
          const r = fuse(input({ detector: detector(p), text: scorer(t), account: account(...signals), declaredAi }), cfg);
          expect(r.score).toBeGreaterThanOrEqual(0);
          expect(r.score).toBeLessThanOrEqual(1);
          const c = r.reasons.map((x) => Math.abs(x.contribution));
          expect(c).toEqual([...c].sort((a, b) => b - a));
        },
      ),
    );
  });

  it('rejects an invalid config', () => {
    expect(() => parseFusionConfig({ thresholds: { zh: { review: 0.9, flag: 0.5 } } })).toThrow(/review threshold/);
    expect(() => parseFusionConfig({ version: '' })).toThrow();
  });

  it('fusion config fingerprint: bump `version` when a default changes', () => {
    const { version, ...rest } = defaultFusionConfig;
    const fingerprint = createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 12);
    // If this fails you changed a default: bump `version` in fusion-config.ts, then update both.
    expect({ version, fingerprint }).toEqual({ version: 'fusion-2026-11-27.2', fingerprint: '90267c701913' });
  });
});
