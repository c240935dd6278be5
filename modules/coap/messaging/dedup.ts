/**
 * Duplicate detection (RFC 7252 §4.5): remembers (peer, Message ID) of received CON and NON
 * messages for EXCHANGE_LIFETIME / NON_LIFETIME, and the reply sent to each CON, so that a
 * duplicate CON gets the same ACK or Reset again and its request is processed only once.
 *
 * Memory is fixed at construction: `entries` slots used as a FIFO ring, a hash index over
 * them, and a byte ring (`cacheBytes`) holding recent replies as records
 * [entry index (2 bytes) | length (2 bytes) | bytes]. When the ring of entries is full the
 * oldest entry is forgotten, even if its lifetime has not run out; when the reply ring is
 * full the oldest replies are dropped from it. Both are documented deviations from §4.5's
 * "SHOULD": the protection covers the most recent `entries` messages. A duplicate whose reply
 * was dropped is handled by the caller (see endpoint.ts: idempotent requests are processed
 * again, others get 5.03).
 */
import { dedupBuckets } from "../tuning.js";

export const DUP_FREE = 0;
/** Seen; nothing sent in reply yet (a request being processed, or a NON). */
export const DUP_SEEN = 1;
/** Answered with the reply kept in the cache ring. */
export const DUP_CACHED = 2;
/** Acknowledged with an empty ACK (the response follows separately, §5.2.2). */
export const DUP_EMPTY_ACK = 3;
/** Answered with a Reset. */
export const DUP_RESET = 4;
/** Answered, but the reply is no longer (or was never) in the cache ring. */
export const DUP_LOST = 5;

const WRAP = 0xffff;

export class DedupCache {
	readonly entries: number;
	readonly #address: string[];
	readonly #port: Uint16Array;
	readonly #mid: Uint16Array;
	readonly #expires: Float64Array;
	readonly #state: Uint8Array;
	readonly #cacheOffset: Int32Array;
	readonly #cacheLength: Uint16Array;
	readonly #head: Int32Array; // hash bucket → first entry, -1 empty
	readonly #nextInBucket: Int32Array;
	readonly #mask: number;
	#ring = 0; // next entry to (re)use: always the oldest
	/** The reply ring (records of replies). Read with cachedReply(). */
	readonly arena: Uint8Array;
	#arenaHead = 0;
	#arenaTail = 0;
	#arenaUsed = 0;
	#wrapAt = -1;

	constructor(entries: number, cacheBytes: number) {
		this.entries = entries;
		this.#address = [];
		for (let i = 0; i < entries; i++) this.#address.push("");
		this.#port = new Uint16Array(entries);
		this.#mid = new Uint16Array(entries);
		this.#expires = new Float64Array(entries);
		this.#state = new Uint8Array(entries);
		this.#cacheOffset = new Int32Array(entries).fill(-1);
		this.#cacheLength = new Uint16Array(entries);
		const buckets = dedupBuckets(entries);
		this.#mask = buckets - 1;
		this.#head = new Int32Array(buckets).fill(-1);
		this.#nextInBucket = new Int32Array(entries).fill(-1);
		this.arena = new Uint8Array(cacheBytes);
	}

