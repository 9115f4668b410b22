/**
 * A limit on work in flight with two kinds of waiting: {@link Slots.take}
 * for the work itself (first come, first served), and {@link Slots.reserve}
 * for deciding to start more work, which waits until a slot is free that no
 * `take` is waiting for, then holds it for the next `take`.
 *
 * The transport holds its requests to `UPLOAD_CONCURRENCY` with it, and a
 * run starts a new set only on a reservation: so sets whose records are
 * being written leave their connection to the next set, and a new set never
 * queues in front of a set already under way.
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
  #reservers: (() => void)[] = [];

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
   */
  async reserve(): Promise<Held> {
    if (this.#free > 0 && this.#takers.length === 0) this.#free--;
    else await new Promise<void>((turn) => this.#reservers.push(turn));
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
    const next = this.#takers.shift() ?? this.#reservers.shift();
    if (next) next();
    else this.#free++;
  }
}
