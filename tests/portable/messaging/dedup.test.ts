// messaging/dedup.ts: duplicate detection (RFC 7252 §4.5) with a fixed entry ring and a byte
// ring of cached replies; deterministic cases, then seeded random operations against a plain
// reference model. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { DedupCache, DUP_CACHED, DUP_EMPTY_ACK, DUP_FREE, DUP_LOST, DUP_RESET, DUP_SEEN } from "../../../modules/coap/messaging/dedup.js";
import { Prng } from "../../../sim/prng.js";

const A = "192.0.2.1";
const B = "2001:db8::1";

/** A reply of `length` bytes whose content identifies it. */
function reply(tag: number, length: number): Uint8Array {
	const b = new Uint8Array(length);
	for (let i = 0; i < length; i++) b[i] = (tag * 31 + i) & 0xff;
	return b;
}

/** The cached reply of entry i, or null when it is not cached. */
function cached(d: DedupCache, i: number): Uint8Array | null {
	const off = d.cachedOffset(i);
	return off < 0 ? null : d.arena.slice(off, off + d.cachedLength(i));
}

describe("messaging/dedup: entries", () => {
	it("find, insert and expiry", () => {
		const d = new DedupCache(4, 64);
		assert.equal(d.find(A, 5683, 1, 0), -1);
		const i = d.insert(A, 5683, 1, 1000, 247000);
		assert.equal(d.state(i), DUP_SEEN);
		assert.equal(d.find(A, 5683, 1, 1000), i);
		assert.equal(d.find(A, 5683, 1, 247999), i);
		assert.equal(d.find(A, 5683, 1, 248000), -1, "expired at now + lifetime");
		assert.equal(d.find(A, 5684, 1, 1000), -1, "another port");
		assert.equal(d.find(B, 5683, 1, 1000), -1, "another address");
		assert.equal(d.find(A, 5683, 2, 1000), -1, "another MID");
		assert.equal(d.cachedOffset(i), -1);
	});

	it("the same MID from different peers are different entries", () => {
		const d = new DedupCache(4, 64);
		const a = d.insert(A, 5683, 7, 0, 100);
		const b = d.insert(B, 5683, 7, 0, 100);
		const c = d.insert(A, 40000, 7, 0, 100);
		assert.equal(new Set([a, b, c]).size, 3);
		assert.equal(d.find(A, 5683, 7, 1), a);
		assert.equal(d.find(B, 5683, 7, 1), b);
		assert.equal(d.find(A, 40000, 7, 1), c);
	});

	it("a full ring evicts the oldest entry, whatever its lifetime", () => {
		const d = new DedupCache(4, 64);
		const idx: number[] = [];
		for (let mid = 0; mid < 4; mid++) idx.push(d.insert(A, 5683, mid, mid, 1e9));
		assert.deepEqual(idx, [0, 1, 2, 3]);
		assert.equal(d.insert(A, 5683, 4, 10, 1e9), 0, "slot of the oldest reused");
		assert.equal(d.find(A, 5683, 0, 11), -1, "the oldest is forgotten");
		for (let mid = 1; mid <= 4; mid++) assert.ok(d.find(A, 5683, mid, 11) >= 0, "mid " + mid);
		assert.equal(d.insert(A, 5683, 5, 12, 1e9), 1);
		assert.equal(d.find(A, 5683, 1, 13), -1);
	});

	it("entries in one hash bucket: evicting the oldest keeps the others findable", () => {
		// 4 entries → 8 buckets; same port, MIDs 8 apart share a bucket (one chain).
		const d = new DedupCache(4, 64);
		for (const mid of [1, 9, 17, 25]) d.insert(A, 5683, mid, 0, 1e9);
		d.insert(A, 5683, 33, 0, 1e9); // evicts 1 (the tail of the chain)
		assert.equal(d.find(A, 5683, 1, 1), -1);
		for (const mid of [9, 17, 25, 33]) assert.ok(d.find(A, 5683, mid, 1) >= 0, "mid " + mid);
		d.insert(A, 5683, 2, 0, 1e9); // evicts 9, lands in another bucket
		assert.equal(d.find(A, 5683, 9, 1), -1);
		for (const mid of [17, 25, 33, 2]) assert.ok(d.find(A, 5683, mid, 1) >= 0, "mid " + mid);
	});

	it("a re-inserted (peer, MID) is found as the newest entry", () => {
		const d = new DedupCache(4, 64);
		const old = d.insert(A, 5683, 5, 0, 10);
		assert.equal(d.find(A, 5683, 5, 10), -1);
		const fresh = d.insert(A, 5683, 5, 10, 10);
		assert.notEqual(old, fresh);
		assert.equal(d.find(A, 5683, 5, 15), fresh);
	});

	it("setState(DUP_FREE) forgets the entry; its slot can be inserted again", () => {
		// 1 entry → 2 buckets: MIDs 1 and 3 share a bucket.
		const d = new DedupCache(1, 64);
		const i = d.insert(A, 5683, 1, 0, 100);
		d.setState(i, DUP_FREE);
		assert.equal(d.state(i), DUP_FREE);
		assert.equal(d.find(A, 5683, 1, 1), -1);
		assert.equal(d.insert(A, 5683, 1, 1, 100), i);
		assert.equal(d.find(A, 5683, 3, 2), -1, "the bucket chain ends (no cycle)");
		assert.equal(d.find(A, 5683, 1, 2), i);
		d.setState(i, DUP_FREE);
		d.setState(i, DUP_FREE); // twice is harmless
		assert.equal(d.insert(A, 5683, 3, 2, 100), i);
		assert.equal(d.find(A, 5683, 1, 3), -1);
		assert.equal(d.find(A, 5683, 3, 3), i);
	});

	it("setState records the reply kind; clear() forgets everything", () => {
		const d = new DedupCache(4, 64);
		const i = d.insert(A, 5683, 1, 0, 100);
		for (const s of [DUP_EMPTY_ACK, DUP_RESET, DUP_LOST, DUP_SEEN]) {
			d.setState(i, s);
			assert.equal(d.state(i), s);
			assert.equal(d.cachedOffset(i), -1);
		}
		d.storeReply(i, reply(1, 10), 10);
		d.clear();
		assert.equal(d.find(A, 5683, 1, 1), -1);
		assert.equal(d.state(i), DUP_FREE);
		assert.equal(d.cachedOffset(i), -1);
		assert.equal(d.insert(B, 1, 2, 0, 100), 0, "the ring restarts");
		d.storeReply(0, reply(2, 60), 60);
		assert.deepEqual(cached(d, 0), reply(2, 60), "the whole arena is free again");
	});
});

