/**
 * CoapResponse builder for resource handlers: the handler sets `code`, `payload`,
 * `contentFormat`, `maxAge`, `etag`, `locationPath` and any other options; the endpoint
 * serializes it (options sorted by number, RFC 7252 §3.1) into its own buffer. One builder is
 * reused per endpoint slot: `reset()` clears it, its option table is allocated once.
 * Leaves out: Block2 slicing of large bodies (issue 3): a body that does not fit the
 * configured maximum message size is answered with 5.00 and a diagnostic payload.
 */
import { OPT_CONTENT_FORMAT, OPT_ETAG, OPT_LOCATION_PATH, OPT_MAX_AGE } from "../options.js";
import type { MessageWriter } from "../wire/writer.js";

const KIND_BYTES = 0;
const KIND_UINT = 1;
const KIND_STRING = 2;

/** Most options a handler may add with `option()` besides the named fields. */
export const MAX_EXTRA_OPTIONS = 12;

export class ResponseBuilder {
	/** Response code; 0 means "the method's default" (2.05 for GET/FETCH, 2.04 otherwise, 2.02 for DELETE). */
	code = 0;
	/** Content-Format of the payload, -1 for none. */
	contentFormat = -1;
	/** Max-Age in seconds, -1 to leave it out (clients then assume 60, RFC 7252 §5.10.5). */
	maxAge = -1;
	/** ETag (1..8 bytes), or null. */
	etag: Uint8Array | null = null;
	/** Payload: bytes (borrowed until the response is sent) or text (sent as UTF-8). */
	payload: Uint8Array | string | null = null;
	/** Location-Path segments (for 2.01 Created), or null. */
	locationPath: readonly string[] | null = null;
	#count = 0;
	readonly #number = new Uint16Array(MAX_EXTRA_OPTIONS + 16);
	readonly #kind = new Uint8Array(MAX_EXTRA_OPTIONS + 16);
	readonly #uint = new Float64Array(MAX_EXTRA_OPTIONS + 16);
	readonly #ref: (Uint8Array | string | null)[] = [];
	readonly #order = new Uint8Array(MAX_EXTRA_OPTIONS + 16);
	#extra = 0;

	constructor() {
		for (let i = 0; i < MAX_EXTRA_OPTIONS + 16; i++) this.#ref.push(null);
	}

	reset(): void {
		this.code = 0;
		this.contentFormat = -1;
		this.maxAge = -1;
		this.etag = null;
		this.payload = null;
		this.locationPath = null;
		for (let i = 0; i < this.#count; i++) this.#ref[i] = null;
		this.#count = 0;
		this.#extra = 0;
	}

	/**
	 * Adds option `number` with a value given as bytes, text or an unsigned integer.
	 * Throws RangeError past MAX_EXTRA_OPTIONS (local misuse).
	 */
	option(number: number, value: Uint8Array | string | number): this {
		if (this.#extra >= MAX_EXTRA_OPTIONS) throw new RangeError("more than " + MAX_EXTRA_OPTIONS + " extra response options");
		if (!(number >= 0 && number <= 0xffff)) throw new RangeError("option number must be 0..65535, got " + number);
		this.#extra++;
		this.#add(number, value);
		return this;
	}

	/** Convenience: sets code, payload and optionally content format in one call. */
	send(code: number, payload?: Uint8Array | string | null, contentFormat?: number): void {
		this.code = code;
		if (payload !== undefined) this.payload = payload;
		if (contentFormat !== undefined) this.contentFormat = contentFormat;
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
	 * Writes the options and payload after a header the caller has written. Adds the named
	 * fields to the extra options, sorts by number (stable insertion sort on a preallocated
	 * index), then writes. `skipPayload` leaves the payload out (2.03 Valid, HEAD-like uses).
	 */
	writeBody(w: MessageWriter, skipPayload = false): void {
		const extraEnd = this.#count;
		if (this.etag !== null) this.#add(OPT_ETAG, this.etag);
		if (this.locationPath !== null) for (const seg of this.locationPath) this.#add(OPT_LOCATION_PATH, seg);
		if (this.contentFormat >= 0 && !skipPayload) this.#add(OPT_CONTENT_FORMAT, this.contentFormat);
		if (this.maxAge >= 0) this.#add(OPT_MAX_AGE, this.maxAge);
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
		for (let k = 0; k < n; k++) {
			const i = order[k]!;
			const kind = this.#kind[i];
			if (kind === KIND_UINT) w.uintOption(num[i]!, this.#uint[i]!);
			else if (kind === KIND_STRING) w.stringOption(num[i]!, this.#ref[i] as string);
			else {
				const b = this.#ref[i] as Uint8Array;
				w.option(num[i]!, b, 0, b.length);
			}
		}
		// Drop the named fields again so writeBody can be called twice (e.g. retried on overflow).
		for (let i = extraEnd; i < n; i++) this.#ref[i] = null;
		this.#count = extraEnd;
		if (skipPayload || this.payload === null) return;
		if (typeof this.payload === "string") w.payloadText(this.payload);
		else w.payload(this.payload, 0, this.payload.length);
	}
}
