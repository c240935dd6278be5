/**
 * The few CBOR encodings (RFC 8949 §3) that OSCORE's fixed structures need (RFC 8613 §3.2.1
 * info, §5.4 external_aad and Enc_structure), written straight into a caller's buffer at a
 * position, so nothing is allocated and no general CBOR encoder is involved. Every function
 * returns the position after what it wrote; callers size their buffers from the stated
 * maximum lengths, so these do not check bounds beyond what the typed array ignores.
 * Leaves out: everything else of CBOR (decoding included: OSCORE never decodes CBOR).
 */

export const MAJOR_UINT = 0;
export const MAJOR_BYTES = 2;
export const MAJOR_TEXT = 3;
export const MAJOR_ARRAY = 4;
/** RFC 8949 §3.3: simple value 22, null. */
export const CBOR_NULL = 0xf6;

/** Bytes of a head for `value` (0..65535). */
export function headLength(value: number): number {
	return value < 24 ? 1 : value < 256 ? 2 : 3;
}

/** Writes the head of major type `major` with argument `value` (0..65535, RFC 8949 §3). */
export function writeHead(out: Uint8Array, pos: number, major: number, value: number): number {
	const m = major << 5;
	if (value < 24) {
		out[pos] = m | value;
		return pos + 1;
	}
	if (value < 256) {
		out[pos] = m | 24;
		out[pos + 1] = value;
		return pos + 2;
	}
	out[pos] = m | 25;
	out[pos + 1] = value >> 8;
	out[pos + 2] = value & 0xff;
	return pos + 3;
}

/** A byte string: head, then src[offset, offset + length). */
export function writeBytes(out: Uint8Array, pos: number, src: Uint8Array, offset: number, length: number): number {
	pos = writeHead(out, pos, MAJOR_BYTES, length);
	for (let i = 0; i < length; i++) out[pos + i] = src[offset + i]!;
	return pos + length;
}

/** A text string of ASCII characters (the labels "Key", "IV", "Encrypt0"). */
export function writeAscii(out: Uint8Array, pos: number, text: string): number {
	pos = writeHead(out, pos, MAJOR_TEXT, text.length);
	for (let i = 0; i < text.length; i++) out[pos + i] = text.charCodeAt(i);
	return pos + text.length;
}
