/**
 * ClientResponse: a response as the client API hands it out. Unlike the borrowed views of the
 * message path, it owns copies of its options and payload (the caller may keep it), so
 * it allocates: this is the application edge.
 */
import { codeName, codeText } from "../constants.js";
import { OPT_BLOCK2, OPT_CONTENT_FORMAT, OPT_ETAG, OPT_LOCATION_PATH, OPT_MAX_AGE, optionName } from "../options.js";
import { describeOptionValue } from "../wire/describe.js";
import { readUint } from "../wire/uint.js";
import { utf8Decode } from "../wire/utf8.js";
import type { MessageView } from "../wire/view.js";

export interface ResponseOption {
	readonly number: number;
	readonly value: Uint8Array;
}

export class ClientResponse {
	/** Code byte, e.g. 0x45 for 2.05. */
	readonly code: number;
	/** Message type the response came in (ACK for piggybacked, CON or NON for separate). */
	readonly type: number;
	readonly mid: number;
	readonly token: Uint8Array;
	readonly options: readonly ResponseOption[];
	readonly payload: Uint8Array;
	readonly address: string;
	readonly port: number;

	/**
	 * The response a block-wise transfer delivers: the first block's code and options (without
	 * Block2), with the whole body (copied).
	 */
	static assembled(head: ClientResponse, body: Uint8Array): ClientResponse {
		const r = Object.create(ClientResponse.prototype) as { -readonly [K in keyof ClientResponse]: ClientResponse[K] };
		r.code = head.code;
		r.type = head.type;
		r.mid = head.mid;
		r.token = head.token;
		r.options = Object.freeze(head.options.filter((o) => o.number !== OPT_BLOCK2));
		r.payload = body.slice();
		r.address = head.address;
		r.port = head.port;
		return r as ClientResponse;
	}

	/** The stand-in result of a request sent with No-Response for every class (RFC 7967): code 0, nothing else. */
	static none(address: string, port: number): ClientResponse {
		const r = Object.create(ClientResponse.prototype) as { -readonly [K in keyof ClientResponse]: ClientResponse[K] };
		r.code = 0;
		r.type = 0;
		r.mid = 0;
		r.token = new Uint8Array(0);
		r.options = Object.freeze([]);
		r.payload = new Uint8Array(0);
		r.address = address;
		r.port = port;
		return r as ClientResponse;
	}

	constructor(view: MessageView, address: string, port: number) {
		this.code = view.code;
		this.type = view.type;
		this.mid = view.mid;
		this.token = view.bytes.slice(view.tokenOffset, view.tokenOffset + view.tokenLength);
		const opts: ResponseOption[] = [];
		for (let i = 0; i < view.optionCount; i++) {
			const o = view.optOffset[i]!;
			opts.push(Object.freeze({ number: view.optNumber[i]!, value: view.bytes.slice(o, o + view.optLength[i]!) }));
		}
		this.options = Object.freeze(opts);
		this.payload = view.bytes.slice(view.payloadOffset, view.length);
		this.address = address;
		this.port = port;
	}

	/** "2.05" */
	get codeText(): string {
		return codeText(this.code);
	}

	/** The code with its name: "2.05 Content", "4.04 Not Found" (RFC 7252 §12.1.2). */
	get codeName(): string {
		return codeName(this.code);
	}

	/** True for 2.xx. */
	get ok(): boolean {
		return this.code >> 5 === 2;
	}

	/** First value of option `number`, or undefined. */
	option(number: number): Uint8Array | undefined {
		for (const o of this.options) if (o.number === number) return o.value;
		return undefined;
	}

	/** All values of option `number`. */
	optionAll(number: number): Uint8Array[] {
		return this.options.filter((o) => o.number === number).map((o) => o.value);
	}

	/** uint value of option `number`, or `fallback`. */
	optionUint(number: number, fallback = -1): number {
		const v = this.option(number);
		return v === undefined ? fallback : readUint(v, 0, v.length);
	}

	get contentFormat(): number {
		return this.optionUint(OPT_CONTENT_FORMAT, -1);
	}

	/** Max-Age in seconds (RFC 7252 §5.10.5: 60 when absent). */
	get maxAge(): number {
		return this.optionUint(OPT_MAX_AGE, 60);
	}

	get etag(): Uint8Array | undefined {
		return this.option(OPT_ETAG);
	}

	/** Location-Path as "/a/b", or "" when absent. */
	get locationPath(): string {
		const segs = this.optionAll(OPT_LOCATION_PATH);
		return segs.length === 0 ? "" : "/" + segs.map((s) => utf8Decode(s)).join("/");
	}

	/** Payload as UTF-8 text. */
	text(): string {
		return utf8Decode(this.payload);
	}

	/** One line per option, "Name: value" with the value decoded as traces show it (wire/describe.ts). */
	describeOptions(): string[] {
		return this.options.map((o) => optionName(o.number) + ": " + describeOptionValue(o.number, o.value, 0, o.value.length));
	}
}
