/**
 * OscoreLayer: what an Endpoint holds to speak OSCORE (RFC 8613), and the few calls through
 * which the message layer reaches it. The endpoint's parts call it at the seams the RFC
 * names: unprotect between parsing and dispatch (server, §8.2) or matching (client, §8.4);
 * protect where a message is written (§8.1, §8.3). Everything else (exchange slots,
 * duplicate detection, block-wise, Observe) works on the plain messages, as for unprotected
 * traffic.
 *
 * Memory, allocated once: the Oscore engine (context table, nonce, AAD, option state), one
 * message buffer `plain` of maxMessageSize with a writer and a view. `plain` is scratch within
 * one synchronous call: unprotect writes the plain message there and restorePlain moves it
 * back over the datagram (which the endpoint keeps as for any request); protect has the plain
 * message written there and seals it into the buffer that is sent (tx or a slot's).
 *
 * Leaves out: Group OSCORE; Outer Block options (answered 4.02, see status.ts); B.2 unless
 * enabled (it needs random bytes and 287 more bytes of working storage).
 */
import { CODE_INTERNAL_SERVER_ERROR } from "../constants.js";
import type { RandomFill } from "../host.js";
import { OPT_MAX_AGE, OPT_OSCORE } from "../options.js";
import { MessageView } from "../wire/view.js";
import { MessageWriter } from "../wire/writer.js";
import type { RequestBinding } from "./binding.js";
import type { SecurityContext } from "./context.js";
import { ClientCredentials } from "./credentials.js";
import { Oscore, restorePlain } from "./oscore.js";
import { E_OSCORE_OVERFLOW, E_OSCORE_SEQUENCE_EXHAUSTED, E_OSCORE_SEQUENCE_STORE, writeErrorResponse } from "./status.js";

export interface OscoreLayerLimits {
	/** Security contexts the endpoint can hold (limits.oscoreContexts). */
	readonly contexts: number;
	readonly maxMessageSize: number;
	readonly maxOptions: number;
	/** Random bytes for Appendix B.2; null leaves B.2 off. */
	readonly random: RandomFill | null;
}

export class OscoreLayer {
	/** The message processing and the context table (incoming requests are matched against it). */
	readonly engine: Oscore;
	/** Client: which context protects requests to which URIs. */
	readonly credentials = new ClientCredentials();
	/** Scratch for the plain side of a message being protected or unprotected. */
	readonly plain: Uint8Array;
	readonly plainWriter: MessageWriter;
	readonly #plainView: MessageView;
	/** The binding whose response was sealed last, and whether its request nonce was free before. */
	#lastBinding: RequestBinding | null = null;
	#lastNonce = false;

	constructor(limits: OscoreLayerLimits) {
		this.engine = new Oscore({ contexts: limits.contexts, random: limits.random ?? undefined });
		this.plain = new Uint8Array(limits.maxMessageSize);
		this.plainWriter = new MessageWriter(this.plain);
		this.#plainView = new MessageView(limits.maxOptions);
	}

	// ---------------------------------------------------------------- server

	/**
	 * §8.2: verifies and decrypts the request in `v` (which must have parsed) against the
	 * context table, fills `binding`, and leaves `v` parsed over the plain request, in the
	 * datagram's own bytes. Returns the plain request's parse status (0, or E_TOO_MANY_OPTIONS
	 * when it has more options than the view holds), or an E_OSCORE_* status (isOscoreError):
	 * then `v` is unchanged but for the ciphertext, which was zeroed or left encrypted.
	 */
	unprotectRequest(v: MessageView, binding: RequestBinding): number {
		const n = this.engine.unprotectRequest(v, this.plainWriter, binding);
		if (n < 0) return n;
		return restorePlain(v, this.plain, n);
	}

	/**
	 * §8.2, §8.3: the unprotected error response (4.02, 4.01, 4.00 with Max-Age 0 and the
	 * diagnostic) for a request `v` that failed with `status`, written with `w`. Returns its
	 * length, 0 when the status has no response.
	 */
	errorResponse(w: MessageWriter, status: number, v: MessageView, type: number, mid: number): number {
		const n = writeErrorResponse(w, status, type, mid, v.bytes, v.tokenOffset, v.tokenLength);
		return n < 0 ? 0 : n;
	}

