/**
 * MessageView: a parse index over one borrowed datagram (RFC 7252 §3, §3.1). Option values are
 * never copied: the view records number, offset and length of each in typed arrays sized once
 * at construction. One view is reused for every parse; nothing is allocated per parse.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Ver| T |  TKL  |      Code     |          Message ID           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   Token (if any, TKL bytes) ...
 *   |   Options (if any) ...
 *   |1 1 1 1 1 1 1 1|    Payload (if any) ...
 *
 * Parse results: 0, or a negative E_* status (errors.ts). Never throws on peer input.
 * Options whose value length is illegal for their number, and repeats of non-repeatable
 * options, are kept but flagged, and `find` skips them: RFC 7252 §5.4.3 and §5.4.5 say to
 * treat them like unrecognised options.
 * Leaves out: CoAP over TCP/WebSockets framing (RFC 8323).
 */
import { E_FORMAT, E_TOO_MANY_OPTIONS, E_TRUNCATED, E_VERSION } from "../errors.js";
import { isCritical, isKnownOption, occurrenceFlags } from "../options.js";
import { readUint } from "./uint.js";
import { utf8Decode } from "./utf8.js";

/** Flag bit in `optFlags`: to be treated as unrecognised (illegal length §5.4.3, or a repeat §5.4.5). */
export const OPTF_UNRECOGNISED = 1;

export class MessageView {
	/** The datagram. Borrowed: valid while the caller keeps it; a later parse replaces it. */
	bytes: Uint8Array = new Uint8Array(0);
	length = 0;
	version = 0;
	type = 0;
	code = 0;
	mid = 0;
	tokenOffset = 4;
	tokenLength = 0;
	/** First payload byte; equals `length` when there is no payload. */
	payloadOffset = 0;
	optionCount = 0;
	readonly maxOptions: number;
	readonly optNumber: Uint16Array;
	readonly optOffset: Uint16Array;
	readonly optLength: Uint16Array;
	readonly optFlags: Uint8Array;

	/** @param maxOptions how many options one message may carry (RangeError if not 1..4096). */
	constructor(maxOptions = 32) {
		if (!(maxOptions >= 1 && maxOptions <= 4096)) throw new RangeError("maxOptions must be 1..4096, got " + maxOptions);
		this.maxOptions = maxOptions;
		this.optNumber = new Uint16Array(maxOptions);
		this.optOffset = new Uint16Array(maxOptions);
		this.optLength = new Uint16Array(maxOptions);
		this.optFlags = new Uint8Array(maxOptions);
	}

	get payloadLength(): number {
		return this.length - this.payloadOffset;
	}

