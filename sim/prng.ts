/**
 * A small seeded PRNG for the simulator: xoshiro128** (Blackman and Vigna, 2018) with its
 * 128-bit state expanded from a 32-bit seed by splitmix32. Not cryptographic; its only job is
 * to make every "random" choice in a simulation reproducible from one number.
 *
 * Portable: 32-bit integer arithmetic through `Math.imul` and `>>> 0`, no module state, so it
 * runs unchanged on XS and Node and gives the same sequence on both.
 */

import type { RandomFill } from "../modules/coap/host.js";

/** 2^32, to scale a uint32 into [0, 1). */
const TWO_POW_32 = 4294967296;

/** One splitmix32 output for `state` (the caller advances state by 0x9e3779b9 per call). */
function splitmix32(state: number): number {
	let z = state | 0;
	z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
	z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
	return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Derives an independent 32-bit seed from `seed` and a label (e.g. a host address), so that
 * each virtual host gets its own stream that does not depend on the order hosts were created.
 * FNV-1a over the label's UTF-16 code units, then mixed with the seed through splitmix32.
 * @throws RangeError if `seed` is not an integer.
 */
export function deriveSeed(seed: number, label: string): number {
	checkSeed(seed);
	let h = 0x811c9dc5;
	for (let i = 0; i < label.length; i++) {
		h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
	}
	return splitmix32((seed >>> 0) + 0x9e3779b9 * 7 + h);
}

function checkSeed(seed: number): void {
	if (typeof seed !== "number" || !Number.isInteger(seed)) {
		throw new RangeError(`seed must be an integer, got ${String(seed)}`);
	}
}

/**
 * xoshiro128** generator. `fill` is an own bound function, so `prng.fill` can be handed to the
 * stack as a `RandomFill` without `bind`.
 */
export class Prng {
	#s0 = 0;
	#s1 = 0;
	#s2 = 0;
	#s3 = 0;

	/**
	 * Fills `out` with bytes from the stream (four per draw, little-endian; a tail shorter than
	 * four bytes consumes one draw). Same seed, same sizes of calls: same bytes.
	 */
	readonly fill: RandomFill = (out: Uint8Array): void => {
		const length = out.length;
		let i = 0;
		for (; i + 4 <= length; i += 4) {
			const v = this.nextUint32();
			out[i] = v & 0xff;
			out[i + 1] = (v >>> 8) & 0xff;
			out[i + 2] = (v >>> 16) & 0xff;
			out[i + 3] = v >>> 24;
		}
		if (i < length) {
			let v = this.nextUint32();
			for (; i < length; i++) {
				out[i] = v & 0xff;
				v >>>= 8;
			}
		}
	};

	/**
	 * @param seed any integer; it is reduced to 32 bits (`seed >>> 0`), so 0 and 2^32 are the same seed.
	 * @throws RangeError if `seed` is not an integer.
	 */
	constructor(seed: number) {
		checkSeed(seed);
		let state = seed >>> 0;
		state = (state + 0x9e3779b9) | 0;
		this.#s0 = splitmix32(state);
		state = (state + 0x9e3779b9) | 0;
		this.#s1 = splitmix32(state);
		state = (state + 0x9e3779b9) | 0;
		this.#s2 = splitmix32(state);
		state = (state + 0x9e3779b9) | 0;
		this.#s3 = splitmix32(state);
		// splitmix32's finalizer is a bijection and the four inputs differ, so at most one word is 0.
	}

	/**
	 * A generator with the given raw xoshiro128** state (four uint32 words, not all zero), to
	 * check the algorithm against the reference implementation's outputs.
	 * @throws RangeError for a state that is not four uint32 words or is all zero.
	 */
	static fromState(s0: number, s1: number, s2: number, s3: number): Prng {
		const words = [s0, s1, s2, s3];
		for (let i = 0; i < 4; i++) {
			const w = words[i]!;
			if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) throw new RangeError(`state word ${i} is not a uint32: ${String(w)}`);
		}
		if ((s0 | s1 | s2 | s3) === 0) throw new RangeError("state must not be all zero");
		const prng = new Prng(0);
		prng.#s0 = s0 | 0;
		prng.#s1 = s1 | 0;
		prng.#s2 = s2 | 0;
		prng.#s3 = s3 | 0;
		return prng;
	}

	/** The next 32-bit unsigned integer, 0 .. 2^32 - 1. */
	nextUint32(): number {
		const s0 = this.#s0;
		const s1 = this.#s1;
		let s2 = this.#s2;
		let s3 = this.#s3;
		const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
		const t = s1 << 9;
		s2 ^= s0;
		s3 ^= s1;
		this.#s1 = s1 ^ s2;
		this.#s0 = s0 ^ s3;
		this.#s2 = s2 ^ t;
		this.#s3 = rotl(s3, 11);
		return r;
	}

	/** A float in [0, 1) with 32 bits of randomness. */
	nextFloat(): number {
		return this.nextUint32() / TWO_POW_32;
	}

	/**
	 * An integer uniformly in [0, bound) (bound ≤ 2^32), by rejection so there is no modulo bias.
	 * @throws RangeError if `bound` is not an integer in 1 .. 2^32.
	 */
	nextInt(bound: number): number {
		if (!Number.isInteger(bound) || bound < 1 || bound > TWO_POW_32) {
			throw new RangeError(`bound must be an integer in 1..2^32, got ${String(bound)}`);
		}
		const limit = TWO_POW_32 - (TWO_POW_32 % bound);
		for (;;) {
			const v = this.nextUint32();
			if (v < limit) return v % bound;
		}
	}
}

function rotl(x: number, k: number): number {
	return (x << k) | (x >>> (32 - k));
}
