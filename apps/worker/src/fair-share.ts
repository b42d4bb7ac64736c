/**
 * Fair sharing of one replica's slots between the shards it drains (only made when there are two
 * or more; a one-shard replica never consults it).
 *
 * Every shard has its own queue loops and settler, but all of them take their jobs' slots from the
 * same {@link Slots}. Without a rule, the shard that filled the slots first would keep them: its
 * settle statements claim successors for the slots their batches free (settler.ts), so its slots
 * pass from job to job of the same shard and another shard's loop never sees one free.
 *
 * The rule, per shard s (computed on demand, nothing scheduled):
 * - s is *waiting* while one of its queues may have work it cannot start: its last claim came back
 *   full, nothing is known yet (start, a NOTIFY), or — for a loop that had no room to claim at its
 *   polling tick — a look at the queue (`hasReadyJobs`, claims nothing) found ready jobs; a claim
 *   that comes back short, or a look that finds none, says the queue is drained (or throttled).
 * - share = floor(total / waiting shards).
 * - cap(s) = total − Σ over the other shards o of reserve(o), where reserve(o) is
 *   max(held(o), share) when o is waiting, held(o) when it is not.
 * - s may claim cap(s) − held(s) more (the queue loop) and refill at most that many plus the slots
 *   its settling batch frees (the settler).
 * So k shards with backlog converge to about total/k each (a shard over its share refills less as
 * its jobs finish, and the freed slots go to the others' loops); a shard with no backlog reserves
 * nothing, and the busy ones use every slot it does not hold (work-conserving: an idle shard never
 * caps a busy one). `held` counts jobs taken and not yet released plus the loop claims in flight,
 * so two shards' loops claiming at the same moment never claim more than the slots together.
 */

type Backlog = 'unknown' | 'backlog' | 'empty';

interface LaneState {
  held: () => number;
  claiming: number;
  queues: Map<string, Backlog>;
}

export class FairShare {
  readonly total: number;
  readonly #lanes = new Map<number, LaneState>();
  readonly #listeners = new Set<() => void>();

  constructor(total: number) {
    this.total = total;
  }

  /** Register a shard's lane: its queues (all unknown at first) and how many jobs it holds. */
  lane(shard: number, queues: string[], held: () => number): ShareLane {
    const state: LaneState = { held, claiming: 0, queues: new Map(queues.map((q) => [q, 'unknown'])) };
    this.#lanes.set(shard, state);
    return new ShareLane(this, shard, state);
  }

  /** Call `wake` whenever a shard stops waiting (its reserve is given back to the others). */
  onChange(wake: () => void): () => void {
    this.#listeners.add(wake);
    return () => this.#listeners.delete(wake);
  }

  /** How many more jobs `shard` may take now; negative: how many it holds over its cap. */
  headroom(shard: number): number {
    const own = this.#lanes.get(shard);
    if (!own) return this.total;
    const lanes = [...this.#lanes.values()];
    const waiting = lanes.filter(isWaiting).length;
    const share = Math.floor(this.total / Math.max(1, waiting));
    let cap = this.total;
    for (const lane of lanes) {
      if (lane === own) continue;
      const held = heldOf(lane);
      cap -= isWaiting(lane) ? Math.max(held, share) : held;
    }
    return cap - heldOf(own);
  }

  /** @internal */
  set(state: LaneState, queue: string, backlog: Backlog): void {
    const wasWaiting = isWaiting(state);
    state.queues.set(queue, backlog);
    if (wasWaiting && !isWaiting(state)) for (const wake of this.#listeners) wake();
  }
}

const heldOf = (lane: LaneState): number => lane.held() + lane.claiming;
const isWaiting = (lane: LaneState): boolean => {
  for (const b of lane.queues.values()) if (b !== 'empty') return true;
  return false;
};

/** One shard's side of the fair share (given to its queue loops and its settler's refill). */
export class ShareLane {
  readonly #share: FairShare;
  readonly #shard: number;
  readonly #state: LaneState;

  constructor(share: FairShare, shard: number, state: LaneState) {
    this.#share = share;
    this.#shard = shard;
    this.#state = state;
  }

  /** How many more jobs this shard may take now. */
  room(): number {
    return Math.max(0, this.#share.headroom(this.#shard));
  }

  /** The same, negative when the shard holds more than its cap (it then refills fewer than it frees). */
  headroom(): number {
    return this.#share.headroom(this.#shard);
  }

  /** A loop claim of up to `n` jobs starts: count them as held until {@link done}. */
  claiming(n: number): void {
    this.#state.claiming += n;
  }

  /** The loop claim of `n` ended (its jobs, if any, are held by their owner now). */
  done(n: number): void {
    this.#state.claiming -= n;
  }

  /** A claim of `queue` asked for `asked` jobs and got `got`: full means backlog, short means drained. */
  observe(queue: string, asked: number, got: number): void {
    if (asked > 0) this.#share.set(this.#state, queue, got >= asked ? 'backlog' : 'empty');
  }

  /**
   * The claim failed (the shard is down or overloaded): nothing was taken, and the shard reserves
   * no share while its loop backs off; a polling tick without room marks it unknown again.
   */
  failed(queue: string): void {
    this.#share.set(this.#state, queue, 'empty');
  }

  /** Work may have arrived (a NOTIFY). */
  unknown(queue: string): void {
    this.#share.set(this.#state, queue, 'unknown');
  }

  /** A loop without room looked whether its queue has ready jobs (store `hasReadyJobs`). */
  probed(queue: string, ready: boolean): void {
    this.#share.set(this.#state, queue, ready ? 'backlog' : 'empty');
  }

  onChange(wake: () => void): () => void {
    return this.#share.onChange(wake);
  }
}
