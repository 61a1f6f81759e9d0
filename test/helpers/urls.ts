/**
 * Where the suite finds PostgreSQL and Redis: TEST_DATABASE_URL / TEST_REDIS_URL, which
 * test/global-setup.ts points at private servers when the usual local ones do not answer.
 * Every helper reads them here, so no test hard-codes a port.
 */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? DEFAULT_TEST_REDIS_URL;

/**
 * A local Redis Cluster (3 masters, 3 replicas on 7100..7105, started by .ci/redis-cluster
 * from test/global-setup.ts) for the tests that run on a cluster as well.
 */
export const DEFAULT_TEST_REDIS_CLUSTER_URL = 'redis-cluster://127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102';
export const TEST_REDIS_CLUSTER_URL = process.env.TEST_REDIS_CLUSTER_URL ?? DEFAULT_TEST_REDIS_CLUSTER_URL;
