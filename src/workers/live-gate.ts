import type { Worker } from 'bullmq';

/**
 * Rescoring (and re-evaluation) competes with live jobs of this process for the same CPU (and detector batches; a
 * forward pass holds the event loop). A rescored article does not enter the pipeline while a
 * live job is in flight, and while live traffic was seen in the last `quietMs` at most one
 * rescored article is in the pipeline at a time: live latency stays close to what it is
 * without a rescan, and the rescan takes what the live traffic leaves.
 */
export function liveGate(live: Worker | undefined, quietMs = 1000) {
  let liveInFlight = 0;
  let lastLiveAt = 0;
  let rescoring = 0;
  if (live) {
    live.on('active', () => {
      liveInFlight++;
      lastLiveAt = Date.now();
    });
    const settled = () => {
      liveInFlight = Math.max(0, liveInFlight - 1);
      lastLiveAt = Date.now();
    };
    live.on('completed', settled);
    live.on('failed', settled);
  }
  return {
    /** Waits for a turn (at most `maxWaitMs`, so a rescan never stops); answers the turn's end. */
    async admit(maxWaitMs: number): Promise<() => void> {
      const deadline = Date.now() + maxWaitMs;
      const busy = () => liveInFlight > 0 || (Date.now() - lastLiveAt < quietMs && rescoring >= 1);
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      rescoring++;
      return () => {
        rescoring--;
      };
    },
  };
}
