/**
 * The detector's manifest (`<modelDir>/<modelId>/manifest.json`): what was shipped, how it was
 * calibrated, and the decision points. Written by training/fit-fusion.ts; read and verified
 * (sha256 of every listed file) by the detector at load.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lang } from '../domain/normalize.ts';
import type { WindowSpec } from './model-windows.ts';

export interface LangCalibration {
  /** Fusion logit = bias + Σ weights[k] · feature[k], features named in `featureNames`. */
  bias: number;
  weights: number[];
  /** Per-window probability for highlighted segments: sigmoid(a · window logit + b). */
  segment: { a: number; b: number };
  thresholds: { review: number; flag: number };
}

export interface DetectorManifest {
  modelId: string;
  version: string;
  labels: Record<string, string>;
  files: Record<string, string>;
  maxTokens: number;
  windows: Record<Lang, WindowSpec>;
  /** Texts with fewer content units (Han characters + Latin words) get probability null. */
  minUnits: Record<Lang, number>;
  featureNames: string[];
  calibration: Record<Lang, LangCalibration>;
  training: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Reads the manifest and checks every listed file's hash; throws on a mismatch. */
export function loadManifest(dir: string, verify = true): DetectorManifest {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DetectorManifest;
  if (verify) {
    for (const [file, sha] of Object.entries(m.files)) {
      const got = sha256File(join(dir, file));
      if (got !== sha) throw new Error(`model file ${file} does not match the manifest (sha256 ${got}, expected ${sha})`);
    }
  }
  return m;
}

/** The fusion's input features, in `featureNames` order. */
export const FUSION_FEATURES = ['transformer', 'ngram', 'log_units', 'transformer_x_log_units', 'ngram_x_log_units'] as const;

export function fusionFeatures(transformer: number, ngram: number, units: number): number[] {
  // centred so the interaction terms stay near zero for a typical 300-unit text
  const l = Math.log(Math.max(units, 1)) - Math.log(300);
  return [transformer, ngram, l, transformer * l, ngram * l];
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
