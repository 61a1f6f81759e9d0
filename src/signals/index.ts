export { AccountSignals, articleHash, type AccountSignalsOptions, type PreparedObservation } from './account-signals.ts';
export {
  accountSignalSettingsSchema,
  defaultAccountSignalSettings,
  type AccountSignalSettings,
  type AccountSignalSettingsInput,
} from './settings.ts';
export * from './types.ts';
export { estimateJaccard, minhash, shingleHashes, shingleTokens } from './minhash.ts';
export { intervalCv, kleinbergBurst, longestGap } from './timing.ts';
