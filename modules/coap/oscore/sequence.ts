/**
 * The Sender Sequence Number of a security context (RFC 8613 §3.2.2, §7.2) and its
 * persistence across reboots (Appendix B.1.1), through the synchronous `Store` port
 * (modules/coap/store.ts; Node: hosts/node/file-store.ts, Moddable: PreferenceStore).
 *
 * B.1.1: before using a number, store a high-water mark SSN1 at least every K numbers; after
 * booting, continue at SSN2 = SSN1 + K + F. Here a number n is stored (synchronously, before
 * it is used) whenever n >= last stored + K, and also at the first use after construction
 * (the start value is always >= last stored + K). Every number used is then below
 * last stored + K, so SSN2 is above every number used before the reboot, however often the
 * process dies, including between a restart and its first store. (B.1.1 stores "a number
 * evenly divisible by K"; storing the first number used after a boot as well is what keeps
 * repeated crashes safe.) A failed store means the number is not used: E_OSCORE_SEQUENCE_STORE.
 *
 * A context that finds nothing stored stores its start value at once: every later start then
 * counts as a reboot (`restored`), whose replay window is unknown (B.1.2), also for a context
 * that never used a sequence number of its own.
 *
 * The stored value is the decimal text of SSN1 (readable in a file; at most 13 ASCII digits).
 * Leaves out: growing K over time (aiocoap's variant); wear levelling is the store's business.
 */
import type { Store } from "../store.js";
import { MAX_SEQUENCE } from "./nonce.js";
import { E_OSCORE_SEQUENCE_EXHAUSTED, E_OSCORE_SEQUENCE_STORE } from "./status.js";

/** Default K of B.1.1: one store per this many sequence numbers. */
export const DEFAULT_SEQUENCE_K = 64;
/** Default F of B.1.1: extra margin added after a reboot. */
export const DEFAULT_SEQUENCE_F = 16;
const DIGITS = 16;

/** Where and how a context's sequence number is kept (Appendix B.1.1). */
export interface SequencePersistence {
	readonly store: Store;
	/** Key of this context's value in the store (1..15 printable ASCII characters for PreferenceStore). */
	readonly key: string;
	/** Numbers between two stores (B.1.1 K, default 64). */
	readonly k?: number;
	/** Margin after a reboot (B.1.1 F, default 16). */
	readonly f?: number;
}

export class SenderSequence {
	readonly k: number;
	readonly f: number;
	/** True when a stored value was found at construction: the context ran before (a reboot). */
	readonly restored: boolean;
	#next: number;
	/** Last value stored; -Infinity when nothing was stored by this object. */
	#stored: number;
	readonly #store: Store | null;
	readonly #key: string;
	readonly #io = new Uint8Array(DIGITS);

	/**
	 * @param persistence where to keep the high-water mark, or null (the number restarts at
	 *   `initial` with every construction: only safe for a context derived fresh each time)
	 * @param initial the first number to use when nothing is stored (default 0)
	 * @throws RangeError for a bad K, F or initial value, or a stored value that is not a
	 *   decimal number below 2^40 (a corrupt store must not silently restart at 0); what the
	 *   store throws when nothing was stored and the start value cannot be written
	 */
	constructor(persistence: SequencePersistence | null, initial = 0) {
		if (!(Number.isInteger(initial) && initial >= 0 && initial <= MAX_SEQUENCE)) throw new RangeError("initial sequence number must be 0..2^40-1, got " + initial);
		this.k = persistence?.k ?? DEFAULT_SEQUENCE_K;
		this.f = persistence?.f ?? DEFAULT_SEQUENCE_F;
		if (!(Number.isInteger(this.k) && this.k >= 1 && this.k <= 1 << 24)) throw new RangeError("sequence K must be 1..2^24, got " + this.k);
		if (!(Number.isInteger(this.f) && this.f >= 1 && this.f <= 1 << 24)) throw new RangeError("sequence F must be 1..2^24, got " + this.f);
		this.#store = persistence?.store ?? null;
		this.#key = persistence?.key ?? "";
		this.#stored = -Infinity;
		this.#next = initial;
		let restored = false;
		if (this.#store !== null) {
			const n = this.#store.read(this.#key, this.#io);
			if (n > 0) {
				const v = parseDecimal(this.#io, n);
				if (v < 0) throw new RangeError("stored OSCORE sequence number under key " + JSON.stringify(this.#key) + " is corrupt");
				restored = true;
				this.#stored = v;
				// B.1.1: SSN2 = SSN1 + K + F.
				this.#next = Math.max(initial, v + this.k + this.f);
			}
		}
		this.restored = restored;
		if (this.#store !== null && !restored) {
			// A context seen for the first time is in use from now on: store its start, so that a
			// later start knows it ran before, and that its replay window is lost (Appendix
			// B.1.2), even if it never sent a message with a sequence number of its own (a server
			// that only answers with its clients' nonces). A store that cannot be written fails the
			// construction here, rather than the first message.
			this.#store.write(this.#key, this.#io, writeDecimal(this.#io, initial));
			this.#stored = initial;
		}
	}

	/** The number the next call to next() returns (nothing is reserved). */
	get peek(): number {
		return this.#next;
	}

	/**
	 * Takes the next sequence number, persisting a high-water mark first when one is due.
	 * Returns it, or E_OSCORE_SEQUENCE_EXHAUSTED (§7.2.1) or E_OSCORE_SEQUENCE_STORE (the store
	 * threw; the number was not used and is tried again next time).
	 */
	next(): number {
		const n = this.#next;
		if (n > MAX_SEQUENCE) return E_OSCORE_SEQUENCE_EXHAUSTED;
		if (this.#store !== null && n >= this.#stored + this.k) {
			const len = writeDecimal(this.#io, n);
			try {
				this.#store.write(this.#key, this.#io, len);
			} catch {
				return E_OSCORE_SEQUENCE_STORE;
			}
			this.#stored = n;
		}
		this.#next = n + 1;
		return n;
	}
}

/** Decimal text of b[0, n) as a number, or -1 when it is not 1..13 digits below 2^40. */
function parseDecimal(b: Uint8Array, n: number): number {
	if (n > 13) return -1;
	let v = 0;
	for (let i = 0; i < n; i++) {
		const d = b[i]! - 0x30;
		if (d < 0 || d > 9) return -1;
		v = v * 10 + d;
	}
	return v <= MAX_SEQUENCE ? v : -1;
}

/** Writes the decimal digits of v (0 .. 2^40) into b; returns their count. */
function writeDecimal(b: Uint8Array, v: number): number {
	let n = 0;
	let x = v;
	do {
		n++;
		x = Math.floor(x / 10);
	} while (x > 0);
	x = v;
	for (let i = n - 1; i >= 0; i--) {
		b[i] = 0x30 + (x % 10);
		x = Math.floor(x / 10);
	}
	return n;
}
