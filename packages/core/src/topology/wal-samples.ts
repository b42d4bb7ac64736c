/**
 * A replica's lag from the primary's WAL positions sampled by the read router's probe (the
 * definition is in replicas.ts): only this process's clock is read, never a server's.
 */

/** The primary's WAL positions over the last while, oldest first. */
export class WalSamples {
  readonly #samples: { lsn: bigint; at: number }[] = [];
  readonly #keepMs: number;

  constructor(keepMs: number) {
    this.#keepMs = keepMs;
  }

  add(lsn: bigint, at: number): void {
    this.#samples.push({ lsn, at });
    while (this.#samples.length > 1 && (this.#samples[0] as { at: number }).at < at - this.#keepMs) this.#samples.shift();
  }

  get size(): number {
    return this.#samples.length;
  }

  /** Seconds a replica that replayed up to `replay` is behind (definition: replicas.ts); null: no sample yet. */
  lag(replay: bigint, now: number): number | null {
    const latest = this.#samples.at(-1);
    if (!latest) return null;
    if (replay >= latest.lsn) return 0;
    for (let i = this.#samples.length - 2; i >= 0; i--) {
      const s = this.#samples[i] as { lsn: bigint; at: number };
      if (replay >= s.lsn) return Math.max(0, (now - s.at) / 1000);
    }
    return Math.max(0, (now - (this.#samples[0] as { at: number }).at) / 1000);
  }
}
