import type { Logger } from 'pino';
import type { Db } from '../db/db.ts';
import { type JobQueue, type JOBS, scoreJobId } from '../jobs/catalog.ts';
import { markFailed, touchArticle, unfinishedArticles } from '../store/articles.ts';
import type { ArticleService } from './articles.ts';

/**
 * Keeps the 202 promise: finds accepted articles that are not finished and whose job is not
 * in the queue (Redis lost it, or the API died between commit and enqueue) and queues them
 * again with the same deterministic job id. A job that BullMQ gave up on marks the row failed.
 */
export class Reconciler {
  constructor(
    private readonly db: Db,
    /** Where an article's score job may be: live (`score`) or imported (`rescore`). */
    private readonly jobs: { live: JobQueue<typeof JOBS.score>; imported: JobQueue<typeof JOBS.importScore> },
    private readonly articles: ArticleService,
    private readonly olderThanMs: number,
    private readonly log: Logger,
  ) {}

  /** One pass; returns how many articles were queued again. */
  async runOnce(limit = 1000): Promise<number> {
    const rows = await unfinishedArticles(this.db, this.olderThanMs, limit);
    const missing = new Map<string, { id: string; revision: number }[]>();
    for (const row of rows) {
      const jobId = scoreJobId({ articleId: row.id, revision: row.revision });
      const job = (await this.jobs.live.queue.getJob(jobId)) ?? (await this.jobs.imported.queue.getJob(jobId));
      if (job) {
        const state = await job.getState();
        if (state === 'failed') {
          await markFailed(this.db, row.id, row.revision, (job.failedReason ?? 'failed').slice(0, 1000));
        } else if (state === 'completed') {
          // Completed while the row says otherwise (superseded or written elsewhere): rescore.
          await job.remove();
          missing.set(row.tenantId, [...(missing.get(row.tenantId) ?? []), row]);
        } else {
          // Waiting or active: touch the row so the scan moves on to older ones.
          await touchArticle(this.db, row.id, row.revision);
        }
        continue;
      }
      missing.set(row.tenantId, [...(missing.get(row.tenantId) ?? []), row]);
    }
    let queued = 0;
    for (const [tenantId, items] of missing) {
      await this.articles.enqueue(tenantId, items, 'reconcile');
      queued += items.length;
    }
    if (queued > 0) this.log.info({ queued }, 'reconciler queued accepted articles that had no job');
    return queued;
  }
}
