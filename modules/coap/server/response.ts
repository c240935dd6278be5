/**
 * CoapResponse builder for resource handlers: the handler sets `code`, `payload`,
 * `contentFormat`, `maxAge`, `etag`, `locationPath` and any other options; the endpoint
 * serializes it (options sorted by number, RFC 7252 §3.1) into its own buffer. One builder is
 * reused per endpoint slot: `reset()` clears it, its option table is allocated once.
 * The options the stack itself adds (Observe, Block1/Block2, Size1/Size2, Echo) and the
 * slice of the payload that goes into one block come from a WirePlan the endpoint fills.
 */
import { OPT_BLOCK1, OPT_BLOCK2, OPT_CONTENT_FORMAT, OPT_ECHO, OPT_ETAG, OPT_LOCATION_PATH, OPT_MAX_AGE, OPT_OBSERVE, OPT_SIZE1, OPT_SIZE2, isLegalLength, optionName } from "../options.js";
import { uintLength } from "../wire/uint.js";
import { utf8Length } from "../wire/utf8.js";
import type { MessageWriter } from "../wire/writer.js";

/** What the stack adds to a response on the wire: one instance per endpoint, reset per use. */
export class WirePlan {
	/** RFC 7641 Observe sequence number, -1 for none. */
	observe = -1;
	/** RFC 7959 Block2 / Block1 values (NUM << 4 | M << 3 | SZX), -1 for none. */
	block2 = -1;
	block1 = -1;
	/** RFC 7959 §4 Size2 / Size1, -1 for none. */
	size2 = -1;
	size1 = -1;
	/** RFC 9175 Echo value, or null. */
	echo: Uint8Array | null = null;
	/** Byte range of the body to send (a Block2 slice); sliceLength -1 sends the whole body. */
	sliceOffset = 0;
	sliceLength = -1;

	reset(): void {
		this.observe = this.block2 = this.block1 = this.size2 = this.size1 = this.sliceLength = -1;
		this.sliceOffset = 0;
		this.echo = null;
	}
}

const KIND_BYTES = 0;
const KIND_UINT = 1;
const KIND_STRING = 2;

/** Most options a handler may add with `option()` besides the named fields. */
export const MAX_EXTRA_OPTIONS = 12;

export class ResponseBuilder {
	// The fields a handler sets are checked where they are set (accessors below), so a
	// handler's mistake throws inside the handler, where the endpoint catches it and answers
	// 5.00 (issue: a bad code used to surface only while writing, outside that catch).
	#code = 0;
	#contentFormat = -1;
	#maxAge = -1;
	#etag: Uint8Array | null = null;
	#payload: Uint8Array | string | null = null;
	#locationPath: readonly string[] | null = null;
	/** send() was called since the last reset(). */
	#sent = false;
	/** The answer was written: a handler's write now is a late one (see seal()). */
	#sealed = false;
	#count = 0;
	readonly #number = new Uint16Array(MAX_EXTRA_OPTIONS);
	readonly #kind = new Uint8Array(MAX_EXTRA_OPTIONS);
	readonly #uint = new Float64Array(MAX_EXTRA_OPTIONS);
	readonly #ref: (Uint8Array | string | null)[] = [];
	readonly #order = new Uint8Array(MAX_EXTRA_OPTIONS);

	constructor() {
		for (let i = 0; i < MAX_EXTRA_OPTIONS; i++) this.#ref.push(null);
	}

	/**
	 * Response code (RFC 7252 §5.9: class 2, 4 or 5, written `(class << 5) | detail`, e.g.
	 * 0x84 for 4.04); 0 means "the method's default" (2.05 for GET/FETCH, 2.04 otherwise,
	 * 2.02 for DELETE). Anything else throws RangeError.
	 */
	get code(): number {
		return this.#code;
	}
	set code(value: number) {
		this.#writable();
		const cls = value >> 5;
		if (!(Number.isInteger(value) && (value === 0 || (value <= 0xbf && (cls === 2 || cls === 4 || cls === 5))))) {
			throw new RangeError("response code must be 0 or a 2.xx, 4.xx or 5.xx code such as 0x84 (4.04), got " + describeValue(value));
		}
		this.#code = value;
	}

	/** Content-Format of the payload (0..65535, RFC 7252 §5.10.3), -1 for none. */
	get contentFormat(): number {
		return this.#contentFormat;
	}
	set contentFormat(value: number) {
		this.#writable();
		if (!(Number.isInteger(value) && value >= -1 && value <= 0xffff)) throw new RangeError("contentFormat must be -1 or 0..65535, got " + describeValue(value));
		this.#contentFormat = value;
	}

	/** Max-Age in seconds (0..2^32-1, RFC 7252 §5.10.5), -1 to leave it out (clients then assume 60). */
	get maxAge(): number {
		return this.#maxAge;
	}
	set maxAge(value: number) {
		this.#writable();
		if (!(Number.isInteger(value) && value >= -1 && value <= 0xffffffff)) throw new RangeError("maxAge must be -1 or 0..4294967295 seconds, got " + describeValue(value));
		this.#maxAge = value;
	}

