/**
 * Moderator review, the pure part: what a moderator can decide, the states an item can be
 * in, and which decisions become training labels.
 */

export const DECISIONS = ['confirm_ai_undeclared', 'ai_declared_ok', 'human', 'escalate'] as const;
export type Decision = (typeof DECISIONS)[number];

/** `pending`: nobody decided this revision yet; `escalated`: needs a senior look; `decided`: done. */
export const REVIEW_STATES = ['pending', 'escalated', 'decided'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

/** Queue filter on the state: `open` is pending + escalated (the default), `all` is everything. */
export const STATE_FILTERS = ['open', 'pending', 'escalated', 'decided', 'all'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

export const GROUPINGS = ['article', 'batch', 'cluster'] as const;
export type Grouping = (typeof GROUPINGS)[number];

export const QUEUE_SORTS = ['priority', 'age'] as const;
export type QueueSort = (typeof QUEUE_SORTS)[number];

/** The state an item is in after a decision. */
export function stateAfter(decision: Decision): ReviewState {
  return decision === 'escalate' ? 'escalated' : 'decided';
}

/**
 * The binary training label a confirmed decision gives the text, or null when the decision
 * is not a label (escalation). Declared AI content is still AI-written text.
 *
 *   trainingLabel('human') // 'human'
 *   trainingLabel('confirm_ai_undeclared') // 'ai'
 */
export function trainingLabel(decision: Decision): 'human' | 'ai' | null {
  if (decision === 'human') return 'human';
  if (decision === 'escalate') return null;
  return 'ai';
}
