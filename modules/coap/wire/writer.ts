/**
 * MessageWriter: serializes a CoAP message (RFC 7252 §3, §3.1) into a caller-owned buffer.
 * Options must be written in ascending number order (delta encoding); writing one out of order
 * is local misuse and throws RangeError. Running out of room is not an exception: overflow is
 * sticky and `finish()` returns -1, so callers check once at the end (as nanocoap's builder).
 * One writer is reused per buffer; nothing is allocated per message.
 */
import { uintLength, writeUint } from "./uint.js";
import { utf8Encode, utf8EncodeRange, utf8Length } from "./utf8.js";

/** Payload parts up to this many bytes are copied with a loop rather than through a subarray
 * (see payload()): on XS the loop costs fewer than a view's 4 slots of garbage are worth for
 * short payloads; longer ones take the native copy. */
const SMALL_COPY = 64;

export class MessageWriter {
	/** The output buffer (owned by whoever constructed the writer). */
	buf: Uint8Array;
	/** Write position. */
	pos = 0;
	#last = 0;
	#overflow = false;
	#payload = false;

	constructor(buf: Uint8Array) {
		this.buf = buf;
	}

	/** Starts a message: header and token (token[tokenOffset, +tokenLength), 0..8 bytes). */
	header(type: number, code: number, mid: number, token: Uint8Array | null, tokenOffset = 0, tokenLength = 0): this {
		if (tokenLength > 8) throw new RangeError("token length must be 0..8, got " + tokenLength);
		if (type > 3 || code > 255 || mid > 0xffff) throw new RangeError("header field out of range: type " + type + ", code " + code + ", mid " + mid);
		this.#last = 0;
		this.#overflow = false;
		this.#payload = false;
		const b = this.buf;
		if (b.length < 4 + tokenLength) {
			this.#overflow = true;
			this.pos = 0;
			return this;
		}
		b[0] = 0x40 | (type << 4) | tokenLength; // Ver=1, T, TKL
		b[1] = code;
		b[2] = (mid >> 8) & 0xff;
		b[3] = mid & 0xff;
		for (let i = 0; i < tokenLength; i++) b[4 + i] = token![tokenOffset + i]!;
		this.pos = 4 + tokenLength;
		return this;
	}

	/**
	 * Starts an option list at `offset` with no CoAP header in front: what precedes it is the
	 * caller's (OSCORE writes its plaintext, RFC 8613 §5.3, as a code byte followed by options
	 * and payload encoded as here). Options then delta-encode from 0 again; `finish()` returns
	 * the end offset. An offset past the buffer is an overflow, like any other.
	 */
	startAt(offset: number): this {
		this.#last = 0;
		this.#payload = false;
		this.#overflow = offset > this.buf.length;
		this.pos = this.#overflow ? 0 : offset;
		return this;
	}

