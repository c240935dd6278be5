/**
 * A cursor over the options of an OSCORE plaintext (RFC 8613 §5.3: Code, Class E options
 * encoded as in RFC 7252 §3.1, then 0xff and the payload), read in place in the decrypted
 * bytes. The plaintext verified, so its sender holds the key, but it may still be malformed:
 * every read is bounds-checked and a bad encoding is a status, never an exception.
 * Leaves out: option-specific length rules (the rebuilt message is parsed again by
 * MessageView, which applies them).
 */

/** next(): the option list or payload marker is malformed (RFC 7252 §3.1 rules). */
export const CURSOR_FORMAT = -1;

export class OptionCursor {
	bytes: Uint8Array = new Uint8Array(0);
	pos = 0;
	end = 0;
	/** The option last read by next(). */
	number = 0;
	offset = 0;
	length = 0;
	/** After next() returned 0: first payload byte, or -1 when there is no payload. */
	payloadOffset = -1;

	/** Starts at bytes[start], the first option header (or the marker), up to `end`. */
	reset(bytes: Uint8Array, start: number, end: number): this {
		this.bytes = bytes;
		this.pos = start;
		this.end = end;
		this.number = 0;
		this.offset = start;
		this.length = 0;
		this.payloadOffset = -1;
		return this;
	}

	/** 1 when an option was read, 0 at the end (see payloadOffset), CURSOR_FORMAT on bad input. */
	next(): number {
		const b = this.bytes;
		const end = this.end;
		let p = this.pos;
		if (p >= end) return 0;
		const head = b[p++]!;
		if (head === 0xff) {
			// RFC 7252 §3: a marker followed by a zero-length payload is a format error.
			if (p >= end) return CURSOR_FORMAT;
			this.payloadOffset = p;
			this.pos = end;
			return 0;
		}
		let delta = head >> 4;
		let len = head & 0x0f;
		if (delta === 13) {
			if (p >= end) return CURSOR_FORMAT;
			delta = b[p++]! + 13;
		} else if (delta === 14) {
			if (p + 1 >= end) return CURSOR_FORMAT;
			delta = ((b[p]! << 8) | b[p + 1]!) + 269;
			p += 2;
		} else if (delta === 15) return CURSOR_FORMAT;
		if (len === 13) {
			if (p >= end) return CURSOR_FORMAT;
			len = b[p++]! + 13;
		} else if (len === 14) {
			if (p + 1 >= end) return CURSOR_FORMAT;
			len = ((b[p]! << 8) | b[p + 1]!) + 269;
			p += 2;
		} else if (len === 15) return CURSOR_FORMAT;
		const number = this.number + delta;
		if (number > 0xffff || p + len > end) return CURSOR_FORMAT;
		this.number = number;
		this.offset = p;
		this.length = len;
		this.pos = p + len;
		return 1;
	}
}