describe("messaging/dedup: the reply ring", () => {
	it("storeReply keeps the exact bytes; cachedOffset/cachedLength find them", () => {
		const d = new DedupCache(4, 64);
		const i = d.insert(A, 5683, 1, 0, 100);
		const j = d.insert(A, 5683, 2, 0, 100);
		const r1 = reply(1, 12);
		const r2 = reply(2, 7);
		d.storeReply(i, r1, 12);
		d.storeReply(j, r2, 7);
		assert.equal(d.state(i), DUP_CACHED);
		assert.equal(d.state(j), DUP_CACHED);
		assert.deepEqual(cached(d, i), r1);
		assert.deepEqual(cached(d, j), r2);
		assert.equal(d.cachedLength(i), 12);
		r1[0] = 0xee; // the cache holds a copy
		assert.notEqual(cached(d, i)![0], 0xee);
	});

	it("stores only bytes[0, length) of a larger buffer", () => {
		const d = new DedupCache(2, 64);
		const i = d.insert(A, 5683, 1, 0, 100);
		const buf = reply(3, 40);
		d.storeReply(i, buf, 9);
		assert.deepEqual(cached(d, i), buf.subarray(0, 9));
	});

	it("a full ring drops the oldest replies (DUP_LOST), wrapping around its end", () => {
		// 64-byte ring, records of 4 + 20 = 24 bytes: two fit, the third wraps to offset 0.
		const d = new DedupCache(8, 64);
		const e: number[] = [];
		for (let k = 0; k < 6; k++) e.push(d.insert(A, 5683, 100 + k, 0, 1e9));
		d.storeReply(e[0]!, reply(0, 20), 20);
		d.storeReply(e[1]!, reply(1, 20), 20);
		assert.deepEqual([d.state(e[0]!), d.state(e[1]!)], [DUP_CACHED, DUP_CACHED]);
		d.storeReply(e[2]!, reply(2, 20), 20); // 16 bytes left at the end: wrap, drop e0
		assert.deepEqual([d.state(e[0]!), d.state(e[1]!), d.state(e[2]!)], [DUP_LOST, DUP_CACHED, DUP_CACHED]);
		assert.equal(d.cachedOffset(e[0]!), -1);
		assert.equal(d.cachedOffset(e[2]!), 4, "wrapped to the start of the ring, after its record header");
		assert.deepEqual(cached(d, e[1]!), reply(1, 20));
		assert.deepEqual(cached(d, e[2]!), reply(2, 20));
		d.storeReply(e[3]!, reply(3, 20), 20); // drops e1
		assert.deepEqual([d.state(e[1]!), d.state(e[2]!), d.state(e[3]!)], [DUP_LOST, DUP_CACHED, DUP_CACHED]);
		d.storeReply(e[4]!, reply(4, 20), 20); // reclaims the padding, wraps again, drops e2
		assert.deepEqual([d.state(e[2]!), d.state(e[3]!), d.state(e[4]!)], [DUP_LOST, DUP_CACHED, DUP_CACHED]);
		assert.deepEqual(cached(d, e[3]!), reply(3, 20));
		assert.deepEqual(cached(d, e[4]!), reply(4, 20));
		d.storeReply(e[5]!, reply(5, 56), 56); // 4 + 56 = 60 of the 64 bytes: drops everything else
		assert.deepEqual([d.state(e[3]!), d.state(e[4]!), d.state(e[5]!)], [DUP_LOST, DUP_LOST, DUP_CACHED]);
		assert.deepEqual(cached(d, e[5]!), reply(5, 56));
	});

	it("a reply larger than the ring is DUP_LOST and leaves the cached ones alone", () => {
		const d = new DedupCache(4, 64);
		const i = d.insert(A, 5683, 1, 0, 100);
		const j = d.insert(A, 5683, 2, 0, 100);
		d.storeReply(i, reply(1, 10), 10);
		d.storeReply(j, reply(2, 61), 61); // 4 + 61 > 64
		assert.equal(d.state(j), DUP_LOST);
		assert.equal(d.cachedOffset(j), -1);
		assert.deepEqual(cached(d, i), reply(1, 10));
		const k = d.insert(A, 5683, 3, 0, 100);
		d.storeReply(k, reply(3, 60), 60); // 4 + 60 = 64: fits, drops i
		assert.equal(d.state(k), DUP_CACHED);
		assert.equal(d.state(i), DUP_LOST);
	});

	it("a zero-length ring caches nothing", () => {
		const d = new DedupCache(2, 0);
		const i = d.insert(A, 5683, 1, 0, 100);
		d.storeReply(i, new Uint8Array(0), 0);
		assert.equal(d.state(i), DUP_LOST);
	});

	it("an evicted entry's old reply, dropped later, does not touch the slot's new owner", () => {
		const d = new DedupCache(2, 64);
		const a = d.insert(A, 5683, 1, 0, 1e9);
		d.storeReply(a, reply(1, 20), 20);
		const b = d.insert(A, 5683, 2, 0, 1e9);
		d.storeReply(b, reply(2, 20), 20);
		const c = d.insert(A, 5683, 3, 0, 1e9); // reuses a's slot; a's record is still in the ring
		assert.equal(c, a);
		assert.equal(d.state(c), DUP_SEEN);
		assert.equal(d.cachedOffset(c), -1);
		d.storeReply(c, reply(3, 20), 20); // drops a's old record on the way
		assert.equal(d.state(c), DUP_CACHED);
		assert.deepEqual(cached(d, c), reply(3, 20));
		assert.deepEqual(cached(d, b), reply(2, 20));
	});

	it("storing a second reply for one entry replaces the first", () => {
		const d = new DedupCache(2, 64);
		const a = d.insert(A, 5683, 1, 0, 1e9);
		d.storeReply(a, reply(1, 20), 20);
		d.storeReply(a, reply(2, 20), 20);
		assert.deepEqual(cached(d, a), reply(2, 20));
		d.storeReply(a, reply(3, 20), 20); // wraps, drops the record of reply 1 (no longer a's)
		assert.equal(d.state(a), DUP_CACHED);
		assert.deepEqual(cached(d, a), reply(3, 20));
	});
});

