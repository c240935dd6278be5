/**
 * AES-CCM-16-64-128 (COSE algorithm 10, RFC 8152 §10.2): CCM mode (RFC 3610, NIST SP 800-38C)
 * with M = 8 (tag bytes), L = 2 (length bytes, so a 13-byte nonce), built on the raw AES
 * block function of `@noble/ciphers` (which has no CCM mode of its own). Encrypts and
 * decrypts in place in the caller's buffer (aead.ts).
 *
 * The block function is noble's `unsafe.encrypt(xk, s0, s1, s2, s3)`: it takes the state as
 * four little-endian 32-bit words (byte i of the block in bits 8*(i%4) of word i/4, on every
 * platform) and the key schedule of `unsafe.expandKeyLE`. Packing the words here avoids the
 * Uint32Array view that noble's `encryptBlock` makes per call; the one allocation per block
 * left is the small result object noble returns (XS collects it; a host-native AEAD has none).
 *
 * Leaves out: other M and L values (OSCORE uses only these), AAD of 65280 bytes or more
 * (RFC 3610 §2.2's longer length encodings; OSCORE's AAD is a few dozen bytes).
 * Not constant-time beyond what noble's table-based AES is (see noble's README).
 */
import { unsafe } from "@noble/ciphers/aes.js";
import { AEAD_KEY_LENGTH, AEAD_MAX_PLAINTEXT, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, type Aead } from "./aead.js";

// RFC 3610 §2.2: Flags = 64*Adata + 8*M' + L', M' = (M-2)/2 = 3, L' = L-1 = 1.
const B0_FLAGS_NO_AAD = (3 << 3) | 1; // 0x19
const B0_FLAGS_AAD = 0x40 | B0_FLAGS_NO_AAD; // 0x59
// RFC 3610 §2.3: counter block flags = L' = 1.
const A_FLAGS = 1;
/** RFC 3610 §2.2: AAD shorter than 2^16 - 2^8 is prefixed with its length in two bytes. */
const MAX_AAD = 0xff00 - 1;

