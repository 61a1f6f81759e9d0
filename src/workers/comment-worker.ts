import { JOBS } from '../jobs/catalog.ts';
import type { CommentScoringService } from '../services/comment-scoring.ts';
import type { CommentService } from '../services/comments.ts';
import { defineWorker, handle, type RunningWorker, type WorkerHost } from './define-worker.ts';

/**
 * The `comment` queue's consumer: a comment's scoring and the re-evaluation of a template's
 * earlier members, one concurrency for both. After the last attempt the comment is marked
 * failed; while the database is down a job waits without spending an attempt. With `comments`,
 * accepted comments whose job never reached Redis are queued again every RECONCILE_INTERVAL_MS.
 */
export function startCommentWorker(host: WorkerHost, scoring: CommentScoringService, options: { concurrency: number; comments?: CommentService }): RunningWorker {
  const { log, config } = host;
  const markFailed = (data: Parameters<CommentScoringService['markFailed']>[0], error: Error) => scoring.markFailed(data, error.message);
  const running = defineWorker(host, [handle(JOBS.comment, (data) => scoring.score(data), markFailed), handle(JOBS.commentReevaluate, (data) => scoring.score(data))], {
    concurrency: options.concurrency,
    lockMs: config.scoring.lockMs,
    maxStalledCount: 2,
    timed: true,
    waitOutDatabaseMs: config.scoring.backoffMs * 5,
  });
  let timer: NodeJS.Timeout | undefined;
  const { comments } = options;
  if (comments) {
    const tick = () => {
      comments
        .requeueUnfinished(config.scoring.reconcileAfterMs)
        .catch((error: unknown) => log.warn({ err: error }, 'comment reconciler pass failed'))
        .finally(() => {
          timer = setTimeout(tick, config.scoring.reconcileIntervalMs);
          timer.unref();
        });
    };
    timer = setTimeout(tick, config.scoring.reconcileIntervalMs);
    timer.unref();
  }
  return {
    worker: running.worker,
    async close(timeoutMs: number) {
      clearTimeout(timer);
      await running.close(timeoutMs);
    },
  };
}
