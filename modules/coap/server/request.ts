/**
 * CoapRequest: what a resource handler sees of a request. A thin reader over a MessageView;
 * the view, and so the payload and option views it hands out, stay valid until the handler
 * has answered (also across `await` in an async handler: the endpoint parks the view in a
 * server slot). Strings are decoded on demand (application edge).
 *
 * A request that came protected with OSCORE (RFC 8613) is seen here decrypted, like any
 * other; `oscore` names the security context that verified it (null for a plain request).
 * The request's RequestBinding (RFC 8613 §8: the association of a request with its
 * responses) travels with it, so every response written for it is protected the same way.
 */
import { METHOD_NAMES } from "../constants.js";
import { RequestBinding } from "../oscore/binding.js";
import type { SecurityContext } from "../oscore/context.js";
import { OPT_ACCEPT, OPT_CONTENT_FORMAT, OPT_URI_PATH, OPT_URI_QUERY } from "../options.js";
import { utf8Decode } from "../wire/utf8.js";
import type { MessageView } from "../wire/view.js";

export class CoapRequest {
	readonly view: MessageView;
	/** Sender's address and port (as the socket reported them). */
	address = "";
	port = 0;
	/** Set by the endpoint when a Block1 transfer was reassembled; null otherwise. */
	body: Uint8Array | null = null;
	/**
	 * RFC 8613 §8: the OSCORE association of this request (context, Partial IV, nonce use);
	 * `binding.context` is null for a plain request. Set by the endpoint, read by the writer
	 * that protects the responses. Not for handlers (use `oscore`).
	 */
	readonly binding: RequestBinding;

	/** @param binding the request's OSCORE binding (a new one when not given) */
	constructor(view: MessageView, binding: RequestBinding = new RequestBinding()) {
		this.view = view;
		this.binding = binding;
	}

	/**
	 * The OSCORE security context that protected this request (RFC 8613; its `label` says whose
	 * it is), or null when the request came unprotected. The response is protected with it.
	 */
	get oscore(): SecurityContext | null {
		return this.binding.context;
	}

	/** Method code (CODE_GET ...). */
	get method(): number {
		return this.view.code;
	}

	get methodName(): string {
		return METHOD_NAMES[this.view.code] ?? "0." + this.view.code;
	}

	/** True for a Confirmable request. */
	get confirmable(): boolean {
		return this.view.type === 0;
	}

	/** Uri-Path segments, decoded (allocates). */
	get path(): string[] {
		return this.#strings(OPT_URI_PATH);
	}

	/** "/a/b" form of the path (allocates). */
	get pathText(): string {
		return "/" + this.path.join("/");
	}

	/** Uri-Query arguments, decoded (allocates). */
	get query(): string[] {
		return this.#strings(OPT_URI_QUERY);
	}

	/** Value of query argument "name=value" (the first), "" for a bare "name", or undefined. */
	queryParam(name: string): string | undefined {
		const v = this.view;
		for (let i = v.find(OPT_URI_QUERY); i >= 0; i = v.find(OPT_URI_QUERY, i + 1)) {
			const s = v.string(i);
			const eq = s.indexOf("=");
			if ((eq < 0 ? s : s.slice(0, eq)) === name) return eq < 0 ? "" : s.slice(eq + 1);
		}
		return undefined;
	}

	/** Content-Format of the payload, or -1 when absent. */
	get contentFormat(): number {
		return this.view.uintOf(OPT_CONTENT_FORMAT, -1);
	}

	/** Accept, or -1 when absent. */
	get accept(): number {
		return this.view.uintOf(OPT_ACCEPT, -1);
	}

	/** The payload (a borrowed view). */
	/**
	 * The request body: the payload, or the whole reassembled body of a Block1 transfer
	 * (RFC 7959 §2.5). A borrowed view.
	 */
	get payload(): Uint8Array {
		return this.body ?? this.view.payload();
	}

	/** The body decoded as UTF-8 text. */
	text(): string {
		if (this.body !== null) return utf8Decode(this.body);
		const v = this.view;
		return utf8Decode(v.bytes, v.payloadOffset, v.payloadLength);
	}

	/** First value of option `number` (a borrowed view), or undefined. */
	option(number: number): Uint8Array | undefined {
		const i = this.view.find(number);
		return i < 0 ? undefined : this.view.value(i);
	}

	/** uint value of option `number`, or `fallback`. */
	optionUint(number: number, fallback = -1): number {
		return this.view.uintOf(number, fallback);
	}

	#strings(number: number): string[] {
		const out: string[] = [];
		const v = this.view;
		for (let i = v.find(number); i >= 0; i = v.find(number, i + 1)) out.push(v.string(i));
		return out;
	}
}
