/**
 * UTF-8 encoding and decoding into caller buffers, without TextEncoder/TextDecoder (they are
 * modules, not globals, on Moddable, and absent on the bare XS engine). Lone surrogates are
 * encoded as U+FFFD; invalid input bytes decode as U+FFFD.
 * Portable across engines whose String `length` counts UTF-16 units (V8) or code points (XS).
 *
 * On XS every property access on a primitive string (`text.length`, `text.codePointAt(i)`)
 * makes a String wrapper object: garbage of a few slots each time. So the loops read the length
 * once and call codePointAt through String.prototype (no wrapper): a 5-character reply went from
 * 46 slots of garbage to none (bench/xs-device.mjs).
 */

// 2 on engines with UTF-16 string indexing, 1 on XS (length counts code points).
const ASTRAL_UNITS = "\u{10000}".length;
const codePointAt = String.prototype.codePointAt;

/** Number of bytes `text` takes as UTF-8. */
export function utf8Length(text: string): number {
	let n = 0;
	for (let i = 0, len = text.length; i < len; ) {
		const cp = codePointAt.call(text, i)!;
		if (cp < 0x80) { n += 1; i++; }
		else if (cp < 0x800) { n += 2; i++; }
		else if (cp < 0x10000) { n += 3; i++; }
		else { n += 4; i += ASTRAL_UNITS; }
	}
	return n;
}

/**
 * Writes `text` as UTF-8 into `out` at `offset`. Returns the offset after the last byte, or -1
 * if it would not fit (nothing useful is written then).
 */
export function utf8Encode(text: string, out: Uint8Array, offset: number): number {
	let o = offset;
	const end = out.length;
	for (let i = 0, len = text.length; i < len; ) {
		let cp = codePointAt.call(text, i)!;
		if (cp >= 0x10000) i += ASTRAL_UNITS;
		else i++;
		if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate
		if (cp < 0x80) {
			if (o + 1 > end) return -1;
			out[o++] = cp;
		} else if (cp < 0x800) {
			if (o + 2 > end) return -1;
			out[o++] = 0xc0 | (cp >> 6);
			out[o++] = 0x80 | (cp & 0x3f);
		} else if (cp < 0x10000) {
			if (o + 3 > end) return -1;
			out[o++] = 0xe0 | (cp >> 12);
			out[o++] = 0x80 | ((cp >> 6) & 0x3f);
			out[o++] = 0x80 | (cp & 0x3f);
		} else {
			if (o + 4 > end) return -1;
			out[o++] = 0xf0 | (cp >> 18);
			out[o++] = 0x80 | ((cp >> 12) & 0x3f);
			out[o++] = 0x80 | ((cp >> 6) & 0x3f);
			out[o++] = 0x80 | (cp & 0x3f);
		}
	}
	return o;
}

/** Encodes `text` into a new Uint8Array (application edge only). */
export function utf8Bytes(text: string): Uint8Array {
	const out = new Uint8Array(utf8Length(text));
	utf8Encode(text, out, 0);
	return out;
}

/** Decodes bytes[offset, offset + length) as UTF-8; malformed sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
	let s = "";
	const end = offset + length;
	let i = offset;
	let ascii = i;
	while (i < end) {
		const b = bytes[i]!;
		if (b < 0x80) { i++; continue; }
		if (ascii < i) s += asciiRun(bytes, ascii, i);
		let cp = 0xfffd;
		let need = 0;
		let min = 0;
		if (b >= 0xc2 && b <= 0xdf) { cp = b & 0x1f; need = 1; min = 0x80; }
		else if (b >= 0xe0 && b <= 0xef) { cp = b & 0x0f; need = 2; min = 0x800; }
		else if (b >= 0xf0 && b <= 0xf4) { cp = b & 0x07; need = 3; min = 0x10000; }
		i++;
		if (need > 0) {
			let k = 0;
			for (; k < need && i < end && (bytes[i]! & 0xc0) === 0x80; k++, i++) cp = (cp << 6) | (bytes[i]! & 0x3f);
			if (k < need || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd;
		} else cp = 0xfffd;
		s += String.fromCodePoint(cp);
		ascii = i;
	}
	if (ascii < end) s += asciiRun(bytes, ascii, end);
	return s;
}

function asciiRun(bytes: Uint8Array, from: number, to: number): string {
	let s = "";
	for (let i = from; i < to; i += 1024) {
		s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(to, i + 1024)) as unknown as number[]);
	}
	return s;
}

/**
 * Writes the UTF-8 bytes [skip, skip + max) of `text` into `out` at `offset`, without encoding
 * the whole string anywhere (for slicing a text body into blocks). Returns bytes written.
 */
export function utf8EncodeRange(text: string, skip: number, max: number, out: Uint8Array, offset: number): number {
	let pos = 0; // byte position in the whole encoding
	let o = offset;
	const end = skip + max;
	for (let i = 0, len = text.length; i < len && pos < end; ) {
		let cp = codePointAt.call(text, i)!;
		if (cp >= 0x10000) i += ASTRAL_UNITS;
		else i++;
		if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
		const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		for (let k = 0; k < n; k++, pos++) {
			if (pos < skip || pos >= end) continue;
			out[o++] = utf8Byte(cp, n, k);
		}
	}
	return o - offset;
}

function utf8Byte(cp: number, n: number, k: number): number {
	if (n === 1) return cp;
	const lead = n === 2 ? 0xc0 : n === 3 ? 0xe0 : 0xf0;
	if (k === 0) return lead | (cp >> (6 * (n - 1)));
	return 0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f);
}
