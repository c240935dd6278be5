// Datagram mutations for the endpoint fuzzer (fuzzer.ts): bit flips, byte sets to interesting
// values, insertions, deletions, truncation, appended bytes, option headers pushed to the edge
// values of their delta and length nibbles (12/13/14/15 and the extension bytes around 13, 269
// and 65535), token length nibbles, codes and types, repeated options and splicing with another
// message. Everything comes from one seeded PRNG. Portable: no Node APIs.
import { Prng } from "../../../sim/prng.js";

const INTERESTING = Object.freeze([0x00, 0x01, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x7f, 0x80, 0xc0, 0xd0, 0xdd, 0xe0, 0xee, 0xf0, 0xff]);

/** Where the option headers of a (maybe damaged) message are: a tolerant walk that stops at the first thing it cannot read. */
export function optionHeaders(b: Uint8Array): number[] {
	const out: number[] = [];
	if (b.length < 4) return out;
	let p = 4 + (b[0]! & 0x0f);
	while (p < b.length && out.length < 64) {
		const h = b[p]!;
		if (h === 0xff) break;
		out.push(p);
		let q = p + 1;
		const d = h >> 4;
		const l = h & 15;
		if (d === 15 || l === 15) break;
		q += d === 13 ? 1 : d === 14 ? 2 : 0;
		let len = l;
		if (l === 13) len = (b[q] ?? 0) + 13;
		else if (l === 14) len = (((b[q] ?? 0) << 8) | (b[q + 1] ?? 0)) + 269;
		q += l === 13 ? 1 : l === 14 ? 2 : 0;
		p = q + len;
	}
	return out;
}

/** Mutates `src` (not changed) with 1..4 random mutations; `other` is a second message for splicing. */
export function mutate(rng: Prng, src: Uint8Array, other: Uint8Array): Uint8Array {
	let b: Uint8Array = src.slice();
	const rounds = 1 + rng.nextInt(rng.nextInt(4) === 0 ? 4 : 2);
	for (let r = 0; r < rounds; r++) b = mutateOnce(rng, b, other);
	return b;
}

function insert(b: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
	const out = new Uint8Array(b.length + bytes.length);
	out.set(b.subarray(0, at));
	out.set(bytes, at);
	out.set(b.subarray(at), at + bytes.length);
	return out;
}

function mutateOnce(rng: Prng, b: Uint8Array, other: Uint8Array): Uint8Array {
	const n = b.length;
	const at = (): number => (n === 0 ? 0 : rng.nextInt(n));
	switch (rng.nextInt(12)) {
		case 0: {
			// one to three bit flips
			if (n === 0) return b;
			for (let i = 1 + rng.nextInt(3); i > 0; i--) {
				const k = at();
				b[k] = b[k]! ^ (1 << rng.nextInt(8));
			}
			return b;
		}
		case 1: {
			// a byte set to an interesting value (mostly in the header, token and first options)
			if (n === 0) return b;
			const k = rng.nextInt(2) === 0 ? rng.nextInt(Math.min(n, 16)) : at();
			b[k] = INTERESTING[rng.nextInt(INTERESTING.length)]!;
			return b;
		}
		case 2: {
			// insert 1..4 random bytes
			const bytes = new Uint8Array(1 + rng.nextInt(4));
			rng.fill(bytes);
			return insert(b, n === 0 ? 0 : rng.nextInt(n + 1), bytes);
		}
		case 3: {
			// delete 1..8 bytes
			if (n === 0) return b;
			const k = at();
			const len = Math.min(n - k, 1 + rng.nextInt(8));
			const out = new Uint8Array(n - len);
			out.set(b.subarray(0, k));
			out.set(b.subarray(k + len), k);
			return out;
		}
		case 4:
			// truncate
			return b.slice(0, n === 0 ? 0 : rng.nextInt(n));
		case 5: {
			// append random bytes, or a payload marker and nothing, or a copy of the tail
			const u = rng.nextInt(3);
			if (u === 0) return insert(b, n, Uint8Array.of(0xff));
			if (u === 1 && n > 0) return insert(b, n, b.slice(rng.nextInt(n)));
			const bytes = new Uint8Array(1 + rng.nextInt(16));
			rng.fill(bytes);
			return insert(b, n, bytes);
		}
		case 6: {
			// an option header at the edge: delta/length nibbles 12..15 with extension bytes 0x00/0xff
			const heads = optionHeaders(b);
			const k = heads.length > 0 && rng.nextInt(4) !== 0 ? heads[rng.nextInt(heads.length)]! : Math.min(n, 4 + (n > 0 ? b[0]! & 0x0f : 0));
			const nib = (): number => 12 + rng.nextInt(4);
			const head = rng.nextInt(3) === 0 ? (nib() << 4) | nib() : rng.nextInt(2) === 0 ? (nib() << 4) | ((b[k] ?? 0) & 15) : ((b[k] ?? 0) & 0xf0) | nib();
			const ext = new Uint8Array(rng.nextInt(3));
			for (let i = 0; i < ext.length; i++) ext[i] = rng.nextInt(2) === 0 ? 0xff : rng.nextInt(3) === 0 ? 0x00 : rng.nextInt(256);
			if (k >= n) return insert(b, n, insert(ext, 0, Uint8Array.of(head)));
			b[k] = head;
			return insert(b, k + 1, ext);
		}
		case 7: {
			// splice: this message's head with the other's tail
			const cutA = n === 0 ? 0 : rng.nextInt(n + 1);
			const cutB = other.length === 0 ? 0 : rng.nextInt(other.length + 1);
			const out = new Uint8Array(cutA + other.length - cutB);
			out.set(b.subarray(0, cutA));
			out.set(other.subarray(cutB), cutA);
			return out;
		}
		case 8:
			// token length nibble 0..15 (9..15 are reserved)
			if (n > 0) b[0] = (b[0]! & 0xf0) | rng.nextInt(16);
			return b;
		case 9:
			// code: any byte (requests, responses, reserved classes, empty); or the type
			if (n > 1 && rng.nextInt(2) === 0) b[1] = rng.nextInt(256);
			else if (n > 0) b[0] = (b[0]! & 0xcf) | (rng.nextInt(4) << 4);
			return b;
		case 10: {
			// repeat an option (delta 0, same value): a second Observe, Block2, Uri-Host ...
			const heads = optionHeaders(b);
			if (heads.length === 0) return b;
			const i = rng.nextInt(heads.length);
			const start = heads[i]!;
			const end = i + 1 < heads.length ? heads[i + 1]! : Math.min(n, start + 1 + rng.nextInt(8));
			const copy = b.slice(start, end);
			if (copy.length > 0) copy[0] = copy[0]! & 0x0f; // delta 0
			return insert(b, end, copy);
		}
		default: {
			// the version bits, or a random byte anywhere
			if (n === 0) return b;
			if (rng.nextInt(4) === 0) b[0] = (b[0]! & 0x3f) | (rng.nextInt(4) << 6);
			else b[at()] = rng.nextInt(256);
			return b;
		}
	}
}
