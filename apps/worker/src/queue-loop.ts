/**
 * The fetch loop of one queue (pg-boss `work()` sleeps a whole polling interval after every fetch;
 * this one does not): claim (store `claim.ts`) as many jobs as there are free slots, claim again at
 * once while jobs keep coming, and sleep only when the queue came back empty — until a NOTIFY for
 * the queue, a freed slot, or the polling backstop. Slots reserved for critical tasks are claimed with
 * `minPriority = critical`, so lower work never takes them. A replica draining several shards runs
 * one loop per queue per shard, each kept to its shard's fair share of the slots (fair-share.ts).
 */
import { PRIORITIES } from '@taskfleet/core';
import { coerceError } from './errors.ts';
import type { WorkerEvents } from './events.ts';
import type { ShareLane } from './fair-share.ts';
import type { Room, Slots } from './slots.ts';
import type { ClaimedJob, ClaimResult } from '@taskfleet/core';

/** Claim up to `limit` ready jobs of a queue (only those at or above `minPriority` when given). */
export type Claim = (queue: string, limit: number, minPriority?: number) => Promise<ClaimResult>;

export interface QueueLoopDeps {
  queue: string;
  claim: Claim;
  slots: Slots;
  events: WorkerEvents;
  fetchBatch: number;
  pollIntervalMs: number;
  /** Hand a claimed job to its owner, which counts its slot before returning (job-owner.ts). */
  take: (job: ClaimedJob) => void;
  /** The shard this loop claims from (on its events; set when the replica drains several). */
  shard?: number;
  /** This shard's fair share of the slots (only when the replica drains several shards). */
  share?: ShareLane;
  /** Whether the queue has ready jobs, claiming none (asked at a polling tick without room, with `share`). */
  probe?: (queue: string) => Promise<boolean>;
}

export class QueueLoop {
  readonly #d: QueueLoopDeps;
  #stopped = false;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;
  #errors = 0;
  #woken = false;
  /**
   * Whether a claim limited to critical jobs (only reserved slots free) may find something: after a
   * NOTIFY or a polling timeout, yes; after a slot release alone, not if the last one found nothing
   * (measured: without this, every settled batch cost two empty claims).
   */
  #lookCritical = true;
  /** NOTIFYs (and stops) seen: one arriving while a claim is in flight must not be lost to its result. */
  #notified = 0;
  #unsubscribe: (() => void) | undefined;
  /** Until when the queue's rate limit holds claims back (performance.now() ms); a NOTIFY clears it. */
  #throttledUntil = 0;
  /** When this loop last claimed or looked at its queue (performance.now() ms). */
  #lookedAt = 0;

  constructor(deps: QueueLoopDeps) {
    this.#d = deps;
  }

