/**
 * The security contexts of an endpoint: a fixed table (its size a configured limit), looked
 * up by the 'kid' and 'kid context' of an incoming request (RFC 8613 §8.2 step 2). Compares
 * bytes in place; builds no keys or strings.
 */
import type { SecurityContext } from "./context.js";

export class ContextTable {
	readonly capacity: number;
	readonly #slots: (SecurityContext | null)[];
	#count = 0;

	/** @throws RangeError unless capacity is 0..256. */
	constructor(capacity: number) {
		if (!(Number.isInteger(capacity) && capacity >= 0 && capacity <= 256)) throw new RangeError("OSCORE context capacity must be 0..256, got " + capacity);
		this.capacity = capacity;
		this.#slots = [];
		for (let i = 0; i < capacity; i++) this.#slots.push(null);
	}

	get count(): number {
		return this.#count;
	}

	/** The context in slot i (0..capacity-1), or null. */
	at(i: number): SecurityContext | null {
		return this.#slots[i] ?? null;
	}

	/** @throws RangeError when the table is full or already holds `ctx`. */
	add(ctx: SecurityContext): void {
		if (this.#slots.indexOf(ctx) >= 0) throw new RangeError("security context added twice");
		const i = this.#slots.indexOf(null);
		if (i < 0) throw new RangeError("OSCORE context table is full (" + this.capacity + ")");
		this.#slots[i] = ctx;
		this.#count++;
	}

	/** Removes `ctx`; false when it was not in the table. */
	remove(ctx: SecurityContext): boolean {
		const i = this.#slots.indexOf(ctx);
		if (i < 0) return false;
		this.#slots[i] = null;
		this.#count--;
		return true;
	}

	/**
	 * The context for a request's kid (bytes[kidOffset, +kidLength)) and kid context
	 * (bytes[ctxOffset, +ctxLength), -1 when absent), or null. With a 'kid context' only a
	 * context with that ID Context matches (§5: "the server SHALL use a security context with
	 * that ID Context"); without one, a context without ID Context is preferred.
	 */
	find(bytes: Uint8Array, kidOffset: number, kidLength: number, ctxOffset: number, ctxLength: number): SecurityContext | null {
		let fallback: SecurityContext | null = null;
		const slots = this.#slots;
		for (let i = 0; i < slots.length; i++) {
			const c = slots[i]!;
			if (c === null || !c.matches(bytes, kidOffset, kidLength, ctxOffset, ctxLength)) continue;
			if (ctxLength >= 0 || c.idContextLength < 0) return c;
			fallback ??= c;
		}
		return fallback;
	}

	/** The first context whose Recipient ID is the kid (whatever its ID Context), or null (Appendix B.2). */
	findByKid(bytes: Uint8Array, kidOffset: number, kidLength: number): SecurityContext | null {
		return this.find(bytes, kidOffset, kidLength, 0, -1);
	}
}
