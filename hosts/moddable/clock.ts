/**
 * Clock and timer port of the Moddable host (modules/coap/host.ts `Clock`).
 *
 * Time: `Time.ticks` is a signed 32-bit millisecond counter on most MCUs and wraps, so the
 * clock folds `Time.delta(previous, current)` into a monotonic millisecond count that starts
 * at 0. Deltas are unambiguous only below 2^31 ms (24.8 days); the timer below wakes at
 * least every PARK_MS, which samples the clock often enough even when the stack is idle.
 *
 * Timer: one Moddable `Timer` per port timer, created once and never cleared while in use.
 * A Moddable timer whose repeat interval is 0 when its callback returns is freed
 * (documentation/base/base.md), so the timer always keeps a repeat of PARK_MS and is re-armed
 * with `Timer.schedule(timer, delay, PARK_MS)`; "unscheduled" means parked PARK_MS ahead.
 */
import Time from "time";
import Timer from "timer";
import type { Clock, Timer as TimerPort } from "../../modules/coap/host.js";

/** Longest interval handed to Timer: 2^30 ms (12.4 days), half the Time.delta range. */
export const PARK_MS = 0x40000000;

/** Monotonic milliseconds from Time.ticks (wrap-safe), and timers on Moddable's Timer. */
export class ModdableClock implements Clock {
	#ticks: number;
	#now = 0;

	constructor() {
		this.#ticks = Time.ticks;
	}

	now(): number {
		const t = Time.ticks;
		this.#now += Time.delta(this.#ticks, t);
		this.#ticks = t;
		return this.#now;
	}

	createTimer(callback: (this: any) => void, target: unknown): TimerPort {
		if (typeof callback !== "function") throw new TypeError("callback must be a function");
		return new ModdableTimer(this, callback, target);
	}
}

class ModdableTimer implements TimerPort {
	readonly #clock: ModdableClock;
	readonly #callback: (this: any) => void;
	readonly #target: unknown;
	#timer: Timer | undefined;
	/** Absolute deadline on the clock, or -1 when not armed. */
	#at = -1;

	constructor(clock: ModdableClock, callback: (this: any) => void, target: unknown) {
		this.#clock = clock;
		this.#callback = callback;
		this.#target = target;
		// The one closure of this timer, allocated once; the timer starts parked.
		this.#timer = Timer.set(() => this.#fire(), PARK_MS, PARK_MS);
	}

	schedule(atMs: number): void {
		if (this.#timer === undefined) throw new TypeError("timer is closed");
		if (typeof atMs !== "number" || atMs !== atMs) throw new RangeError("atMs must be a number, got " + atMs);
		this.#at = atMs;
		this.#arm(0);
	}

	unschedule(): void {
		if (this.#timer === undefined) return;
		this.#at = -1;
		Timer.schedule(this.#timer, PARK_MS, PARK_MS);
	}

	close(): void {
		if (this.#timer === undefined) return;
		Timer.clear(this.#timer);
		this.#timer = undefined;
		this.#at = -1;
	}

	/** Arms for #at, clamped to PARK_MS (a farther deadline is reached in several wake-ups). */
	#arm(minimum: number): void {
		let delay = Math.ceil(this.#at - this.#clock.now());
		if (delay < minimum) delay = minimum;
		if (delay > PARK_MS) delay = PARK_MS;
		Timer.schedule(this.#timer!, delay, PARK_MS);
	}

	#fire(): void {
		if (this.#timer === undefined) return;
		const now = this.#clock.now(); // also keeps the Time.ticks fold unambiguous while idle
		const at = this.#at;
		if (at < 0) return; // parked: the repeat already re-armed it PARK_MS ahead
		if (now < at) {
			this.#arm(1); // woken before the deadline (clamped interval, tick rounding)
			return;
		}
		this.#at = -1;
		Timer.schedule(this.#timer, PARK_MS, PARK_MS); // park before calling out: the callback may re-arm
		this.#callback.call(this.#target);
	}
}
