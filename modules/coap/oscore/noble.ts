/**
 * The portable crypto provider of OSCORE (aead.ts `OscoreCrypto`): AES-CCM-16-64-128 from
 * ccm.ts (on `@noble/ciphers`' AES) and HKDF-SHA-256 from `@noble/hashes`. Runs on Node and
 * on XS unchanged.
 *
 * Moddable: do not preload this module. `@noble/hashes` keeps scratch buffers at module level
 * (SHA-256's message schedule, HKDF's counter) that it writes on every call; preloaded, they
 * would be frozen into flash and the first derivation would throw (DESIGN.md "Preloaded modules
 * freeze"). The OSCORE modules that are preloaded take an `OscoreCrypto` as an argument and
 * import nothing from noble, so only this adapter (and ccm.ts) load at run time.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Aead, OscoreCrypto } from "./aead.js";
import { AesCcm } from "./ccm.js";

/** HKDF-SHA-256 and AES-CCM-16-64-128 in plain JavaScript. */
export const nobleCrypto: OscoreCrypto = Object.freeze({
	aead(key: Uint8Array): Aead {
		return new AesCcm(key);
	},
	hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, infoLength: number, out: Uint8Array, length: number): void {
		if (!(length >= 1 && length <= out.length && length <= 255 * 32)) throw new RangeError("HKDF output length " + length + " out of range");
		const okm = hkdf(sha256, ikm, salt, info.subarray(0, infoLength), length);
		out.set(okm);
		okm.fill(0);
	},
});
