/**
 * The server's replay window for one Recipient Context (RFC 8613 §7.4, §3.2.2): the
 * anti-replay window of IPsec/DTLS (RFC 6347 §4.1.2.6), default 32 sequence numbers, here any
 * multiple of 32. A bitmap indexed by sequence number modulo the window size, plus the highest
 * number accepted; sequence numbers are below 2^40 and held as plain numbers.
 *
 * Check, then accept only after the AEAD verified (§8.2 steps 3 and 6): a forged message must
 * not move the window. A window can also be "unknown" (after a reboot that lost it; Appendix
 * B.1.2): check() then says so, and the first request verified fresh by other means (Echo)
 * sets its lower limit with initializeFrom().
 * Leaves out: persisting the window (B.1.2's Echo procedure recovers it instead).
 */
import { E_OSCORE_REPLAY } from "./status.js";

/** check(): the window was lost (B.1.2): freshness must be established another way. */
export const REPLAY_UNKNOWN = 1;

export class ReplayWindow {
	/** Window size in sequence numbers (a multiple of 32, at least 32). */
	readonly size: number;
	readonly #bits: Uint32Array;
	/** Highest sequence number accepted; -1 before the first. */
	#top = -1;
	/** Lowest sequence number still acceptable (B.1.2 lower limit). */
	#floor = 0;
	#known = true;

	/** @throws RangeError unless size is a multiple of 32 in 32..4096 (§3.2.2 default 32). */
	constructor(size = 32) {
		if (!(Number.isInteger(size) && size >= 32 && size <= 4096 && size % 32 === 0)) throw new RangeError("replay window size must be a multiple of 32 in 32..4096, got " + size);
		this.size = size;
		this.#bits = new Uint32Array(size / 32);
	}

	/** Bytes this window holds (bitmap and counters), for the memory budget. */
	get stateBytes(): number {
		return this.#bits.byteLength + 3 * 8;
	}

	/** True unless the window was lost (B.1.2). */
	get known(): boolean {
		return this.#known;
	}

	/** Highest sequence number accepted, or -1. */
	get top(): number {
		return this.#top;
	}

	/**
	 * 0 when `seq` has not been received and is inside (or ahead of) the window;
	 * E_OSCORE_REPLAY when it was received or is too old to tell; REPLAY_UNKNOWN when the window
	 * was lost. Does not change the window.
	 */
	check(seq: number): number {
		if (!this.#known) return REPLAY_UNKNOWN;
		if (seq < this.#floor) return E_OSCORE_REPLAY;
		if (seq > this.#top) return 0;
		// RFC 6347 §4.1.2.6: numbers left of the window are rejected.
		if (this.#top - seq >= this.size) return E_OSCORE_REPLAY;
		const p = seq % this.size;
		return (this.#bits[p >>> 5]! & (1 << (p & 31))) !== 0 ? E_OSCORE_REPLAY : 0;
	}

	/** Records `seq` as received (after the message verified). `check(seq)` must have returned 0. */
	accept(seq: number): void {
		if (seq > this.#top) {
			const advance = this.#top < 0 ? this.size : seq - this.#top;
			if (advance >= this.size) this.#bits.fill(0);
			else for (let s = this.#top + 1; s < seq; s++) this.#clear(s % this.size);
			this.#top = seq;
		}
		const p = seq % this.size;
		this.#bits[p >>> 5]! |= 1 << (p & 31);
	}

	#clear(p: number): void {
		this.#bits[p >>> 5]! &= ~(1 << (p & 31));
	}

	/** A fresh, empty window (§3.2.2: a newly derived context). */
	reset(): void {
		this.#bits.fill(0);
		this.#top = -1;
		this.#floor = 0;
		this.#known = true;
	}

	/** Marks the window as lost (after a reboot, B.1.2): every check says REPLAY_UNKNOWN. */
	forget(): void {
		this.#bits.fill(0);
		this.#top = -1;
		this.#floor = 0;
		this.#known = false;
	}

	/**
	 * B.1.2: `seq` came in a request verified as fresh (Echo): it becomes the lower limit of
	 * the window, it is marked received, and later numbers are acceptable.
	 */
	initializeFrom(seq: number): void {
		this.#bits.fill(0);
		this.#known = true;
		this.#top = -1;
		this.#floor = seq;
		this.accept(seq);
	}
}