	/** Writes an option header for `number` with a value of `length` bytes; returns the value offset or -1. */
	#optionHead(number: number, length: number): number {
		if (this.#payload) throw new RangeError("option " + number + " written after the payload");
		if (number < this.#last) throw new RangeError("option " + number + " written after option " + this.#last);
		// §3.1: option numbers are 16-bit; a larger delta would not survive the 16-bit extension.
		if (number > 0xffff) throw new RangeError("option number " + number + " is beyond 65535");
		const delta = number - this.#last;
		// Track the number even when nothing is written, so misuse is caught after an overflow too.
		this.#last = number;
		if (this.#overflow) return -1;
		// §3.1: nibbles 0..12 inline, 13 → +1 byte (value - 13), 14 → +2 bytes (value - 269).
		const need = 1 + (delta < 13 ? 0 : delta < 269 ? 1 : 2) + (length < 13 ? 0 : length < 269 ? 1 : 2) + length;
		const b = this.buf;
		let p = this.pos;
		if (p + need > b.length) {
			this.#overflow = true;
			return -1;
		}
		const h = p++;
		let head = 0;
		if (delta < 13) head = delta << 4;
		else if (delta < 269) { head = 13 << 4; b[p++] = delta - 13; }
		else { head = 14 << 4; b[p++] = (delta - 269) >> 8; b[p++] = (delta - 269) & 0xff; }
		if (length < 13) head |= length;
		else if (length < 269) { head |= 13; b[p++] = length - 13; }
		else { head |= 14; b[p++] = (length - 269) >> 8; b[p++] = (length - 269) & 0xff; }
		b[h] = head;
		this.pos = p + length;
		return p;
	}

	/** Option with an opaque value src[offset, offset + length). */
	option(number: number, src: Uint8Array | null, offset = 0, length = 0): this {
		const p = this.#optionHead(number, length);
		if (p >= 0) for (let i = 0; i < length; i++) this.buf[p + i] = src![offset + i]!;
		return this;
	}

	/**
	 * Option `number` whose `length`-byte value the caller writes itself at the returned offset
	 * (OSCORE writes its option value in place, RFC 8613 §6.1). -1 after an overflow.
	 */
	reserveOption(number: number, length: number): number {
		return this.#optionHead(number, length);
	}

	/** Option with an empty value (e.g. If-None-Match). */
	emptyOption(number: number): this {
		this.#optionHead(number, 0);
		return this;
	}

	/** Option with a uint value in its shortest form (§3.2). */
	uintOption(number: number, value: number): this {
		const len = uintLength(value);
		const p = this.#optionHead(number, len);
		if (p >= 0) writeUint(this.buf, p, value, len);
		return this;
	}

	/** Option with a string value, encoded as UTF-8 straight into the buffer. */
	stringOption(number: number, text: string): this {
		const len = utf8Length(text);
		const p = this.#optionHead(number, len);
		if (p >= 0) utf8Encode(text, this.buf, p);
		return this;
	}

	/** Payload src[offset, offset + length); an empty payload writes no marker (§3). */
	payload(src: Uint8Array, offset = 0, length = src.length - offset): this {
		if (this.#payload) throw new RangeError("payload written twice");
		if (length === 0 || this.#overflow) return this;
		const b = this.buf;
		if (this.pos + 1 + length > b.length) {
			this.#overflow = true;
			return this;
		}
		b[this.pos++] = 0xff;
		if (length === src.length && offset === 0) b.set(src, this.pos);
		else if (length <= SMALL_COPY) {
			// A part of src: short payloads (a sensor reading, OSCORE's plain/ciphertext moves) are
			// copied byte by byte, because a subarray is garbage (4 XS slots) per message.
			const p = this.pos;
			for (let i = 0; i < length; i++) b[p + i] = src[offset + i]!;
		} else b.set(src.subarray(offset, offset + length), this.pos);
		this.pos += length;
		this.#payload = true;
		return this;
	}

	/** Payload given as text, encoded as UTF-8 straight into the buffer. */
	payloadText(text: string): this {
		if (this.#payload) throw new RangeError("payload written twice");
		if (text === "" || this.#overflow) return this;
		if (this.pos + 1 >= this.buf.length) {
			this.#overflow = true;
			return this;
		}
		const end = utf8Encode(text, this.buf, this.pos + 1);
		if (end < 0) {
			this.#overflow = true;
			return this;
		}
		this.buf[this.pos] = 0xff;
		this.pos = end;
		this.#payload = true;
		return this;
	}

	/**
	 * Payload given as bytes [skip, skip + length) of the UTF-8 encoding of `text` (one block
	 * of a text body, RFC 7959 §2.4), encoded straight into the buffer.
	 */
	payloadTextRange(text: string, skip: number, length: number): this {
		if (this.#payload) throw new RangeError("payload written twice");
		if (length === 0 || this.#overflow) return this;
		if (this.pos + 1 + length > this.buf.length) {
			this.#overflow = true;
			return this;
		}
		this.buf[this.pos] = 0xff;
		this.pos += 1 + utf8EncodeRange(text, skip, length, this.buf, this.pos + 1);
		this.#payload = true;
		return this;
	}

	/** True once anything did not fit. */
	get overflow(): boolean {
		return this.#overflow;
	}

	/** Message length, or -1 if anything did not fit. */
	finish(): number {
		return this.#overflow ? -1 : this.pos;
	}
}
