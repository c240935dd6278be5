/**
 * Virtual time for the simulator: a `Clock` (modules/coap/host.ts) whose `now()` moves only when
 * the driver moves it, and whose timers sit in a table (quinn-proto's TimerTable idea) instead
 * of the host's event loop. Nothing fires on its own: `advanceTo`, `fireNext` and the network
 * driver (sim/network.ts) decide when.
 *
 * Order of firing, which is what makes runs reproducible:
 * - earliest deadline first;
 * - equal deadlines: the timer armed first (by `schedule()` call order) fires first;
 * - a deadline in the past fires "now": time never goes backwards;
 * - a callback may schedule timers, including for the current time; they fire in the same
 *   `advanceTo` call, after the ones already due at that time that were armed before them.
 *
 * Time is in milliseconds and starts at 0 (or the given start). Leaves out: periodic timers
 * (the port has none: an endpoint re-arms its one timer).
 */

import type { Clock, Timer } from "../modules/coap/host.js";

/** One timer slot. Allocated by createTimer, kept (and reused) after close. */
class TimerSlot {
	callback: ((this: any) => void) | null = null;
	target: unknown = undefined;
	armed = false;
	/** Absolute deadline in ms, meaningful while armed. */
	at = 0;
	/** Order of the schedule() call that armed it: the tie-break for equal deadlines. */
	armSeq = 0;
	closed = true;
	/** Bumped on each reuse, so a closed Timer handle never controls the slot's next owner. */
	generation = 0;
}

/** State shared by a VirtualClock and its timers (not exported: timers reach it, users do not). */
class TimerTable {
	now: number;
	readonly slots: TimerSlot[] = [];
	armSeq = 0;
	changes = 0;
	constructor(now: number) {
		this.now = now;
	}
	/** The armed slot that fires next: smallest deadline, then smallest armSeq. */
	next(): TimerSlot | undefined {
		let best: TimerSlot | undefined;
		for (let i = 0; i < this.slots.length; i++) {
			const s = this.slots[i]!;
			if (!s.armed) continue;
			if (best === undefined || s.at < best.at || (s.at === best.at && s.armSeq < best.armSeq)) best = s;
		}
		return best;
	}
	disarm(slot: TimerSlot): void {
		if (slot.armed) {
			slot.armed = false;
			this.changes++;
		}
	}
}

