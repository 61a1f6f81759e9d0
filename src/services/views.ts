import { z } from 'zod';
import { AIGC_LABEL_VALUES, LABELLING_DECISIONS } from '../domain/labelling.ts';
import { rescanFilterSchema } from '../domain/rescans.ts';

/**
 * What the import and rescan routes answer, declared once: the services' return types
 * are inferred from these schemas, the routes document them (`.meta({ id })` names the OpenAPI
 * component) and the CLI parses the service's answers with them.
 *
 *   importViewSchema.parse(await (await fetch(`${url}/v1/imports/${id}`, auth)).json())
 *   -> { id: 'imp_…', status: 'completed', linesRead: 3, accepted: 2, rejected: 1, … }
 */

const count = z.number().int().min(0);
const time = z.string().describe('ISO 8601');

export const importViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    linesRead: count.describe('Non-blank lines read: accepted + duplicates + rejected'),
    accepted: count.describe('New or changed articles, stored and queued for scoring'),
    duplicates: count.describe('Valid lines whose content was already stored: nothing to do'),
    rejected: count,
    articles: count.describe('Distinct articles the import named (accepted or duplicate)'),
    scored: count.describe('Of those articles, how many are scored now'),
    failed: count,
    bytesRead: count.describe('Decompressed bytes read'),
    truncated: z.boolean().describe('Stopped at IMPORT_MAX_BYTES'),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    errorsStored: count.describe('Per-line errors kept (at most IMPORT_MAX_STORED_ERRORS; `rejected` keeps counting)'),
    createdAt: time,
    finishedAt: time.nullable(),
  })
  .meta({
    id: 'Import',
    example: {
      id: 'imp_01JD6Z8Q4W',
      status: 'completed',
      linesRead: 3,
      accepted: 2,
      duplicates: 0,
      rejected: 1,
      articles: 2,
      scored: 0,
      failed: 0,
      bytesRead: 512,
      truncated: false,
      error: null,
      errorsStored: 1,
      createdAt: '2026-11-27T08:00:00.000Z',
      finishedAt: '2026-11-27T08:00:00.120Z',
    },
  });
export type ImportView = z.infer<typeof importViewSchema>;

export const importLineErrorSchema = z.object({ line: z.number().int().min(1), code: z.string(), message: z.string(), details: z.unknown().optional() });
export type ImportLineError = z.infer<typeof importLineErrorSchema>;

export const importErrorsPageSchema = z
  .object({ errors: z.array(importLineErrorSchema), next: z.number().int().nullable().describe('Pass as `after` for the next page') })
  .meta({ id: 'ImportErrors', example: { errors: [{ line: 2, code: 'validation_failed', message: 'article is invalid' }], next: null } });

const rescanStatus = z.enum(['running', 'paused', 'completed', 'cancelled', 'failed']);

export const rescanViewSchema = z
  .object({
    id: z.string(),
    status: rescanStatus,
    filter: rescanFilterSchema,
    total: count.describe('Articles that matched when the rescan was created (the final count once it is done)'),
    selected: count.describe('Selected and queued so far'),
    done: count.describe('Rescored (a no-op when model and config are unchanged)'),
    failed: count,
    skipped: count.describe('A newer revision arrived meanwhile: live scoring handles it'),
    cancelled: count,
    inFlight: count.describe('In the rescore queue now'),
    changed: count,
    newlyFlagged: count,
    progress: z.number().min(0).max(1),
    ratePerSecond: z.number().describe('Articles finished per second over the last 30 seconds (or the whole run once it ended)'),
    etaSeconds: z.number().nullable(),
    error: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
    finishedAt: time.nullable(),
  })
  .meta({
    id: 'Rescan',
    example: {
      id: 'rsc_01JD6Z9A1B',
      status: 'running',
      filter: { verdicts: ['pass'] },
      total: 1200,
      selected: 400,
      done: 350,
      failed: 0,
      skipped: 2,
      cancelled: 0,
      inFlight: 48,
      changed: 12,
      newlyFlagged: 3,
      progress: 0.29,
      ratePerSecond: 41.5,
      etaSeconds: 20,
      error: null,
      createdAt: '2026-11-27T08:00:00.000Z',
      updatedAt: '2026-11-27T08:00:09.000Z',
      finishedAt: null,
    },
  });
export type RescanView = z.infer<typeof rescanViewSchema>;

export const rescanListSchema = z.object({ rescans: z.array(rescanViewSchema) }).meta({ id: 'RescanList' });

export const rescanCreateSchema = z
  .object({ filter: rescanFilterSchema.default({}), dryRun: z.boolean().default(false) })
  .strict()
  .meta({ id: 'RescanInput', example: { filter: { verdicts: ['pass'], configVersionNot: 'fusion-2026-11-26.1' }, dryRun: true } });