// ---------------------------------------------------------------- reference model

interface ModelEntry {
	address: string;
	port: number;
	mid: number;
	expires: number;
	state: number;
	seq: number; // insertion order
	record: number; // index into records of the reply this entry owns, or -1
}

interface ModelRecord {
	entry: number;
	bytes: Uint8Array;
	allocated: boolean; // false: too large for the ring, never stored
	owned: boolean; // still the entry's reply
}

describe("messaging/dedup: random operations against a reference model (seeded)", () => {
	// The last column: whether the ring is small enough for the entries that replies must be dropped.
	for (const [entries, ringBytes, seed, lostOutcomes] of [[8, 256, 1, true], [5, 100, 2, true], [16, 1024, 3, false], [1, 64, 4, false], [3, 37, 5, true], [32, 300, 6, true]] as const) {
		it(entries + " entries, " + ringBytes + "-byte ring", () => {
			const rng = new Prng(seed);
			const d = new DedupCache(entries, ringBytes);
			const model: ModelEntry[] = [];
			let records: ModelRecord[] = [];
			let seq = 0;
			let now = 0;
			const maxLen = Math.max(1, Math.min(40, (ringBytes >> 2) - 4));
			const maxNeed = 4 + maxLen;
			const addresses = [A, B, "10.0.0.1"];
			const ports = [5683, 40000];
			const key = () => ({ address: addresses[rng.nextInt(3)]!, port: ports[rng.nextInt(2)]!, mid: rng.nextInt(24) });
			const disown = (i: number) => {
				const m = model[i];
				if (m && m.record >= 0) records[m.record]!.owned = false;
				if (m) m.record = -1;
			};
			const modelFind = (address: string, port: number, mid: number): number => {
				let best = -1;
				for (let i = 0; i < model.length; i++) {
					const m = model[i]!;
					if (m.state === DUP_FREE || m.address !== address || m.port !== port || m.mid !== mid) continue;
					if (best < 0 || m.seq > model[best]!.seq) best = i;
				}
				return best >= 0 && now < model[best]!.expires ? best : -1;
			};
			let ring = 0;
			let cachedSeen = 0;
			let lostSeen = 0;

			for (let step = 0; step < 3000; step++) {
				now += rng.nextInt(5);
				const op = rng.nextInt(100);
				if (op < 35) {
					const k = key();
					const found = d.find(k.address, k.port, k.mid, now);
					assert.equal(found, modelFind(k.address, k.port, k.mid), "find at step " + step);
					if (found < 0 && rng.nextInt(3) !== 0) {
						const lifetime = 1 + rng.nextInt(200);
						const i = d.insert(k.address, k.port, k.mid, now, lifetime);
						assert.equal(i, ring, "insert reuses the oldest slot");
						ring = (ring + 1) % entries;
						disown(i);
						model[i] = { ...k, expires: now + lifetime, state: DUP_SEEN, seq: seq++, record: -1 };
					}
				} else if (op < 45) {
					// An insert regardless of find (the endpoint never does this; the cache must cope).
					const k = key();
					const lifetime = 1 + rng.nextInt(200);
					const i = d.insert(k.address, k.port, k.mid, now, lifetime);
					assert.equal(i, ring);
					ring = (ring + 1) % entries;
					disown(i);
					model[i] = { ...k, expires: now + lifetime, state: DUP_SEEN, seq: seq++, record: -1 };
				} else if (op < 80) {
					if (model.length === 0) continue;
					const i = rng.nextInt(model.length);
					if (model[i]!.state === DUP_FREE) continue;
					const big = rng.nextInt(20) === 0;
					const len = big ? ringBytes - 3 + rng.nextInt(8) : rng.nextInt(maxLen + 1);
					const bytes = new Uint8Array(len);
					rng.fill(bytes);
					d.storeReply(i, bytes, len);
					disown(i);
					const allocated = 4 + len <= ringBytes;
					records.push({ entry: i, bytes, allocated, owned: true });
					model[i]!.record = records.length - 1;
					model[i]!.state = allocated ? DUP_CACHED : DUP_LOST;
				} else if (op < 92) {
					if (model.length === 0) continue;
					const i = rng.nextInt(model.length);
					if (model[i]!.state === DUP_FREE) continue;
					const s = [DUP_SEEN, DUP_EMPTY_ACK, DUP_RESET, DUP_LOST, DUP_FREE][rng.nextInt(5)]!;
					d.setState(i, s);
					disown(i);
					model[i]!.state = s;
				} else if (op < 93) {
					d.clear();
					for (const m of model) {
						m.state = DUP_FREE;
						m.record = -1;
					}
					records = [];
					ring = 0;
				}

				// Check every entry against the model.
				for (let i = 0; i < entries; i++) {
					const m = model[i];
					const real = d.state(i);
					if (!m || m.state === DUP_FREE) {
						assert.equal(real, DUP_FREE, "slot " + i + " free at step " + step);
						continue;
					}
					if (m.state !== DUP_CACHED) {
						assert.equal(real, m.state, "slot " + i + " state at step " + step);
						assert.equal(d.cachedOffset(i), -1);
						continue;
					}
					// Stored and allocated: still cached with the exact bytes, or dropped (DUP_LOST).
					const rec = records[m.record]!;
					if (real === DUP_CACHED) {
						assert.deepEqual(cached(d, i), rec.bytes, "slot " + i + " bytes at step " + step);
						cachedSeen++;
					} else {
						assert.equal(real, DUP_LOST, "slot " + i + " cached or lost at step " + step);
						assert.equal(d.cachedOffset(i), -1);
						lostSeen++;
					}
				}
				// The ring drops oldest first: among owned, allocated records, no lost one is newer
				// than a cached one; the newest is always cached; and every record whose suffix (it
				// and all allocated records after it) takes at most ringBytes - 2 * maxNeed is cached
				// (at most one padding gap and the free space before the next record are wasted).
				let newest = true;
				let suffix = 0;
				for (let r = records.length - 1; r >= 0; r--) {
					const rec = records[r]!;
					if (!rec.allocated) continue;
					suffix += 4 + rec.bytes.length;
					const first = newest;
					newest = false;
					if (!rec.owned) continue;
					const isCached = d.state(rec.entry) === DUP_CACHED;
					if (first) assert.ok(isCached, "the newest reply is cached at step " + step);
					if (suffix <= ringBytes - 2 * maxNeed) assert.ok(isCached, "a recent reply (suffix " + suffix + ") is cached at step " + step);
					if (!isCached) {
						// Everything older than a lost record must be lost too.
						for (let q = r - 1; q >= 0; q--) {
							const o = records[q]!;
							if (o.allocated && o.owned) assert.ok(d.state(o.entry) !== DUP_CACHED, "an older reply outlived a newer one at step " + step);
						}
						break;
					}
				}
			}
			assert.ok(cachedSeen > 0, "cached replies were checked");
			if (lostOutcomes) assert.ok(lostSeen > 0, "dropped replies were checked");
		});
	}
});
