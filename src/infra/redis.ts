/**
 * The one place that makes Redis clients, for one server or a Redis Cluster (see
 * `RedisTarget` in config.ts), and the helpers that let the same code run on both:
 *  - `queuePrefix`: BullMQ keys of one queue must share a slot, so on a cluster each queue's
 *    prefix is its own hash tag (`{sg:score}`), which also spreads the queues over the masters;
 *  - `execPerNode`: commands on keys of many slots, sent as one pipeline per node (one
 *    pipeline on a single server), because an ioredis Cluster pipeline must stay on one node.
 */
import { Cluster, Redis, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config, RedisTarget } from '../config.ts';

export type RedisClient = Redis | Cluster;

/**
 * `producer`: fails fast (one retry, no offline queue, a command timeout) so the API answers
 * 503 while Redis is down and the signals of a node that hangs degrade instead of stalling a
 * job; `worker`: a BullMQ worker's own connection (blocking commands, retries forever, as
 * BullMQ requires).
 */
export type RedisRole = 'producer' | 'worker';

/** A producer's command that has no answer after this long fails (see `RedisRole`). */
export const PRODUCER_COMMAND_TIMEOUT_MS = 5000;

const reconnect = (times: number) => Math.min(times * 200, 2000);

export function createRedisClient(target: RedisTarget, role: RedisRole): RedisClient {
  // The timeout outlasts a cluster failover's redirections (a replica takes over in seconds),
  // so only a node that hangs longer makes a command fail.
  const perRequest: Pick<RedisOptions, 'maxRetriesPerRequest' | 'connectTimeout' | 'commandTimeout'> =
    role === 'producer' ? { maxRetriesPerRequest: 1, connectTimeout: 3000, commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS } : { maxRetriesPerRequest: null };
  let client: RedisClient;
  if (target.kind === 'single') {
    client = new Redis(target.url, {
      lazyConnect: true,
      ...perRequest,
      ...(role === 'producer' ? { enableOfflineQueue: false, retryStrategy: reconnect } : {}),
    });
  } else {
    const options: ClusterOptions = {
      lazyConnect: true,
      // Writes and the reads that decide them go to masters: a replica may lag.
      scaleReads: 'master',
      // During a failover the slots of the failed master answer CLUSTERDOWN or move: retry
      // (bounded by maxRedirections) until the replica has taken over.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 100,
      maxRedirections: 32,
      clusterRetryStrategy: reconnect,
      slotsRefreshTimeout: 2000,
      enableOfflineQueue: role === 'worker',
      redisOptions: {
        ...perRequest,
        ...(target.username ? { username: target.username } : {}),
        ...(target.password ? { password: target.password } : {}),
        ...(target.tls ? { tls: {} } : {}),
      },
    };
    client = new Cluster(target.nodes, options);
  }
  // Errors surface on the commands; the client reconnects in the background.
  client.on('error', () => undefined);
  return client;
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/** BullMQ's prefix for one queue: the service prefix, hash-tagged per queue on a cluster. */
export function queuePrefix(config: Pick<Config, 'redisPrefix' | 'redisTarget'>, queue: string): string {
  return config.redisTarget?.kind === 'cluster' ? `{${config.redisPrefix}:${queue}}` : config.redisPrefix;
}

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[i] = c;
  }
  return table;
})();

/** The cluster slot of a key (CRC16/XMODEM of its hash tag or whole name, mod 16384), as Redis computes it. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  let part = key;
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) part = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(part, 'utf8')) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc & 0x3fff;
}

/**
 * The slot table is empty until a cluster client first connects: connects a lazy one and
 * waits (bounded) for it. Commands grouped without it fail, and their callers degrade.
 */
function slotsLoaded(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      cluster.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, 5000);
    cluster.once('ready', done);
    if (cluster.status === 'wait') cluster.connect().catch(() => undefined);
    else if (cluster.status === 'ready') done();
  });
}

/** One command on one key: `add` puts exactly one command on the pipeline it is given. */
export interface KeyedCommand {
  key: string;
  add(pipeline: ChainableCommander): void;
}

/** A reply as ioredis pipelines give it: [error, value]. */
export type CommandReply = [Error | null, unknown];

/**
 * Sends commands on keys of any slots: one pipeline per cluster node, all in flight together
 * (one pipeline on a single server). Replies come back in the order of `commands`; a node
 * that fails answers its own commands with the error and the other nodes' replies stand, so
 * callers can degrade part of their work. Not a transaction: each command is atomic alone.
 */
export async function execPerNode(redis: RedisClient, commands: readonly KeyedCommand[]): Promise<CommandReply[]> {
  if (commands.length === 0) return [];
  const groups = new Map<string, number[]>();
  if (isCluster(redis)) {
    if (redis.slots.length === 0) await slotsLoaded(redis);
    commands.forEach((c, i) => {
      // ioredis accepts a pipeline whose slots share one list of serving nodes.
      const nodes = redis.slots[keySlot(c.key)]?.join(';') ?? '?';
      const group = groups.get(nodes);
      if (group) group.push(i);
      else groups.set(nodes, [i]);
    });
  } else {
    groups.set(
      '',
      commands.map((_, i) => i),
    );
  }
  const replies: CommandReply[] = new Array(commands.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) (commands[i] as KeyedCommand).add(pipeline);
      let results: CommandReply[] | null;
      try {
        results = (await pipeline.exec()) as CommandReply[] | null;
      } catch (error) {
        results = null;
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const i of indexes) replies[i] = [failure, null];
        return;
      }
      indexes.forEach((i, k) => {
        replies[i] = results?.[k] ?? [new Error('redis pipeline aborted'), null];
      });
    }),
  );
  return replies;
}

/** The value of a reply, throwing its error. */
export function replyValue(reply: CommandReply | undefined): unknown {
  if (!reply) throw new Error('missing pipeline reply');
  if (reply[0]) throw reply[0];
  return reply[1];
}

/** Every reply's value, throwing the first error (for callers that need all of them). */
export function replyValues(replies: readonly CommandReply[]): unknown[] {
  return replies.map((r) => replyValue(r));
}

/** Every master of a cluster, or the one server: where SCAN must run to see every key. */
export function scanTargets(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}