	/**
	 * §8.3: protects the plain response plain[0, plainLength) to the request of `binding` into
	 * `w` (its buffer, from offset 0). The first response to a request uses the request's nonce;
	 * later ones (notifications, a response after B.1.2) a new Partial IV. Returns the length.
	 * When the response cannot be protected: a response too large for the buffer once protected
	 * becomes a protected 5.00; a context that cannot give a sequence number (exhausted, or the
	 * store failed, B.1.1) an unprotected 5.00 with no payload but Max-Age 0 (§8.3 step 2 leaves
	 * nothing else to send).
	 */
	sealResponse(w: MessageWriter, binding: RequestBinding, plainLength: number): number {
		const view = this.#plainView;
		this.#lastBinding = binding;
		this.#lastNonce = binding.nonceAvailable;
		let st = view.parse(this.plain, plainLength);
		if (st === 0) st = this.engine.protectResponse(view, binding, w);
		if (st >= 0) return st;
		const type = (this.plain[0]! >> 4) & 3;
		const mid = (this.plain[2]! << 8) | this.plain[3]!;
		const tkl = this.plain[0]! & 0x0f;
		if (st !== E_OSCORE_SEQUENCE_EXHAUSTED && st !== E_OSCORE_SEQUENCE_STORE) {
			// Too large once protected, or a handler's option that must not be protected (a
			// Proxy-Uri, an OSCORE option, §4.1.3.3, §4.1.3.7): a protected 5.00 instead. The
			// token goes to w's buffer first, since the plain buffer is rewritten from offset 0.
			w.header(type, CODE_INTERNAL_SERVER_ERROR, mid, this.plain, 4, tkl);
			const pw = this.plainWriter;
			pw.header(type, CODE_INTERNAL_SERVER_ERROR, mid, w.buf, 4, tkl).payloadText("response could not be protected");
			const n = pw.finish();
			if (n > 0 && view.parse(this.plain, n) === 0) {
				st = this.engine.protectResponse(view, binding, w);
				if (st >= 0) return st;
			}
		}
		// Nothing can be protected (no sequence number to be had): an unprotected 5.00, Max-Age 0.
		w.header(type, CODE_INTERNAL_SERVER_ERROR, mid, this.plain, 4, tkl);
		const n = w.uintOption(OPT_MAX_AGE, 0).finish();
		return n < 0 ? 0 : n;
	}

	/**
	 * The response last sealed for `binding` is discarded and written again (an Observe
	 * registration renumbered, an amplification-limited answer replaced): its request nonce,
	 * if it was free, is free again, so one response per request uses it (§8.3). The discarded
	 * bytes never leave the endpoint.
	 */
	reopen(binding: RequestBinding): void {
		if (this.#lastBinding === binding) binding.nonceAvailable = this.#lastNonce;
	}

	// ---------------------------------------------------------------- client

	/**
	 * §8.1: protects the plain request plain[0, plainLength) with `ctx` into `w` (from offset
	 * 0), filling `binding`. Returns the length, or an E_OSCORE_* status (sequence numbers
	 * exhausted or not persisted, too large once protected, Proxy-Uri, a nested OSCORE option).
	 */
	sealRequest(w: MessageWriter, ctx: SecurityContext, binding: RequestBinding, plainLength: number): number {
		const view = this.#plainView;
		if (view.parse(this.plain, plainLength) !== 0) return E_OSCORE_OVERFLOW;
		return this.engine.protectRequest(view, ctx, w, binding);
	}

	/**
	 * §8.4: verifies and decrypts the response in `v` to the request of `binding` and leaves
	 * `v` parsed over the plain response in the datagram's bytes. Returns the plain response's
	 * parse status (0 or E_TOO_MANY_OPTIONS), or an E_OSCORE_* status (not protected, not
	 * verified, a stale notification, a B.2 retry).
	 */
	unprotectResponse(v: MessageView, binding: RequestBinding): number {
		const n = this.engine.unprotectResponse(v, binding, this.plainWriter);
		if (n < 0) return n;
		return restorePlain(v, this.plain, n);
	}
}

/** True when `v` carries an OSCORE option (RFC 8613 §2), whatever its length or repetition. */
export function hasOscoreOption(v: MessageView): boolean {
	const count = v.optionCount;
	for (let i = 0; i < count; i++) {
		const n = v.optNumber[i]!;
		if (n === OPT_OSCORE) return true;
		if (n > OPT_OSCORE) return false;
	}
	return false;
}