	/** ETag (1..8 bytes, RFC 7252 §5.10.6), or null. */
	get etag(): Uint8Array | null {
		return this.#etag;
	}
	set etag(value: Uint8Array | null) {
		this.#writable();
		if (value !== null && !(value instanceof Uint8Array && value.length >= 1 && value.length <= 8)) throw new TypeError("etag must be a Uint8Array of 1..8 bytes or null, got " + describeValue(value));
		this.#etag = value;
	}

	/**
	 * Payload: bytes (a Uint8Array, borrowed until the response is sent; an ArrayBuffer or other
	 * ArrayBufferView is viewed as bytes), text (sent as UTF-8), or null. Anything else throws TypeError.
	 */
	get payload(): Uint8Array | string | null {
		return this.#payload;
	}
	set payload(value: Uint8Array | string | null) {
		this.#writable();
		this.#payload = asPayload(value);
	}

	/** Location-Path segments (for 2.01 Created; each 0..255 bytes, RFC 7252 §5.10.7), or null. */
	get locationPath(): readonly string[] | null {
		return this.#locationPath;
	}
	set locationPath(value: readonly string[] | null) {
		this.#writable();
		if (value !== null) {
			if (!Array.isArray(value)) throw new TypeError("locationPath must be an array of strings or null, got " + describeValue(value));
			for (const seg of value) if (typeof seg !== "string" || utf8Length(seg) > 255) throw new TypeError("locationPath segments must be strings of 0..255 bytes, got " + describeValue(seg));
		}
		this.#locationPath = value;
	}

	/**
	 * The endpoint has written the answer: until the builder is reset for its next use, a write
	 * throws (a handler that writes after answering, e.g. from a timer, would otherwise change
	 * whichever request the recycled builder serves next). Writes after that reuse cannot be
	 * told apart: handlers must not keep `res` past their answer (README "Handler errors").
	 */
	seal(): void {
		this.#sealed = true;
	}

	/** Drops the references the builder holds (payload, options) and stays sealed. */
	clear(): void {
		const sealed = this.#sealed;
		this.reset();
		this.#sealed = sealed;
	}

	#writable(): void {
		if (this.#sealed) throw new Error("the response was already sent: a handler wrote to it after answering");
	}

