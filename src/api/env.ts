import type { Logger } from 'pino';
import type { Principal } from '../services/keys.ts';

/** Per-request variables set by middleware. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    principal: Principal;
  };
}
