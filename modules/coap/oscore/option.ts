/**
 * The OSCORE option value (RFC 8613 §6.1): the compressed COSE header, parsed into offsets
 * over the borrowed message bytes and written straight into a buffer. No objects per message:
 * one OscoreOptionValue is reused for every parse.
 *
 *    0 1 2 3 4 5 6 7 <------------- n bytes -------------->
 *   +-+-+-+-+-+-+-+-+--------------------------------------
 *   |0 0 0|h|k|  n  |       Partial IV (if any) ...
 *   +-+-+-+-+-+-+-+-+--------------------------------------
 *    <- 1 byte -> <----- s bytes ------>
 *   +------------+----------------------+------------------+
 *   | s (if any) | kid context (if any) | kid (if any) ... |
 *   +------------+----------------------+------------------+
 *
 * A malformed value is a status (E_OSCORE_DECOMPRESS, §8.2 step 2), never an exception.
 * Leaves out: the Group OSCORE flag (bit 5) and other reserved bits: a value using them is
 * malformed here, as §6.1 says for this specification.
 */
import { E_OSCORE_DECOMPRESS } from "./status.js";
import { readPiv, writePiv } from "./nonce.js";

const FLAG_K = 0x08; // 'kid' present
const FLAG_H = 0x10; // 'kid context' present
const FLAGS_RESERVED = 0xe0;
const N_MASK = 0x07;

/** Parsed OSCORE option value: offsets into the message bytes (valid while they are). */
export class OscoreOptionValue {
	/** Partial IV length n (0: absent) and value. */
	pivLength = 0;
	piv = 0;
	pivOffset = 0;
	/** 'kid' offset and length; kidLength -1 when absent (0 is a present, empty kid). */
	kidOffset = 0;
	kidLength = -1;
	/** 'kid context' offset and length; -1 when absent. */
	kidContextOffset = 0;
	kidContextLength = -1;

	/**
	 * Parses bytes[offset, offset + length). Returns 0, or E_OSCORE_DECOMPRESS for reserved
	 * flags, n = 6 or 7, fields running past the value, or bytes left over without the k flag.
	 */
	parse(bytes: Uint8Array, offset: number, length: number): number {
		this.pivLength = 0;
		this.piv = 0;
		this.pivOffset = offset;
		this.kidLength = -1;
		this.kidOffset = offset;
		this.kidContextLength = -1;
		this.kidContextOffset = offset;
		// §2: all flag bits zero => the value is empty. (A single 0x00 byte is accepted too.)
		if (length === 0) return 0;
		const end = offset + length;
		const flags = bytes[offset]!;
		// §6.1: reserved bits set => malformed, decompression fails (§8.2 step 2).
		if ((flags & FLAGS_RESERVED) !== 0) return E_OSCORE_DECOMPRESS;
		const n = flags & N_MASK;
		if (n > 5) return E_OSCORE_DECOMPRESS; // n = 6 and 7 are reserved
		let p = offset + 1;
		if (p + n > end) return E_OSCORE_DECOMPRESS;
		this.pivLength = n;
		this.pivOffset = p;
		this.piv = readPiv(bytes, p, n);
		p += n;
		if ((flags & FLAG_H) !== 0) {
			if (p >= end) return E_OSCORE_DECOMPRESS;
			const s = bytes[p++]!;
			if (p + s > end) return E_OSCORE_DECOMPRESS;
			this.kidContextOffset = p;
			this.kidContextLength = s;
			p += s;
		}
		if ((flags & FLAG_K) !== 0) {
			// §6.1: the remaining bytes encode the 'kid'.
			this.kidOffset = p;
			this.kidLength = end - p;
		} else if (p !== end) return E_OSCORE_DECOMPRESS;
		return 0;
	}
}

/** Bytes of an OSCORE option value with these fields (-1: field absent). */
export function optionValueLength(pivLength: number, kidContextLength: number, kidLength: number): number {
	if (pivLength === 0 && kidContextLength < 0 && kidLength < 0) return 0; // §2: empty value
	return 1 + pivLength + (kidContextLength >= 0 ? 1 + kidContextLength : 0) + (kidLength >= 0 ? kidLength : 0);
}

/**
 * Writes an OSCORE option value at out[pos]: flags, Partial IV (`pivLength` bytes of `piv`,
 * 0 = absent), kid context (kidContext[0, kidContextLength), -1 = absent) and kid
 * (kid[0, kidLength), -1 = absent). Returns pos + optionValueLength(...).
 */
export function writeOptionValue(out: Uint8Array, pos: number, piv: number, pivLength: number, kidContext: Uint8Array | null, kidContextLength: number, kid: Uint8Array | null, kidLength: number): number {
	if (pivLength === 0 && kidContextLength < 0 && kidLength < 0) return pos;
	out[pos++] = pivLength | (kidLength >= 0 ? FLAG_K : 0) | (kidContextLength >= 0 ? FLAG_H : 0);
	pos = writePiv(out, pos, piv, pivLength);
	if (kidContextLength >= 0) {
		out[pos++] = kidContextLength;
		for (let i = 0; i < kidContextLength; i++) out[pos++] = kidContext![i]!;
	}
	for (let i = 0; i < kidLength; i++) out[pos++] = kid![i]!;
	return pos;
}
