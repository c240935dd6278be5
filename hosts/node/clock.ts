/**
 * Node clock/timer port: monotonic milliseconds from `performance.now()` and one re-armable
 * `setTimeout` per timer. The timer is unref'd so an idle endpoint does not keep Node alive
 * on its own (the socket does, while open).
 */
import type { Clock, Timer } from "../../modules/coap/host.js";

class NodeTimer implements Timer {
	#handle: ReturnType<typeof setTimeout> | undefined;
	readonly #callback: (this: unknown) => void;
	readonly #target: unknown;
	readonly #clock: Clock;

	constructor(clock: Clock, callback: (this: unknown) => void, target: unknown) {
		this.#clock = clock;
		this.#callback = callback;
		this.#target = target;
	}

	schedule(atMs: number): void {
		if (this.#handle !== undefined) clearTimeout(this.#handle);
		const delay = Math.max(0, atMs - this.#clock.now());
		this.#handle = setTimeout(() => {
			this.#handle = undefined;
			this.#callback.call(this.#target);
		}, Math.ceil(delay));
		this.#handle.unref?.();
	}

	unschedule(): void {
		if (this.#handle !== undefined) clearTimeout(this.#handle);
		this.#handle = undefined;
	}

	close(): void {
		this.unschedule();
	}
}

export class NodeClock implements Clock {
	now(): number {
		return performance.now();
	}

	createTimer(callback: (this: any) => void, target: unknown): Timer {
		return new NodeTimer(this, callback, target);
	}
}