export const rescanDryRunSchema = z
  .object({ dryRun: z.literal(true), filter: rescanFilterSchema, count })
  .meta({ id: 'RescanDryRun', example: { dryRun: true, filter: { verdicts: ['pass'] }, count: 1200 } });

const transitionSchema = z.object({ from: z.string(), to: z.string(), count });
export type Transition = z.infer<typeof transitionSchema>;

export const changeSummarySchema = z
  .object({
    rescanId: z.string(),
    status: rescanStatus,
    compared: count,
    changed: count,
    newlyFlagged: count,
    verdicts: z.array(transitionSchema),
    labels: z.array(transitionSchema),
    versions: z.array(z.object({ fromModel: z.string().nullable(), fromConfig: z.string().nullable(), toModel: z.string().nullable(), toConfig: z.string().nullable(), count })),
  })
  .meta({ id: 'RescanChanges' });
export type ChangeSummary = z.infer<typeof changeSummarySchema>;

export const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const LISTABLE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type ListableState = (typeof LISTABLE_STATES)[number];

/** One job of the admin's tenant on the queue dashboard. */
export const jobViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(LISTABLE_STATES),
  attemptsMade: z.number().int(),
  attempts: z.number().int(),
  failedReason: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
});
export type JobView = z.infer<typeof jobViewSchema>;

export const queueOverviewSchema = z
  .object({ queues: z.array(z.object({ name: z.string(), counts: z.record(z.enum(JOB_STATES), z.number().int().min(0)), paused: z.boolean() })) })
  .meta({ id: 'QueueOverview' });
export const queueJobsSchema = z.object({ jobs: z.array(jobViewSchema) }).meta({ id: 'QueueJobs' });

/** The AI-content labelling decision as every article view answers it (`domain/labelling.ts` decides it). */
const AigcEntry = z.object({
  Label: z.enum(AIGC_LABEL_VALUES),
  ContentProducer: z.string(),
  ProduceID: z.string(),
  ReservedCode1: z.string().optional(),
  ContentPropagator: z.string().optional(),
  PropagateID: z.string().optional(),
  ReservedCode2: z.string().optional(),
});

export const labellingViewSchema = z
  .object({
    decision: z.enum(LABELLING_DECISIONS),
    basis: z.enum(['implicit_label', 'declared', 'explicit_label', 'verdict']).nullable(),
    notice: z.object({ zh: z.string(), en: z.string() }).nullable(),
    implicitLabel: AigcEntry.nullable(),
    explicitLabels: z.array(z.object({ phrase: z.string(), where: z.enum(['title', 'start', 'end']), start: z.number().int(), end: z.number().int(), lang: z.enum(['zh', 'en']) })),
    propagation: z.object({ AIGC: AigcEntry.required() }).nullable(),
  })
  .meta({
    id: 'Labelling',
    description:
      'The AI-content labelling decision (人工智能生成合成内容标识办法, GB 45438-2025). `notice` is what to show with the content; `propagation` is the `AIGC` entry to write back into its metadata (the producer fields as received, `ContentPropagator` = LABEL_PROPAGATOR, `PropagateID` = externalId). ' +
      '`confirmed`: the metadata carries an implicit label, e.g. `"metadata": {"AIGC": {"Label": "1", "ContentProducer": "gen-co", "ProduceID": "g-9"}}` -> notice 该内容为人工智能生成合成内容 / This content is AI-generated, propagation Label "1". ' +
      '`possible`: `"declaredAi": true` (basis `declared`), or an explicit label such as 本文由AI生成 or "Generated by AI" in the title or at the start or end of the text (basis `explicit_label`, found in `explicitLabels` with positions) -> 该内容可能为人工智能生成合成内容 / This content may be AI-generated, Label "2". ' +
      '`suspected`: no label, but the verdict is `flag` (basis `verdict`) -> 该内容疑似为人工智能生成合成内容 / This content is suspected to be AI-generated, Label "3". ' +
      '`none`: no label and no flag -> notice and propagation null. A label makes the article `ai_declared`, never `ai_undeclared`.',
    example: {
      decision: 'possible',
      basis: 'explicit_label',
      notice: { zh: '该内容可能为人工智能生成合成内容', en: 'This content may be AI-generated' },
      implicitLabel: null,
      explicitLabels: [{ phrase: '本文由AI生成', where: 'start', start: 0, end: 7, lang: 'zh' }],
      propagation: { AIGC: { Label: '2', ContentProducer: '', ProduceID: '', ReservedCode1: '', ContentPropagator: 'slopguard', PropagateID: 'post-1', ReservedCode2: '' } },
    },
  });
