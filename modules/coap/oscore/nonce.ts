/**
 * The AEAD nonce (RFC 8613 §5.2, Figure 8), written into a caller's 13-byte buffer:
 *
 *   1. left-pad the Partial IV (PIV) with zeroes to exactly 5 bytes,
 *   2. left-pad the Sender ID of the endpoint that generated the Partial IV (ID_PIV) with
 *      zeroes to exactly nonce length minus 6 bytes,
 *   3. concatenate the size of the ID_PIV (a single byte S) with the padded ID_PIV and the
 *      padded PIV,
 *   4. and then XOR with the Common IV.
 *
 *   | S | padding | ID_PIV | padding | PIV |  XOR  Common IV
 *
 * Partial IVs are sequence numbers below 2^40 (§7.2.1), held as JavaScript numbers.
 */
import { AEAD_NONCE_LENGTH } from "./aead.js";

/** Longest Sender ID with a 13-byte nonce (§3.3: nonce length minus 6). */
export const MAX_ID_LENGTH = AEAD_NONCE_LENGTH - 6;
/** §7.2.1: sequence numbers stay below 2^40. */
export const MAX_SEQUENCE = 2 ** 40 - 1;

/** Writes the 5-byte big-endian PIV value into out[pos, pos + 5). */
function writePiv5(out: Uint8Array, pos: number, piv: number): void {
	const lo = piv >>> 0; // ToUint32: piv mod 2^32
	out[pos] = (piv - lo) / 4294967296;
	out[pos + 1] = lo >>> 24;
	out[pos + 2] = lo >>> 16;
	out[pos + 3] = lo >>> 8;
	out[pos + 4] = lo;
}

/**
 * nonce = (S | pad | ID_PIV | pad | PIV) XOR Common IV.
 * @param id ID_PIV is id[0, idLength), idLength 0..7
 * @param piv the Partial IV as a number (0 .. 2^40 - 1)
 */
export function writeNonce(out: Uint8Array, commonIv: Uint8Array, id: Uint8Array, idLength: number, piv: number): void {
	out[0] = idLength;
	const pad = 1 + MAX_ID_LENGTH - idLength;
	for (let i = 1; i < pad; i++) out[i] = 0;
	for (let i = 0; i < idLength; i++) out[pad + i] = id[i]!;
	writePiv5(out, 1 + MAX_ID_LENGTH, piv);
	for (let i = 0; i < AEAD_NONCE_LENGTH; i++) out[i]! ^= commonIv[i]!;
}

/** Bytes of the shortest encoding of a Partial IV (§5: leading zeros removed, 0 is one byte). */
export function pivLength(piv: number): number {
	return piv < 0x100 ? 1 : piv < 0x10000 ? 2 : piv < 0x1000000 ? 3 : piv < 0x100000000 ? 4 : 5;
}

/** Writes `piv` as `length` big-endian bytes at out[pos]; returns pos + length. */
export function writePiv(out: Uint8Array, pos: number, piv: number, length: number): number {
	const lo = piv >>> 0;
	const hi = (piv - lo) / 4294967296;
	for (let i = length - 1, shift = 0; i >= 0; i--, shift += 8) out[pos + i] = shift < 32 ? lo >>> shift : hi >>> (shift - 32);
	return pos + length;
}

/** Reads a big-endian Partial IV of `length` (0..5) bytes. */
export function readPiv(b: Uint8Array, pos: number, length: number): number {
	let v = 0;
	for (let i = 0; i < length; i++) v = v * 256 + b[pos + i]!;
	return v;
}
