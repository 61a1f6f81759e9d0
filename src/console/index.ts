import type { AppContext } from '../context.ts';
import type { QueueAdmin } from '../services/queue-admin.ts';
import type { ConsoleDeps } from './routes.ts';
import { SessionStore } from './sessions.ts';

export { consoleRoutes, type ConsoleDeps } from './routes.ts';

/** The console's dependencies from the composition root. */
export function consoleDeps(ctx: AppContext, queueAdmin: QueueAdmin): ConsoleDeps {
  return {
    review: ctx.review,
    keys: ctx.keys,
    sessions: new SessionStore(ctx.redis, ctx.db, ctx.config.redisPrefix, ctx.config.console.sessionTtlSeconds),
    webhooks: ctx.webhooks,
    queueAdmin,
    cookieSecure: ctx.config.console.cookieSecure,
    sessionTtlSeconds: ctx.config.console.sessionTtlSeconds,
    operatorTenant: ctx.config.bootstrapTenant,
    commentReview: ctx.commentReview,
    log: ctx.log,
  };
}