/** Little-endian word of buf[o, o + 4). */
function word(b: Uint8Array, o: number): number {
	return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** Little-endian word of buf[o, end) zero-padded to 4 bytes (end - o may be 0..4). */
function tailWord(b: Uint8Array, o: number, end: number): number {
	let w = 0;
	for (let i = 0; i < 4 && o + i < end; i++) w |= b[o + i]! << (8 * i);
	return w;
}

export class AesCcm implements Aead {
	readonly stateBytes: number;
	readonly #xk: Uint32Array;
	// AES state / result words (CBC-MAC chaining value X, then scratch).
	#x0 = 0;
	#x1 = 0;
	#x2 = 0;
	#x3 = 0;
	// The nonce's middle words, shared by B0 and every counter block (set per call).
	#n1 = 0;
	#n2 = 0;
	// Staging block for the length-prefixed AAD.
	readonly #stage = new Uint8Array(16);

	/** @param key 16 bytes (copied into the key schedule). @throws RangeError for another length. */
	constructor(key: Uint8Array) {
		if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) throw new RangeError("AES-CCM-16-64-128 key must be 16 bytes, got " + (key instanceof Uint8Array ? key.length : typeof key));
		const k = Uint8Array.from(key);
		this.#xk = unsafe.expandKeyLE(k);
		k.fill(0);
		this.stateBytes = this.#xk.byteLength + this.#stage.byteLength + 8 * 8;
	}

	/** X = E(K, X): one AES block on the state words. */
	#encrypt(): void {
		const r = unsafe.encrypt(this.#xk, this.#x0, this.#x1, this.#x2, this.#x3);
		this.#x0 = r.s0;
		this.#x1 = r.s1;
		this.#x2 = r.s2;
		this.#x3 = r.s3;
	}

	seal(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number {
		if (!(length >= 0 && length <= AEAD_MAX_PLAINTEXT)) throw new RangeError("AES-CCM plaintext must be 0..65535 bytes, got " + length);
		if (!(offset >= 0 && offset + length + AEAD_TAG_LENGTH <= buf.length)) throw new RangeError("AES-CCM seal: " + length + " bytes at " + offset + " plus the tag do not fit a buffer of " + buf.length);
		if (!(aadLength >= 0 && aadLength <= MAX_AAD && aadLength <= aad.length)) throw new RangeError("AES-CCM aad length " + aadLength + " out of range");
		if (nonce.length !== AEAD_NONCE_LENGTH) throw new RangeError("AES-CCM nonce must be 13 bytes, got " + nonce.length);
		this.#nonce(nonce);
		this.#mac(nonce, aad, aadLength, buf, offset, length);
		const t0 = this.#x0;
		const t1 = this.#x1;
		this.#ctr(nonce, buf, offset, length);
		// RFC 3610 §2.3: U = T XOR first-M-bytes(S_0).
		this.#counter(nonce, 0);
		this.#encrypt();
		const u0 = t0 ^ this.#x0;
		const u1 = t1 ^ this.#x1;
		const p = offset + length;
		buf[p] = u0;
		buf[p + 1] = u0 >>> 8;
		buf[p + 2] = u0 >>> 16;
		buf[p + 3] = u0 >>> 24;
		buf[p + 4] = u1;
		buf[p + 5] = u1 >>> 8;
		buf[p + 6] = u1 >>> 16;
		buf[p + 7] = u1 >>> 24;
		return length + AEAD_TAG_LENGTH;
	}

	open(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number {
		if (!(length >= AEAD_TAG_LENGTH && length - AEAD_TAG_LENGTH <= AEAD_MAX_PLAINTEXT && offset >= 0 && offset + length <= buf.length)) return -1;
		if (!(aadLength >= 0 && aadLength <= MAX_AAD && aadLength <= aad.length) || nonce.length !== AEAD_NONCE_LENGTH) return -1;
		const n = length - AEAD_TAG_LENGTH;
		this.#nonce(nonce);
		// RFC 3610 §2.5: decrypt with the key stream, then recompute the tag over the plaintext.
		this.#ctr(nonce, buf, offset, n);
		this.#mac(nonce, aad, aadLength, buf, offset, n);
		const t0 = this.#x0;
		const t1 = this.#x1;
		this.#counter(nonce, 0);
		this.#encrypt();
		const u0 = t0 ^ this.#x0;
		const u1 = t1 ^ this.#x1;
		const p = offset + n;
		// Compare all 8 bytes without an early exit.
		const diff = (u0 ^ word(buf, p)) | (u1 ^ word(buf, p + 4));
		if (diff !== 0) {
			buf.fill(0, offset, offset + length); // never expose unverified plaintext
			return -1;
		}
		return n;
	}

	wipe(): void {
		this.#xk.fill(0);
		this.#stage.fill(0);
		this.#x0 = this.#x1 = this.#x2 = this.#x3 = 0;
	}

	/** Words 1 and 2 of B0 and of every counter block: nonce bytes 3..10. */
	#nonce(nonce: Uint8Array): void {
		this.#n1 = word(nonce, 3);
		this.#n2 = word(nonce, 7);
	}

	/** State = counter block A_i (RFC 3610 §2.3): flags, nonce, i in two bytes. */
	#counter(nonce: Uint8Array, i: number): void {
		this.#x0 = A_FLAGS | (nonce[0]! << 8) | (nonce[1]! << 16) | (nonce[2]! << 24);
		this.#x1 = this.#n1;
		this.#x2 = this.#n2;
		this.#x3 = nonce[11]! | (nonce[12]! << 8) | ((i >> 8) << 16) | ((i & 0xff) << 24);
	}

	/** CBC-MAC (RFC 3610 §2.2) over B0, the length-prefixed AAD and the plaintext; leaves T in x0, x1. */
	#mac(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): void {
		// B0: flags | nonce | l(m) (two bytes, big-endian).
		this.#x0 = (aadLength > 0 ? B0_FLAGS_AAD : B0_FLAGS_NO_AAD) | (nonce[0]! << 8) | (nonce[1]! << 16) | (nonce[2]! << 24);
		this.#x1 = this.#n1;
		this.#x2 = this.#n2;
		this.#x3 = nonce[11]! | (nonce[12]! << 8) | ((length >> 8) << 16) | ((length & 0xff) << 24);
		this.#encrypt();
		if (aadLength > 0) {
			const s = this.#stage;
			s[0] = aadLength >> 8;
			s[1] = aadLength & 0xff;
			let p = 2;
			for (let i = 0; i < aadLength; i++) {
				s[p++] = aad[i]!;
				if (p === 16) {
					this.#absorb(s, 0);
					p = 0;
				}
			}
			if (p > 0) {
				s.fill(0, p);
				this.#absorb(s, 0);
			}
		}
		const end = offset + length;
		let o = offset;
		for (; o + 16 <= end; o += 16) this.#absorb(buf, o);
		if (o < end) {
			this.#x0 ^= tailWord(buf, o, end);
			this.#x1 ^= tailWord(buf, o + 4, end);
			this.#x2 ^= tailWord(buf, o + 8, end);
			this.#x3 ^= tailWord(buf, o + 12, end);
			this.#encrypt();
		}
	}

	/** X = E(K, X XOR b[o, o + 16)). */
	#absorb(b: Uint8Array, o: number): void {
		this.#x0 ^= word(b, o);
		this.#x1 ^= word(b, o + 4);
		this.#x2 ^= word(b, o + 8);
		this.#x3 ^= word(b, o + 12);
		this.#encrypt();
	}

	/** XORs buf[offset, offset + length) with the key stream S_1, S_2, ... (RFC 3610 §2.3). */
	#ctr(nonce: Uint8Array, buf: Uint8Array, offset: number, length: number): void {
		const end = offset + length;
		let i = 1;
		for (let o = offset; o < end; o += 16, i++) {
			this.#counter(nonce, i);
			this.#encrypt();
			if (o + 16 <= end) {
				xorWord(buf, o, this.#x0);
				xorWord(buf, o + 4, this.#x1);
				xorWord(buf, o + 8, this.#x2);
				xorWord(buf, o + 12, this.#x3);
			} else {
				for (let j = 0; o + j < end; j++) {
					const w = j < 4 ? this.#x0 : j < 8 ? this.#x1 : j < 12 ? this.#x2 : this.#x3;
					buf[o + j] ^= w >>> (8 * (j & 3));
				}
			}
		}
	}
}

function xorWord(b: Uint8Array, o: number, w: number): void {
	b[o] ^= w;
	b[o + 1] ^= w >>> 8;
	b[o + 2] ^= w >>> 16;
	b[o + 3] ^= w >>> 24;
}
