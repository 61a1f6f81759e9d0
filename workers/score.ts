// The score worker as its own process (`npm run start:worker`; needs DATABASE_URL and REDIS_URL).
import { runService } from '../src/main.ts';

runService('worker');
