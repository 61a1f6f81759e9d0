/**
 * The detector's manifest (`<modelDir>/<modelId>/manifest.json`): what was shipped, how it was
 * calibrated, and the decision points. Written by training/fit-fusion.ts; read and verified
 * (sha256 of every listed file) by the detector at load.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const langCalibrationSchema = z.object({
  /** Fusion logit = bias + Σ weights[k] · feature[k], features named in `featureNames`. */
  bias: z.number(),
  weights: z.array(z.number()),
  /**
   * Platt scaling of the transformer's mean window logit alone (its standalone probability,
   * reported as evidence). Window probabilities are the fusion applied to each window.
   */
  segment: z.object({ a: z.number(), b: z.number() }),
  /** reviewStrict: review point of the strict AI-assisted policy (5% FPR on article-length dev humans) */
  thresholds: z.object({ review: z.number(), flag: z.number(), reviewStrict: z.number().optional() }),
});
export type LangCalibration = z.infer<typeof langCalibrationSchema>;

const perLang = <S extends z.ZodType>(schema: S) => z.object({ zh: schema, en: schema });
const windowSpecSchema = z.object({ chars: z.number().int().positive(), stride: z.number().int().positive() });

/** The manifest as written by training/fit-fusion.ts, parsed (not cast) when a detector loads. */
export const detectorManifestSchema = z.object({
  modelId: z.string(),
  version: z.string(),
  labels: z.record(z.string(), z.string()),
  files: z.record(z.string(), z.string()),
  maxTokens: z.number().int().positive(),
  windows: perLang(windowSpecSchema),
  /** Texts with fewer content units (Han characters + Latin words) get probability null. */
  minUnits: perLang(z.number()),
  featureNames: z.array(z.string()),
  calibration: perLang(langCalibrationSchema),
  training: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.unknown()).optional(),
});
export type DetectorManifest = z.infer<typeof detectorManifestSchema>;

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Reads the manifest and checks every listed file's hash; throws on a mismatch. */
export function loadManifest(dir: string, verify = true): DetectorManifest {
  const m = detectorManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  if (verify) {
    for (const [file, sha] of Object.entries(m.files)) {
      const got = sha256File(join(dir, file));
      if (got !== sha) throw new Error(`model file ${file} does not match the manifest (sha256 ${got}, expected ${sha})`);
    }
  }
  return m;
}

/** Every feature the fusion can use; a manifest's `featureNames` picks its subset, in order. */
export const FUSION_FEATURES = ['transformer', 'transformer_max', 'ngram', 'text_signals', 'log_units', 'transformer_x_log_units', 'ngram_x_log_units'] as const;
export type FusionFeature = (typeof FUSION_FEATURES)[number];

/** Uncalibrated parts of one text (or one window) that the fusion combines. */
export interface FusionParts {
  /** mean and max window logit of the transformer */
  transformer: number;
  transformerMax: number;
  ngram: number;
  /** logit of the interpretable text signals; 0 when the text is too short for them */
  textSignals: number;
  units: number;
}

export function fusionFeatureValues(p: FusionParts): Record<FusionFeature, number> {
  // centred so the interaction terms stay near zero for a typical 300-unit text
  const l = Math.log(Math.max(p.units, 1)) - Math.log(300);
  return {
    transformer: p.transformer,
    transformer_max: p.transformerMax,
    ngram: p.ngram,
    text_signals: p.textSignals,
    log_units: l,
    transformer_x_log_units: p.transformer * l,
    ngram_x_log_units: p.ngram * l,
  };
}

/** Fusion logit of one language's calibration over the manifest's `featureNames`. */
export function fusedLogit(names: readonly string[], cal: Pick<LangCalibration, 'bias' | 'weights'>, p: FusionParts): number {
  const v = fusionFeatureValues(p) as Record<string, number>;
  let z = cal.bias;
  names.forEach((name, i) => {
    const x = v[name];
    if (x === undefined) throw new Error(`unknown fusion feature ${name}`);
    z += x * (cal.weights[i] ?? 0);
  });
  return z;
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
