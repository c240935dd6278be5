/**
 * Node's native crypto behind OSCORE's crypto port (modules/coap/oscore/aead.ts): AES-CCM-16-64-128
 * through OpenSSL (`aes-128-ccm`, 8-byte tag) and HKDF-SHA-256 (`hkdfSync`). Byte-identical to
 * the portable provider (modules/coap/oscore/noble.ts); a parity test keeps it so. OpenSSL's
 * cipher objects are created per call (Node's API), so each seal/open allocates on the V8 heap;
 * it is still faster than AES in JavaScript (bench/oscore.mjs).
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from "node:crypto";
import { AEAD_KEY_LENGTH, AEAD_MAX_PLAINTEXT, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, type Aead, type OscoreCrypto } from "../../modules/coap/oscore/aead.js";

class NodeAesCcm implements Aead {
	readonly stateBytes = AEAD_KEY_LENGTH;
	#key: KeyObject | null;

	constructor(key: Uint8Array) {
		if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) throw new RangeError("AES-CCM-16-64-128 key must be 16 bytes");
		this.#key = createSecretKey(Uint8Array.from(key));
	}

	seal(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number {
		if (!(length >= 0 && length <= AEAD_MAX_PLAINTEXT)) throw new RangeError("AES-CCM plaintext must be 0..65535 bytes, got " + length);
		if (!(offset >= 0 && offset + length + AEAD_TAG_LENGTH <= buf.length)) throw new RangeError("AES-CCM seal: " + length + " bytes at " + offset + " plus the tag do not fit a buffer of " + buf.length);
		if (nonce.length !== AEAD_NONCE_LENGTH) throw new RangeError("AES-CCM nonce must be 13 bytes, got " + nonce.length);
		if (this.#key === null) throw new TypeError("AES-CCM key was wiped");
		const c = createCipheriv("aes-128-ccm", this.#key, nonce, { authTagLength: AEAD_TAG_LENGTH });
		c.setAAD(aad.subarray(0, aadLength), { plaintextLength: length });
		const out = c.update(buf.subarray(offset, offset + length));
		c.final();
		buf.set(out, offset);
		buf.set(c.getAuthTag(), offset + length);
		return length + AEAD_TAG_LENGTH;
	}

	open(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number {
		if (!(length >= AEAD_TAG_LENGTH && offset >= 0 && offset + length <= buf.length) || nonce.length !== AEAD_NONCE_LENGTH || this.#key === null) return -1;
		if (!(aadLength >= 0 && aadLength <= aad.length)) return -1;
		const n = length - AEAD_TAG_LENGTH;
		try {
			const d = createDecipheriv("aes-128-ccm", this.#key, nonce, { authTagLength: AEAD_TAG_LENGTH });
			d.setAuthTag(buf.subarray(offset + n, offset + length));
			d.setAAD(aad.subarray(0, aadLength), { plaintextLength: n });
			const out = d.update(buf.subarray(offset, offset + n));
			d.final(); // throws when the tag does not verify: `out` is then never copied out
			buf.set(out, offset);
			return n;
		} catch {
			buf.fill(0, offset, offset + length);
			return -1;
		}
	}

	wipe(): void {
		this.#key = null;
	}
}

/** OSCORE crypto from node:crypto (OpenSSL). */
export const nodeCrypto: OscoreCrypto = Object.freeze({
	aead(key: Uint8Array): Aead {
		return new NodeAesCcm(key);
	},
	hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, infoLength: number, out: Uint8Array, length: number): void {
		out.set(new Uint8Array(hkdfSync("sha256", ikm, salt, info.subarray(0, infoLength), length)));
	},
});