  start(): void {
    if (!this.#unsubscribe) {
      const offSlots = this.#d.slots.onRelease(() => this.#nudge());
      const offShare = this.#d.share?.onChange(() => this.#nudge());
      this.#unsubscribe = () => {
        offSlots();
        offShare?.();
      };
    }
    this.#done ??= this.#run();
  }

  /**
   * A NOTIFY arrived or a slot freed: stop sleeping. Remembered if the loop is not asleep yet
   * (between a fetch and its sleep), so a wake-up is never lost to that race.
   */
  wake(): void {
    this.#throttledUntil = 0; // a NOTIFY may be a settings change (resume, a higher rate)
    this.#lookCritical = true;
    this.#notified++;
    if (!this.#stopped) this.#d.share?.unknown(this.#d.queue); // work may have arrived: this shard asks for its share
    this.#nudge();
  }

  /** A slot freed: look at the room again. */
  #nudge(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * How many successors a settle statement may claim for the `freed` non-critical slots its batch
   * releases: all of them while the loop runs (the batch's slots are handed over one for one, so
   * nothing else may count on them), none once stopping.
   */
  refillLimit(freed: number): number {
    if (this.#stopped) return 0;
    const limit = Math.min(freed, this.#d.fetchBatch);
    // Over its fair share (other shards wait): refill fewer, so the freed slots go to them.
    const headroom = this.#d.share?.headroom();
    return headroom === undefined ? limit : Math.max(0, Math.min(limit, headroom + freed));
  }

  /** Take slots for jobs claimed on this queue's behalf (by a settle statement, asked for `asked`) and run them. */
  accept(jobs: ClaimedJob[], asked = jobs.length): void {
    for (const job of jobs) this.#d.take(job);
    this.#d.share?.observe(this.#d.queue, asked, jobs.length);
  }

  /** Stop claiming; resolves when the loop has exited (running jobs are not waited for). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#done;
    this.#unsubscribe?.();
  }

  /** The room this queue has now: the slots', within this shard's fair share. */
  #room(): Room {
    const room = this.#d.slots.room(this.#d.queue);
    const share = this.#d.share?.room();
    if (share === undefined) return room;
    return { any: Math.min(room.any, share), nonCritical: Math.min(room.nonCritical, share) };
  }

  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopped) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#woken = false;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#lookCritical = true; // the polling backstop looks for everything
        done();
      }, ms);
      this.#wake = done;
    });
  }

  /**
   * Claim up to `batchSize` jobs and hand them over; undefined after an error (logged as an event,
   * backed off). The claim counts in this shard's share while in flight.
   */
  async #claim(batchSize: number, criticalOnly: boolean): Promise<{ jobs: ClaimedJob[]; throttle: ClaimResult['throttle'] } | undefined> {
    const { queue, share } = this.#d;
    const notified = this.#notified;
    this.#lookedAt = performance.now();
    share?.claiming(batchSize);
    let result: ClaimResult;
    try {
      result = await this.#d.claim(queue, batchSize, criticalOnly ? PRIORITIES.critical : undefined);
      this.#errors = 0;
    } catch (err) {
      share?.done(batchSize);
      share?.failed(queue);
      // Database (shard) down or overloaded: back off (up to 5 s) and try again; never exit.
      this.#errors++;
      this.#lookCritical = true;
      this.#d.events.emit('fetch:error', {
        queue,
        error: coerceError(err),
        ...(this.#d.shard === undefined ? {} : { shard: this.#d.shard }),
      });
      await this.#sleep(Math.min(5000, 100 * 2 ** Math.min(this.#errors, 6)));
      return undefined;
    }
    for (const job of result.claimed) this.#d.take(job);
    share?.done(batchSize);
    // A critical-only claim says nothing about the lower work waiting, nor one that a NOTIFY overtook.
    if (!criticalOnly && this.#notified === notified) share?.observe(queue, batchSize, result.claimed.length);
    return { jobs: result.claimed, throttle: result.throttle };
  }

  /**
   * No room to claim for a polling interval: with several shards, look whether the queue has ready
   * jobs (so this shard asks for its fair share, or gives it up). A NOTIFY during the look wins.
   */
  async #probe(): Promise<void> {
    const { probe, share, queue } = this.#d;
    this.#lookedAt = performance.now();
    if (!probe || !share || this.#stopped) return;
    const notified = this.#notified;
    try {
      const ready = await probe(queue);
      if (this.#notified === notified) share.probed(queue, ready);
    } catch {
      share.failed(queue); // the shard is down: its claims will say so (fetch:error) when there is room
    }
  }

  async #run(): Promise<void> {
    const { slots } = this.#d;
    // While a backlog keeps batches full, wait for a quarter of the slots (or a few ms) before the
    // next fetch: one slot freeing must not turn into one fetch per job (profiled: the batches
    // fragmented to ~40 rows and the fetch statement dominated).
    const lowWater = Math.max(1, Math.min(this.#d.fetchBatch, Math.floor(slots.total / 4)));
    // At most half the slots per fetch: batches then settle out of phase, and the next fetch runs
    // while the previous batch is still being settled instead of after it (pipelining).
    const maxBatch = Math.max(1, Math.min(this.#d.fetchBatch, Math.ceil((slots.total - slots.reserved) / 2)));
    let lastFull = false;
    while (!this.#stopped) {
      // Let every completion of the same settle batch release its slot before looking.
      await new Promise((r) => setImmediate(r));
      const held = this.#throttledUntil - performance.now();
      if (held > 0) {
        await this.#sleep(Math.min(held, this.#d.pollIntervalMs)); // a freed slot wakes this; it looks again
        continue;
      }
      this.#woken = false; // what happened up to now is seen by the room check below
      let room = this.#room();
      if (lastFull && room.nonCritical > 0 && room.nonCritical < lowWater) {
        const until = performance.now() + 5;
        while (room.nonCritical < lowWater && performance.now() < until && !this.#stopped) {
          await this.#sleep(Math.max(1, until - performance.now()));
          room = this.#room();
        }
      }
      if (room.any <= 0) {
        // Several shards: once a polling interval, look whether this queue needs its shard's share.
        if (this.#d.share && performance.now() - this.#lookedAt >= this.#d.pollIntervalMs) await this.#probe();
        else await this.#sleep(this.#d.pollIntervalMs);
        continue;
      }
      const criticalOnly = room.nonCritical <= 0;
      if (criticalOnly && !this.#lookCritical) {
        await this.#sleep(this.#d.pollIntervalMs);
        continue;
      }
      this.#lookCritical = false;
      const notifiedBefore = this.#notified;
      const batchSize = Math.min(maxBatch, criticalOnly ? room.any : room.nonCritical);
      const claimed = await this.#claim(batchSize, criticalOnly);
      if (!claimed) continue;
      const { jobs, throttle } = claimed;
      // Jobs claimed while a stop began still run: the drain waits for them like for the others.
      lastFull = jobs.length === batchSize;
      // A full batch: more may be waiting; a NOTIFY during the claim: a new job may have missed it.
      this.#lookCritical = lastFull || this.#notified !== notifiedBefore;
      if (throttle?.retryAfterMs != null) {
        // The queue's rate limit: look again when it lets the next start through.
        this.#throttledUntil = performance.now() + throttle.retryAfterMs + 1;
        continue;
      }
      if (jobs.length === 0 || throttle) await this.#sleep(this.#d.pollIntervalMs);
    }
  }
}
