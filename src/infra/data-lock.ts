import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * An exclusive lock on the data folder of the embedded default (PGlite files and the private
 * redis-server's AOF): two owners of those files corrupt them. The lock is a file created
 * with O_EXCL naming its process; a lock whose process is gone (crash, SIGKILL, reboot) is
 * stale and taken over. The file also tells the CLI where the running service listens.
 *
 *   { "pid": 4242, "host": "box", "startedAt": "2026-11-27T13:00:00.000Z", "url": "http://127.0.0.1:8080" }
 */

export const LOCK_FILE = 'slopguard.lock';

const lockInfoSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  startedAt: z.string(),
  /** Linux: the process's start time in clock ticks since boot, so a reused pid is not mistaken for the holder. */
  procStart: z.string().optional(),
  /** Where the holder's HTTP API listens, once it does. */
  url: z.string().optional(),
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `the data folder ${dir} is in use by slopguard process ${holder.pid} on ${holder.host} (since ${holder.startedAt}` +
        `${holder.url ? `, serving ${holder.url}` : ''}).\n` +
        `Stop that process first, or give this one another DATA_DIR. A lock left by a process that is gone is taken over by itself.`,
    );
  }
}

export interface DataLock {
  readonly file: string;
  /** Records where the HTTP API listens (read by the CLI). */
  setUrl(url: string): void;
  release(): void;
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the parenthesised command name (which may hold spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    return lockInfoSchema.safeParse(JSON.parse(readFileSync(file, 'utf8'))).data;
  } catch {
    return undefined;
  }
}

/** True while the process that wrote `info` still runs (unknowable for another host: assumed so). */
export function isHolderAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true;
  try {
    process.kill(info.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = procStart(info.pid);
  return !(info.procStart && now && now !== info.procStart);
}

/** The live holder of `dir`'s lock, if any. */
export function currentHolder(dir: string): LockInfo | undefined {
  const info = readLock(path.join(dir, LOCK_FILE));
  return info && isHolderAlive(info) ? info : undefined;
}

/** Takes the lock on `dir` or throws DataDirLockedError naming the live holder. */
export function acquireDataLock(dir: string): DataLock {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const start = procStart(process.pid);
  if (start) info.procStart = start;
  const write = (value: LockInfo) => {
    // Written beside and renamed over, so a reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  };

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      return {
        file,
        setUrl(url) {
          if (!released) write({ ...info, url });
        },
        release() {
          if (released) return;
          released = true;
          // Only our own lock: never remove one a successor took over.
          if (readLock(file)?.pid === process.pid) unlinkSync(file);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLock(file);
    if (holder && isHolderAlive(holder)) throw new DataDirLockedError(dir, holder);
    if (!holder) {
      // Unreadable: a starter between create and write, or garbage left by a crash.
      const age = Date.now() - (statSafe(file) ?? 0);
      if (age < 2000) {
        sleepSync(100);
        continue;
      }
    }
    takeOver(file, holder);
  }
  const holder = readLock(file);
  if (holder) throw new DataDirLockedError(dir, holder);
  throw new Error(`could not take the lock ${file}; remove it if no slopguard process uses ${dir}`);
}

function statSafe(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Removes a stale lock under a short exclusive guard, so two processes taking over at once
 * cannot both remove a lock (the second would remove the first one's fresh lock).
 */
function takeOver(file: string, stale: LockInfo | undefined): void {
  const guard = `${file}.takeover`;
  try {
    closeSync(openSync(guard, 'wx'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process is taking over; a guard left by a crash expires.
    if (Date.now() - (statSafe(guard) ?? Date.now()) > 10_000) unlinkSafe(guard);
    sleepSync(100);
    return;
  }
  try {
    const now = readLock(file);
    if (now?.pid === stale?.pid && now?.startedAt === stale?.startedAt) unlinkSafe(file);
  } finally {
    unlinkSafe(guard);
  }
}

function unlinkSafe(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