	/**
	 * Indexes bytes[0, length). Returns 0 or an E_* status; on E_TOO_MANY_OPTIONS the header and
	 * token fields are valid (so a response can still be addressed), on other errors only what
	 * was reached before the error (type and mid are valid once length >= 4).
	 */
	parse(bytes: Uint8Array, length = bytes.length): number {
		this.bytes = bytes;
		this.length = length;
		this.optionCount = 0;
		this.tokenLength = 0;
		this.payloadOffset = length;
		if (length < 4) return E_TRUNCATED; // RFC 7252 §3: fixed-size 4-byte header
		const b0 = bytes[0]!;
		this.version = b0 >> 6;
		this.type = (b0 >> 4) & 3;
		this.code = bytes[1]!;
		this.mid = (bytes[2]! << 8) | bytes[3]!;
		if (this.version !== 1) return E_VERSION; // §3: unknown version numbers MUST be silently ignored
		const tkl = b0 & 0x0f;
		if (tkl > 8) return E_FORMAT; // §3: lengths 9-15 are reserved ... message format error
		if (4 + tkl > length) return E_TRUNCATED;
		this.tokenLength = tkl;
		// §4.1: an Empty message MUST NOT contain bytes after the Message ID (and TKL 0).
		if (this.code === 0 && (tkl !== 0 || length !== 4)) return E_FORMAT;
		let p = 4 + tkl;
		let number = 0;
		let n = 0;
		while (p < length) {
			const head = bytes[p++]!;
			if (head === 0xff) {
				// §3: a payload marker followed by a zero-length payload is a format error.
				if (p >= length) return E_FORMAT;
				this.payloadOffset = p;
				break;
			}
			let delta = head >> 4;
			let len = head & 0x0f;
			// §3.1: 13 → 8-bit extension minus 13; 14 → 16-bit extension minus 269; 15 reserved.
			if (delta === 13) {
				if (p >= length) return E_TRUNCATED;
				delta = bytes[p++]! + 13;
			} else if (delta === 14) {
				if (p + 1 >= length) return E_TRUNCATED;
				delta = ((bytes[p]! << 8) | bytes[p + 1]!) + 269;
				p += 2;
			} else if (delta === 15) return E_FORMAT;
			if (len === 13) {
				if (p >= length) return E_TRUNCATED;
				len = bytes[p++]! + 13;
			} else if (len === 14) {
				if (p + 1 >= length) return E_TRUNCATED;
				len = ((bytes[p]! << 8) | bytes[p + 1]!) + 269;
				p += 2;
			} else if (len === 15) return E_FORMAT;
			const repeat = delta === 0 && n > 0;
			number += delta;
			if (number > 0xffff) return E_FORMAT; // option numbers are 16-bit
			if (p + len > length) return E_TRUNCATED;
			if (n === this.maxOptions) {
				this.optionCount = n;
				return E_TOO_MANY_OPTIONS;
			}
			this.optNumber[n] = number;
			this.optOffset[n] = p;
			this.optLength[n] = len;
			// §5.4.3 illegal length, §5.4.5 supernumerary occurrence: treat as unrecognised.
			this.optFlags[n] = occurrenceFlags(number, len, repeat);
			n++;
			p += len;
		}
		this.optionCount = n;
		return 0;
	}

	/** Index of the first usable option `number` at or after index `from`, or -1. */
	find(number: number, from = 0): number {
		for (let i = from; i < this.optionCount; i++) {
			const num = this.optNumber[i]!;
			if (num === number) {
				if (this.optFlags[i] === 0) return i;
			} else if (num > number) return -1; // options are in ascending order
		}
		return -1;
	}

	/** True when a usable option `number` is present. */
	has(number: number): boolean {
		return this.find(number) >= 0;
	}

	/** uint value of option at `index` (RFC 7252 §3.2). */
	uint(index: number): number {
		return readUint(this.bytes, this.optOffset[index]!, this.optLength[index]!);
	}

	/** uint value of the first usable option `number`, or `fallback` when absent. */
	uintOf(number: number, fallback: number): number {
		const i = this.find(number);
		return i < 0 ? fallback : this.uint(i);
	}

	/** Value of option at `index` as a string (allocates: application edge only). */
	string(index: number): string {
		return utf8Decode(this.bytes, this.optOffset[index]!, this.optLength[index]!);
	}

	/** A view (no copy) of the value of option `index`. Borrowed like `bytes`. */
	value(index: number): Uint8Array {
		const o = this.optOffset[index]!;
		return this.bytes.subarray(o, o + this.optLength[index]!);
	}

	/** A view (no copy) of the payload. Borrowed like `bytes`. */
	payload(): Uint8Array {
		return this.bytes.subarray(this.payloadOffset, this.length);
	}

	/**
	 * RFC 7252 §5.4.1: the first critical option this stack does not recognise, or whose
	 * value length is illegal (§5.4.3); -1 when there is none. Returns the option index.
	 */
	firstBadCritical(): number {
		for (let i = 0; i < this.optionCount; i++) {
			const num = this.optNumber[i]!;
			if (isCritical(num) && (this.optFlags[i] !== 0 || !isKnownOption(num))) return i;
		}
		return -1;
	}

	/** True when the token equals token[tokenOffset, tokenOffset + tokenLength). */
	tokenEquals(token: Uint8Array, tokenOffset: number, tokenLength: number): boolean {
		if (tokenLength !== this.tokenLength) return false;
		const b = this.bytes;
		const o = this.tokenOffset;
		for (let i = 0; i < tokenLength; i++) if (b[o + i] !== token[tokenOffset + i]) return false;
		return true;
	}
}
