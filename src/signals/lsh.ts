/**
 * The LSH index shared by the article near-duplicate index (account-signals.ts) and the comment
 * template index (comment-templates.ts): band buckets kept in hash shards, each shard one Redis
 * hash per generation whose keys share a hash tag, so one shard's lookup-and-insert is one
 * script on one slot (atomic on a Redis Cluster too) while a tenant's shards spread over every
 * master. A bucket is a hash field `<band><bucket>` holding the concatenated fixed-width hashes
 * of its members, oldest first, capped at the newest `maxBucket`.
 *
 * Guarantee (per shard script): of two items sharing a band bucket in the same generation, the
 * one whose script runs later reads the other's hash, whatever the interleaving; an item is
 * never listed twice in a bucket. Reads of several shards are not one snapshot.
 */
import type { ClientContext, Result } from 'ioredis';
import type { CommandReply, KeyedCommand, RedisClient } from '../infra/redis.ts';
import { bandHashes } from './minhash.ts';

/**
 * One LSH shard across the given generations: returns the given bucket fields' values in
 * every key and, when asked, appends the item's hash to each bucket of the last key (the
 * item's own generation) that lacks it, keeping the newest `maxBucket`.
 * KEYS: the shard's hash per generation, oldest first. ARGV: hash, insert (1/0), lookup (1/0:
 * return the values as they were before the insert), maxBucket, ttlMs, fields...
 */
const BUCKET_SCRIPT = `
local h = ARGV[1]
local ins = ARGV[2] == '1'
local lookup = ARGV[3] == '1'
local maxb = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local W = #h
local out = {}
for k = 1, #KEYS do
  local key = KEYS[k]
  local target = ins and k == #KEYS
  local added = false
  if lookup or target then
    for i = 6, #ARGV do
      local f = ARGV[i]
      local v = redis.call('HGET', key, f) or ''
      if lookup then out[#out + 1] = v end
      if target then
        local present = false
        for j = 1, #v, W do
          if string.sub(v, j, j + W - 1) == h then present = true; break end
        end
        if not present then
          local nv = v .. h
          if #nv > maxb * W then nv = string.sub(nv, #nv - maxb * W + 1) end
          redis.call('HSET', key, f, nv)
          added = true
        end
      end
    end
  end
  if added then redis.call('PEXPIRE', key, ttl) end
end
return out
`;

/** Defines the `lshBucket` script command on a client once. */
export function defineLshBucket(redis: RedisClient): void {
  if (!redis.lshBucket) redis.defineCommand('lshBucket', { lua: BUCKET_SCRIPT });
}

/** Bucket field and shard of each band of a signature. */
export interface BandBucket {
  band: number;
  bucket: number;
  field: string;
  shard: number;
}

export function bandBuckets(sig: Uint32Array, bands: number, shards: number): BandBucket[] {
  const hashes = bandHashes(sig, bands);
  const out: BandBucket[] = [];
  for (let band = 0; band < bands; band++) {
    const bucket = hashes[band] as number;
    out.push({ band, bucket, field: band.toString(36).padStart(2, '0') + bucket.toString(36), shard: bucket % shards });
  }
  return out;
}

export interface LshCall {
  /** The item's hash (fixed width within one index). */
  hash: string;
  buckets: readonly BandBucket[];
  /** The keys of one shard, oldest generation first; the item is inserted into the last. */
  shardKeys(shard: number): string[];
  insert: boolean;
  lookup: boolean;
  maxBucket: number;
  ttlMs: number;
}

/** A shard's command and the bands it answers for, in the order of its reply (per key). */
export interface LshShardCommand extends KeyedCommand {
  bands: number[];
  keyCount: number;
}

/** One `lshBucket` command per shard the item's bands fall in (bands of one shard share it). */
export function lshCommands(call: LshCall): LshShardCommand[] {
  const byShard = new Map<number, BandBucket[]>();
  for (const b of call.buckets) {
    const list = byShard.get(b.shard);
    if (list) list.push(b);
    else byShard.set(b.shard, [b]);
  }
  return [...byShard].map(([shard, list]) => {
    const keys = call.shardKeys(shard);
    const fields = list.map((b) => b.field);
    return {
      key: keys[0] as string,
      bands: list.map((b) => b.band),
      keyCount: keys.length,
      add: (p) => p.lshBucket(keys.length, ...keys, call.hash, call.insert ? 1 : 0, call.lookup ? 1 : 0, call.maxBucket, call.ttlMs, ...fields),
    };
  });
}

/** Splits a bucket value into its members' hashes, oldest first. */
export function bucketMembers(value: string | null | undefined, width: number): string[] {
  const out: string[] = [];
  if (!value) return out;
  for (let i = 0; i + width <= value.length; i += width) out.push(value.slice(i, i + width));
  return out;
}

/**
 * Candidate hashes from `lshBucket` replies (errors skipped: a partial index still verifies
 * what it finds), most band hits first (ties by hash), at most `max`, the item itself left out.
 */
export function rankCandidates(own: string, width: number, replies: readonly CommandReply[], max: number): string[] {
  const hits = new Map<string, number>();
  for (const [error, value] of replies) {
    if (error) continue;
    for (const bucket of (value ?? []) as (string | null)[]) {
      for (const c of bucketMembers(bucket, width)) if (c !== own) hits.set(c, (hits.get(c) ?? 0) + 1);
    }
  }
  return [...hits]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, max)
    .map(([c]) => c);
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    lshBucket(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Result<string[], Context>;
  }
}
