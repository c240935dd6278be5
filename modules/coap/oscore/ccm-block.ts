/**
 * AES-CCM-16-64-128 (COSE algorithm 10; CCM of RFC 3610 / NIST SP 800-38C with M = 8, L = 2)
 * over any AES block function a host has: `BlockEncrypt.encryptBlock` encrypts one 16-byte
 * block in place. The Moddable host hands in its native AES (hosts/moddable/oscore-crypto.ts:
 * the SDK's `crypt` BlockCipher), so a device protects and unprotects without AES in
 * JavaScript and without allocating per block; ccm.ts stays the portable CCM on noble's AES.
 *
 * The CBC-MAC state and the counter block are two 16-byte arrays of this object, each on its
 * own ArrayBuffer (a native block function may want whole buffers). Same checks and outcomes as
 * ccm.ts (aead.ts `Aead`): seal and open work in place, open zeroes what it decrypted when the
 * tag does not verify.
 * Leaves out: other M and L values, AAD of 65280 bytes or more (OSCORE's AAD is a few dozen bytes).
 */
import { AEAD_MAX_PLAINTEXT, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, type Aead } from "./aead.js";

/** One AES key's block encryption. */
export interface BlockEncrypt {
	/** Encrypts block[0, 16) in place (block is one of BlockCcm's own 16-byte arrays). */
	encryptBlock(block: Uint8Array): void;
	/** Forgets the key. */
	wipe(): void;
	/** Bytes of state (the key schedule), for the memory budget. */
	readonly stateBytes: number;
}

// RFC 3610 §2.2: Flags = 64*Adata + 8*M' + L', M' = (M-2)/2 = 3, L' = L-1 = 1; §2.3: counter flags L'.
const B0_FLAGS = (3 << 3) | 1;
const A_FLAGS = 1;
const MAX_AAD = 0xff00 - 1;

export class BlockCcm implements Aead {
	readonly #block: BlockEncrypt;
	/** CBC-MAC chaining value X. */
	readonly #x = new Uint8Array(16);
	/** Counter block A_i, then its key stream S_i. */
	readonly #a = new Uint8Array(16);
	readonly stateBytes: number;

	constructor(block: BlockEncrypt) {
		if (!block || typeof block.encryptBlock !== "function") throw new TypeError("BlockCcm needs a BlockEncrypt");
		this.#block = block;
		this.stateBytes = block.stateBytes + 32;
	}

	seal(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number {
		if (!(length >= 0 && length <= AEAD_MAX_PLAINTEXT)) throw new RangeError("AES-CCM plaintext must be 0..65535 bytes, got " + length);
		if (!(offset >= 0 && offset + length + AEAD_TAG_LENGTH <= buf.length)) throw new RangeError("AES-CCM seal: " + length + " bytes at " + offset + " plus the tag do not fit a buffer of " + buf.length);
		if (!(aadLength >= 0 && aadLength <= MAX_AAD && aadLength <= aad.length)) throw new RangeError("AES-CCM aad length " + aadLength + " out of range");
		if (nonce.length !== AEAD_NONCE_LENGTH) throw new RangeError("AES-CCM nonce must be 13 bytes, got " + nonce.length);
		this.#mac(nonce, aad, aadLength, buf, offset, length);
		this.#ctr(nonce, buf, offset, length);
		// RFC 3610 §2.3: U = T xor first-M-bytes(S_0).
		this.#counter(nonce, 0);
		const a = this.#a;
		const x = this.#x;
		const t = offset + length;
		for (let i = 0; i < AEAD_TAG_LENGTH; i++) buf[t + i] = x[i]! ^ a[i]!;
		return length + AEAD_TAG_LENGTH;
	}

	open(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number {
		const n = length - AEAD_TAG_LENGTH;
		if (!(n >= 0 && n <= AEAD_MAX_PLAINTEXT && offset >= 0 && offset + length <= buf.length && nonce.length === AEAD_NONCE_LENGTH && aadLength >= 0 && aadLength <= MAX_AAD && aadLength <= aad.length)) {
			if (offset >= 0 && length > 0 && offset + length <= buf.length) buf.fill(0, offset, offset + length);
			return -1;
		}
		this.#ctr(nonce, buf, offset, n);
		this.#mac(nonce, aad, aadLength, buf, offset, n);
		this.#counter(nonce, 0);
		const a = this.#a;
		const x = this.#x;
		let diff = 0;
		for (let i = 0; i < AEAD_TAG_LENGTH; i++) diff |= buf[offset + n + i]! ^ x[i]! ^ a[i]!;
		if (diff !== 0) {
			buf.fill(0, offset, offset + length); // §8.2 step 6: nothing unverified is released
			return -1;
		}
		return n;
	}

	wipe(): void {
		this.#block.wipe();
		this.#x.fill(0);
		this.#a.fill(0);
	}

	/** A = flags | nonce | i (two bytes), encrypted: the key stream block S_i in #a. */
	#counter(nonce: Uint8Array, i: number): void {
		const a = this.#a;
		a[0] = A_FLAGS;
		for (let k = 0; k < AEAD_NONCE_LENGTH; k++) a[1 + k] = nonce[k]!;
		a[14] = i >> 8;
		a[15] = i & 0xff;
		this.#block.encryptBlock(a);
	}

	/** CTR encryption of buf[offset, offset + length) with S_1, S_2, ... (RFC 3610 §2.3). */
	#ctr(nonce: Uint8Array, buf: Uint8Array, offset: number, length: number): void {
		const a = this.#a;
		for (let p = 0, i = 1; p < length; p += 16, i++) {
			this.#counter(nonce, i);
			const end = Math.min(16, length - p);
			for (let k = 0; k < end; k++) buf[offset + p + k]! ^= a[k]!;
		}
	}

	/** CBC-MAC over B_0, the length-prefixed AAD and the plaintext (RFC 3610 §2.2): T in #x. */
	#mac(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): void {
		const x = this.#x;
		const block = this.#block;
		x[0] = B0_FLAGS | (aadLength > 0 ? 0x40 : 0);
		for (let k = 0; k < AEAD_NONCE_LENGTH; k++) x[1 + k] = nonce[k]!;
		x[14] = length >> 8;
		x[15] = length & 0xff;
		block.encryptBlock(x);
		if (aadLength > 0) {
			// l(a) in two bytes, then a, zero-padded to whole blocks.
			x[0]! ^= aadLength >> 8;
			x[1]! ^= aadLength & 0xff;
			let j = 2;
			for (let p = 0; p < aadLength; p++) {
				x[j++]! ^= aad[p]!;
				if (j === 16) {
					block.encryptBlock(x);
					j = 0;
				}
			}
			if (j > 0) block.encryptBlock(x);
		}
		for (let p = 0; p < length; p += 16) {
			const end = Math.min(16, length - p);
			for (let k = 0; k < end; k++) x[k]! ^= buf[offset + p + k]!;
			block.encryptBlock(x);
		}
	}
}
