/**
 * Key derivation (RFC 8613 §3.2.1): Sender Key, Recipient Key and Common IV from the Master
 * Secret and Master Salt with HKDF, the `info` CBOR array written straight into a buffer:
 *
 *   info = [ id : bstr, id_context : bstr / nil, alg_aead : int / tstr, type : tstr, L : uint ]
 *
 * `id` is the Sender ID (Sender Key), the Recipient ID (Recipient Key) or the empty string
 * (Common IV); `type` is "Key" or "IV"; L is 16 for keys and 13 for the Common IV with
 * AES-CCM-16-64-128. Runs when a context is derived (not per message); the info buffer is the
 * caller's.
 * Leaves out: alg_aead as a text string (no such algorithm is supported), HKDF other than SHA-256.
 */
import { AES_CCM_16_64_128, type OscoreCrypto } from "./aead.js";
import { CBOR_NULL, MAJOR_ARRAY, MAJOR_UINT, writeAscii, writeBytes, writeHead } from "./cbor.js";

/** Largest info array for ids of `idLength` and an ID Context of `idContextLength` bytes. */
export function infoLength(idLength: number, idContextLength: number): number {
	// 0x85, bstr id, bstr/nil id_context, 0x0a, "Key"/"IV" (4), L (1)
	return 1 + (3 + idLength) + (3 + idContextLength) + 1 + 4 + 1;
}

/**
 * Writes the info array into `out` and returns its length.
 * @param idContext the ID Context bytes [0, idContextLength), or null for nil (no ID Context)
 */
export function writeInfo(out: Uint8Array, id: Uint8Array, idLength: number, idContext: Uint8Array | null, idContextLength: number, type: "Key" | "IV", length: number): number {
	let p = writeHead(out, 0, MAJOR_ARRAY, 5);
	p = writeBytes(out, p, id, 0, idLength);
	if (idContext === null) out[p++] = CBOR_NULL;
	else p = writeBytes(out, p, idContext, 0, idContextLength);
	p = writeHead(out, p, MAJOR_UINT, AES_CCM_16_64_128);
	p = writeAscii(out, p, type);
	return writeHead(out, p, MAJOR_UINT, length);
}

/**
 * output parameter = HKDF(Master Salt, Master Secret, info, L) into out[0, length).
 * @param info scratch of at least infoLength(idLength, idContextLength) bytes
 */
export function deriveParameter(crypto: OscoreCrypto, masterSecret: Uint8Array, masterSalt: Uint8Array, id: Uint8Array, idLength: number, idContext: Uint8Array | null, idContextLength: number, type: "Key" | "IV", out: Uint8Array, length: number, info: Uint8Array): void {
	const n = writeInfo(info, id, idLength, idContext, idContextLength, type, length);
	crypto.hkdf(masterSalt, masterSecret, info, n, out, length);
}