	#bucket(port: number, mid: number): number {
		return (mid ^ (port * 40503)) & this.#mask;
	}

	/** Entry index for (peer, mid) if it was seen and has not expired; -1 otherwise. */
	find(address: string, port: number, mid: number, now: number): number {
		for (let i = this.#head[this.#bucket(port, mid)]!; i >= 0; i = this.#nextInBucket[i]!) {
			if (this.#mid[i] === mid && this.#port[i] === port && this.#address[i] === address) {
				return this.#state[i] !== DUP_FREE && now < this.#expires[i]! ? i : -1;
			}
		}
		return -1;
	}

	/** Records (peer, mid) as seen until now + lifetimeMs; returns its entry index. Evicts the oldest entry. */
	insert(address: string, port: number, mid: number, now: number, lifetimeMs: number): number {
		const i = this.#ring;
		this.#ring = i + 1 === this.entries ? 0 : i + 1;
		if (this.#state[i] !== DUP_FREE) this.#unlink(i);
		this.#address[i] = address;
		this.#port[i] = port;
		this.#mid[i] = mid;
		this.#expires[i] = now + lifetimeMs;
		this.#state[i] = DUP_SEEN;
		this.#cacheOffset[i] = -1;
		const b = this.#bucket(port, mid);
		this.#nextInBucket[i] = this.#head[b]!;
		this.#head[b] = i;
		return i;
	}

	#unlink(i: number): void {
		const b = this.#bucket(this.#port[i]!, this.#mid[i]!);
		let prev = -1;
		for (let j = this.#head[b]!; j >= 0; prev = j, j = this.#nextInBucket[j]!) {
			if (j !== i) continue;
			if (prev < 0) this.#head[b] = this.#nextInBucket[j]!;
			else this.#nextInBucket[prev] = this.#nextInBucket[j]!;
			break;
		}
		this.#state[i] = DUP_FREE;
		this.#cacheOffset[i] = -1;
	}

	state(i: number): number {
		return this.#state[i]!;
	}

	setState(i: number, state: number): void {
		// DUP_FREE means "not in the index": unlink, or insert() would link the slot twice
		// (a cycle in its hash chain, and find() would never return).
		if (state === DUP_FREE) {
			if (this.#state[i] !== DUP_FREE) this.#unlink(i);
			return;
		}
		this.#state[i] = state;
		if (state !== DUP_CACHED) this.#cacheOffset[i] = -1;
	}

	/** Keeps a copy of the reply bytes[0, length) for entry i; DUP_LOST when it cannot. */
	storeReply(i: number, bytes: Uint8Array, length: number): void {
		const at = this.#alloc(i, length);
		if (at < 0) {
			this.setState(i, DUP_LOST);
			return;
		}
		this.arena.set(length === bytes.length ? bytes : bytes.subarray(0, length), at);
		this.#state[i] = DUP_CACHED;
		this.#cacheOffset[i] = at;
		this.#cacheLength[i] = length;
	}

	/** Offset of entry i's cached reply in `arena`, or -1. Its length: cachedLength(i). */
	cachedOffset(i: number): number {
		return this.#state[i] === DUP_CACHED ? this.#cacheOffset[i]! : -1;
	}

	cachedLength(i: number): number {
		return this.#cacheLength[i]!;
	}

	// Circular log allocation: records sit between tail and head; free space is reclaimed by
	// dropping the record at the tail (its entry becomes DUP_LOST).
	#alloc(owner: number, length: number): number {
		const size = this.arena.length;
		const need = 4 + length;
		if (need > size || length > 0xfffe) return -1;
		for (;;) {
			if (this.#arenaUsed === 0) {
				this.#arenaHead = this.#arenaTail = 0;
				this.#wrapAt = -1;
			}
			const head = this.#arenaHead;
			const tail = this.#arenaTail;
			const full = this.#arenaUsed > 0 && head === tail;
			if (!full && head >= tail) {
				if (size - head >= need) break;
				// Not enough room before the end: pad to the end and continue at 0.
				this.#wrapAt = head;
				this.#arenaUsed += size - head;
				this.#arenaHead = 0;
				continue;
			}
			if (!full && tail - head >= need) break;
			this.#dropTail();
		}
		const at = this.#arenaHead;
		const a = this.arena;
		a[at] = owner >> 8;
		a[at + 1] = owner & 0xff;
		a[at + 2] = length >> 8;
		a[at + 3] = length & 0xff;
		this.#arenaHead = at + need;
		this.#arenaUsed += need;
		return at + 4;
	}

	#dropTail(): void {
		const size = this.arena.length;
		const tail = this.#arenaTail;
		if (tail === this.#wrapAt || tail === size) {
			this.#arenaUsed -= size - tail;
			this.#arenaTail = 0;
			this.#wrapAt = -1;
			return;
		}
		const a = this.arena;
		const owner = (a[tail]! << 8) | a[tail + 1]!;
		const length = (a[tail + 2]! << 8) | a[tail + 3]!;
		if (owner !== WRAP && this.#cacheOffset[owner] === tail + 4) {
			this.#state[owner] = DUP_LOST;
			this.#cacheOffset[owner] = -1;
		}
		this.#arenaTail = tail + 4 + length;
		this.#arenaUsed -= 4 + length;
	}

	/** Forgets everything (used by close()). */
	clear(): void {
		for (let i = 0; i < this.entries; i++) if (this.#state[i] !== DUP_FREE) this.#unlink(i);
		this.#arenaHead = this.#arenaTail = this.#arenaUsed = 0;
		this.#wrapAt = -1;
		this.#ring = 0;
	}
}