/** The Timer handed out by VirtualClock.createTimer. */
class VirtualTimer implements Timer {
	readonly #table: TimerTable;
	readonly #slot: TimerSlot;
	readonly #generation: number;
	constructor(table: TimerTable, slot: TimerSlot) {
		this.#table = table;
		this.#slot = slot;
		this.#generation = slot.generation;
	}
	#closed(): boolean {
		return this.#slot.closed || this.#slot.generation !== this.#generation;
	}
	/**
	 * Arms (or re-arms) for absolute time `atMs`. A time in the past fires at the next chance,
	 * at the current time. Re-arming counts as a new arming for the equal-deadline tie-break.
	 * @throws RangeError if atMs is not a finite number; TypeError after close().
	 */
	schedule(atMs: number): void {
		if (this.#closed()) throw new TypeError("timer is closed");
		if (typeof atMs !== "number" || !Number.isFinite(atMs)) {
			throw new RangeError(`atMs must be a finite number, got ${String(atMs)}`);
		}
		const table = this.#table;
		this.#slot.armed = true;
		this.#slot.at = atMs;
		this.#slot.armSeq = ++table.armSeq;
		table.changes++;
	}
	/** Disarms; harmless when not armed. @throws TypeError after close(). */
	unschedule(): void {
		if (this.#closed()) throw new TypeError("timer is closed");
		this.#table.disarm(this.#slot);
	}
	/** Disarms and releases the slot. Closing twice is harmless. */
	close(): void {
		if (this.#closed()) return;
		this.#table.disarm(this.#slot);
		this.#slot.closed = true;
		this.#slot.callback = null;
		this.#slot.target = undefined;
	}
}

/** A deterministic `Clock`. See the file header for the firing order. */
export class VirtualClock implements Clock {
	readonly #table: TimerTable;

	/**
	 * @param startMs the initial `now()`, 0 by default.
	 * @throws RangeError if startMs is not a finite number.
	 */
	constructor(startMs = 0) {
		if (typeof startMs !== "number" || !Number.isFinite(startMs)) {
			throw new RangeError(`startMs must be a finite number, got ${String(startMs)}`);
		}
		this.#table = new TimerTable(startMs);
	}

	/** Current virtual time in ms. */
	now(): number {
		return this.#table.now;
	}

	/**
	 * Creates a timer that calls `callback.call(target)` once each time its armed time is
	 * reached. It starts disarmed. The slots of closed timers are reused.
	 * @throws TypeError if callback is not a function.
	 */
	createTimer(callback: (this: any) => void, target: unknown): Timer {
		if (typeof callback !== "function") throw new TypeError("callback must be a function");
		const slots = this.#table.slots;
		let slot: TimerSlot | undefined;
		for (let i = 0; i < slots.length; i++) {
			if (slots[i]!.closed) {
				slot = slots[i]!;
				break;
			}
		}
		if (slot === undefined) {
			slot = new TimerSlot();
			slots.push(slot);
		}
		slot.closed = false;
		slot.generation++;
		slot.armed = false;
		slot.callback = callback;
		slot.target = target;
		this.#table.changes++;
		return new VirtualTimer(this.#table, slot);
	}

	/** Number of timers currently armed. */
	get armedCount(): number {
		const slots = this.#table.slots;
		let n = 0;
		for (let i = 0; i < slots.length; i++) if (slots[i]!.armed) n++;
		return n;
	}

	/**
	 * Counts every change to the timer table (create, arm, disarm, fire). The network driver
	 * compares it across promise jobs to tell whether the code under test is still busy.
	 */
	get changeCount(): number {
		return this.#table.changes;
	}

	/**
	 * When the next timer will fire: its deadline, or `now()` if that deadline is already past.
	 * -1 when no timer is armed.
	 */
	nextTimerAt(): number {
		const slot = this.#table.next();
		if (slot === undefined) return -1;
		return slot.at > this.#table.now ? slot.at : this.#table.now;
	}

	/**
	 * Fires the next armed timer (see the order in the file header), first moving time to its
	 * deadline if that is later than now. The timer is disarmed before its callback runs, so
	 * the callback may re-arm it. An exception from the callback propagates to the caller,
	 * with the table already consistent.
	 * @returns false if no timer was armed.
	 */
	fireNext(): boolean {
		const table = this.#table;
		const slot = table.next();
		if (slot === undefined) return false;
		if (slot.at > table.now) table.now = slot.at;
		slot.armed = false;
		table.changes++;
		slot.callback!.call(slot.target);
		return true;
	}

	/**
	 * Fires, in order, every timer due at or before `t` (including ones armed by those
	 * callbacks), then sets now to `t`. Synchronous: no promise jobs run between two callbacks;
	 * use the network driver when the code under test awaits.
	 * @throws RangeError if `t` is earlier than now or not finite.
	 */
	advanceTo(t: number): void {
		this.#checkForward(t);
		const table = this.#table;
		for (;;) {
			const slot = table.next();
			if (slot === undefined || slot.at > t) break;
			this.fireNext();
		}
		table.now = t;
	}

	/** `advanceTo(now() + ms)`. */
	advanceBy(ms: number): void {
		this.advanceTo(this.#table.now + ms);
	}

	/**
	 * Moves now to `t` without firing anything. Timers due exactly at `t` stay armed (they fire
	 * at the next `fireNext`); the network uses this to deliver a datagram before a timer with
	 * the same deadline.
	 * @throws RangeError if `t` is earlier than now, or if a timer is due before `t`
	 * (skipping it would break the order).
	 */
	jumpTo(t: number): void {
		this.#checkForward(t);
		const next = this.nextTimerAt();
		if (next >= 0 && next < t) {
			throw new RangeError(`a timer is due at ${next}, before ${t}`);
		}
		this.#table.now = t;
	}

	#checkForward(t: number): void {
		if (typeof t !== "number" || !Number.isFinite(t)) {
			throw new RangeError(`time must be a finite number, got ${String(t)}`);
		}
		if (t < this.#table.now) throw new RangeError(`time ${t} is before now (${this.#table.now})`);
	}
}
