/**
 * A limit on work in flight with two kinds of waiting: {@link Slots.take}
 * for the work itself (first come, first served), and {@link Slots.reserve}
 * for deciding to start more work, which waits until a slot is free that no
 * `take` is waiting for, then holds it for the next `take`.
 *
 * A run holds its sets' requests to `UPLOAD_CONCURRENCY` with it, and a
 * set's first request waits for a slot no set under way waits for
 * ({@link Slots.takeFirst}): so sets whose records are being written leave
 * their turn to the next set, and a new set never queues in front of a set
 * already under way.
 *
 * @module
 */

/** A slot held: dispose of it to give it back (again: no effect). */
export type Held = Disposable;

/** See the module doc. */
export class Slots {
  /** Slots neither in use nor reserved. */
  #free: number;
  /** Reservations not yet taken up, oldest first. */
  #reserved: { used: boolean }[] = [];
  #takers: (() => void)[] = [];
  #reservers: ((go: boolean) => void)[] = [];
  #closed = false;

  /** `limit` slots (`Infinity`: nothing ever waits). */
  constructor(limit: number) {
    this.#free = limit;
  }

  /**
   * Wait for a slot, taking up a reservation if one is held (the work a
   * reservation was made for, or any other: a slot is a slot).
   *
   * @example
   * ```ts
   * const slots = new Slots(2);
   * {
   *   using _slot = await slots.take();
   *   // at most two callers are here at once
   * }
   * ```
   */
  async take(): Promise<Held> {
    const reservation = this.#reserved.shift();
    if (reservation) reservation.used = true;
    else if (this.#free > 0) this.#free--;
    else await new Promise<void>((turn) => this.#takers.push(turn));
    return this.#holding();
  }

  /**
   * Wait until a slot is free and no {@link take} waits, and reserve it for
   * the next `take`. Dispose of the reservation once the work it was made
   * for has taken its slot or given up: an unused reservation is given back.
   * Resolves undefined once {@link close}d: start nothing more.
   */
  async reserve(): Promise<Held | undefined> {
    if (this.#closed) return undefined;
    if (this.#free > 0 && this.#takers.length === 0) this.#free--;
    else if (!await new Promise<boolean>((go) => this.#reservers.push(go))) {
      return undefined;
    }
    const reservation = { used: false };
    this.#reserved.push(reservation);
    return {
      [Symbol.dispose]: () => {
        if (reservation.used) return;
        reservation.used = true;
        this.#reserved.splice(this.#reserved.indexOf(reservation), 1);
        this.#give();
      },
    };
  }

  /**
   * {@link reserve} and {@link take} at once, for the first request of new
   * work: wait until a slot is free that no `take` waits for, and take it.
   * Resolves undefined once {@link close}d: start nothing more.
   *
   * @example
   * ```ts
   * const slots = new Slots(1);
   * using turn = await slots.takeFirst();
   * if (!turn) return; // closed: the work does not start
   * ```
   */
  async takeFirst(): Promise<Held | undefined> {
    using reservation = await this.reserve();
    return reservation && await this.take();
  }

  /**
   * Grant no reservation any more (work under way has failed for good, or
   * time is up): waiting and later {@link reserve} and {@link takeFirst}
   * calls resolve undefined at once. Takes go on, so work under way can
   * finish.
   */
  close(): void {
    this.#closed = true;
    for (const go of this.#reservers.splice(0)) go(false);
  }

  /** A slot in use, given back when disposed of. */
  #holding(): Held {
    let held = true;
    return {
      [Symbol.dispose]: () => {
        if (!held) return;
        held = false;
        this.#give();
      },
    };
  }

  /** A slot came free: to the first taker, else the first reserver. */
  #give(): void {
    const taker = this.#takers.shift();
    const reserver = taker ? undefined : this.#reservers.shift();
    if (taker) taker();
    else if (reserver) reserver(true);
    else this.#free++;
  }
}