	reset(): void {
		this.#sealed = false;
		this.#code = 0;
		this.#contentFormat = -1;
		this.#maxAge = -1;
		this.#etag = null;
		this.#payload = null;
		this.#locationPath = null;
		this.#sent = false;
		for (let i = 0; i < this.#count; i++) this.#ref[i] = null;
		this.#count = 0;
	}

	/**
	 * Adds option `number` with a value given as bytes, text or an unsigned integer.
	 * Throws RangeError past MAX_EXTRA_OPTIONS (local misuse).
	 */
	option(number: number, value: Uint8Array | string | number): this {
		this.#writable();
		if (this.#count >= MAX_EXTRA_OPTIONS) throw new RangeError("more than " + MAX_EXTRA_OPTIONS + " extra response options");
		if (!(Number.isInteger(number) && number >= 1 && number <= 0xffff)) throw new RangeError("option number must be 1..65535, got " + describeValue(number));
		let length: number;
		if (typeof value === "number") {
			if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) throw new RangeError("option " + optionName(number) + ": a uint value must be 0..4294967295, got " + describeValue(value));
			length = uintLength(value);
		} else if (typeof value === "string") length = utf8Length(value);
		else if (value instanceof Uint8Array) length = value.length;
		else throw new TypeError("option " + optionName(number) + ": the value must be a Uint8Array, a string or a number, got " + describeValue(value));
		// RFC 7252 §5.4.3 / §5.10: a known option's value length is bounded by its definition.
		if (!isLegalLength(number, length)) throw new RangeError("option " + optionName(number) + ": a value of " + length + " bytes is outside the length its definition allows");
		this.#add(number, value);
		return this;
	}

	/**
	 * Convenience: sets code, payload and optionally content format in one call. Once per
	 * response: a second call throws (two answers to one request are a handler bug).
	 */
	send(code: number, payload?: Uint8Array | string | null, contentFormat?: number): void {
		this.#writable();
		if (this.#sent) throw new Error("res.send() called twice for one request");
		this.code = code;
		if (payload !== undefined) this.payload = payload;
		if (contentFormat !== undefined) this.contentFormat = contentFormat;
		this.#sent = true;
	}

	#add(number: number, value: Uint8Array | string | number): void {
		const i = this.#count++;
		this.#number[i] = number;
		if (typeof value === "number") {
			this.#kind[i] = KIND_UINT;
			this.#uint[i] = value;
			this.#ref[i] = null;
		} else {
			this.#kind[i] = typeof value === "string" ? KIND_STRING : KIND_BYTES;
			this.#ref[i] = value;
		}
	}

	/**
	 * Writes the options and payload after a header the caller has written. Sorts the extra
	 * options by number (stable insertion sort on a preallocated index) and merges the named
	 * fields in at their numbers (RFC 7252 §3.1: ascending order), after any extra option of
	 * the same number. The named fields never enter the table, so any number of Location-Path
	 * segments fits, and writeBody can be called twice (e.g. retried on overflow).
	 * `skipPayload` leaves the payload out (2.03 Valid, HEAD-like uses).
	 */
	writeBody(w: MessageWriter, skipPayload = false, plan: WirePlan | null = null): void {
		const n = this.#count;
		const order = this.#order;
		const num = this.#number;
		for (let i = 0; i < n; i++) {
			let j = i;
			while (j > 0 && num[order[j - 1]!]! > num[i]!) {
				order[j] = order[j - 1]!;
				j--;
			}
			order[j] = i;
		}
		let k = this.#writeExtras(w, 0, OPT_ETAG);
		if (this.etag !== null) w.option(OPT_ETAG, this.etag, 0, this.etag.length);
		k = this.#writeExtras(w, k, OPT_OBSERVE);
		if (plan !== null && plan.observe >= 0) w.uintOption(OPT_OBSERVE, plan.observe);
		k = this.#writeExtras(w, k, OPT_LOCATION_PATH);
		if (this.locationPath !== null) for (const seg of this.locationPath) w.stringOption(OPT_LOCATION_PATH, seg);
		k = this.#writeExtras(w, k, OPT_CONTENT_FORMAT);
		if (this.contentFormat >= 0 && !skipPayload) w.uintOption(OPT_CONTENT_FORMAT, this.contentFormat);
		k = this.#writeExtras(w, k, OPT_MAX_AGE);
		if (this.maxAge >= 0) w.uintOption(OPT_MAX_AGE, this.maxAge);
		if (plan !== null) {
			k = this.#writeExtras(w, k, OPT_BLOCK2);
			if (plan.block2 >= 0) w.uintOption(OPT_BLOCK2, plan.block2);
			k = this.#writeExtras(w, k, OPT_BLOCK1);
			if (plan.block1 >= 0) w.uintOption(OPT_BLOCK1, plan.block1);
			k = this.#writeExtras(w, k, OPT_SIZE2);
			if (plan.size2 >= 0) w.uintOption(OPT_SIZE2, plan.size2);
			k = this.#writeExtras(w, k, OPT_SIZE1);
			if (plan.size1 >= 0) w.uintOption(OPT_SIZE1, plan.size1);
			k = this.#writeExtras(w, k, OPT_ECHO);
			if (plan.echo !== null) w.option(OPT_ECHO, plan.echo, 0, plan.echo.length);
		}
		this.#writeExtras(w, k, 0xffff);
		const body = this.payload;
		if (skipPayload || body === null) return;
		if (plan !== null && plan.sliceLength >= 0) {
			// One block of the body (RFC 7959 §2.4): bytes [sliceOffset, sliceOffset + sliceLength).
			if (plan.sliceLength === 0) return;
			if (typeof body === "string") w.payloadTextRange(body, plan.sliceOffset, plan.sliceLength);
			else w.payload(body, plan.sliceOffset, plan.sliceLength);
			return;
		}
		if (typeof body === "string") w.payloadText(body);
		else w.payload(body, 0, body.length);
	}

	/** Length of the body in bytes (text counted as UTF-8). */
	bodyLength(): number {
		const body = this.payload;
		return body === null ? 0 : typeof body === "string" ? utf8Length(body) : body.length;
	}

	/** Writes the sorted extra options from position `k` while their number is at most `upTo`; returns the next position. */
	#writeExtras(w: MessageWriter, k: number, upTo: number): number {
		const order = this.#order;
		const num = this.#number;
		for (; k < this.#count; k++) {
			const i = order[k]!;
			if (num[i]! > upTo) break;
			const kind = this.#kind[i];
			if (kind === KIND_UINT) w.uintOption(num[i]!, this.#uint[i]!);
			else if (kind === KIND_STRING) w.stringOption(num[i]!, this.#ref[i] as string);
			else {
				const b = this.#ref[i] as Uint8Array;
				w.option(num[i]!, b, 0, b.length);
			}
		}
		return k;
	}
}

/** A payload value as the builder keeps it; throws TypeError for anything that is not bytes or text. */
function asPayload(value: unknown): Uint8Array | string | null {
	if (value === null || typeof value === "string" || value instanceof Uint8Array) return value;
	// Moddable APIs hand out ArrayBuffers; a view of other bytes is taken as it is (no copy).
	if (value instanceof ArrayBuffer) return new Uint8Array(value);
	if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
	throw new TypeError("payload must be a Uint8Array, an ArrayBuffer, a string or null, got " + describeValue(value));
}

/** A short description of a value for an error message (no JSON, no allocation of large strings). */
function describeValue(value: unknown): string {
	if (value === null) return "null";
	if (typeof value === "string") return value.length > 40 ? "a " + value.length + "-character string" : JSON.stringify(value);
	if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
	if (value === undefined) return "undefined";
	if (value instanceof Uint8Array) return "a Uint8Array of " + value.length + " bytes";
	if (value instanceof ArrayBuffer) return "an ArrayBuffer";
	const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
	return typeof name === "string" && name !== "" ? "a " + name : typeof value;
}
