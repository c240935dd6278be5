/**
 * Client: an endpoint's client side as the application sees it. `request()` goes through
 * block-wise (RFC 7959, blockwise.ts) and Echo (RFC 9175 §2.3) above one exchange at a time;
 * `observe()` holds a slot for an RFC 7641 observation and delivers its notifications in
 * order of freshness, renewing and deregistering it; `multicast()` collects the responses of
 * every server to a group request (RFC 7252 §8.1). A matched response (exchanges.ts) is
 * delivered here.
 *
 * OSCORE (RFC 8613): each request gets its security context here, from RequestOptions.oscore
 * or the endpoint's credentials by URI; the exchanges protect and verify. A 4.01 + Echo
 * (RFC 9175; the server's Appendix B.1.2 recovery arrives so, inside OSCORE) is answered with
 * the request again, Echo included, for requests and observations alike.
 *
 * Leaves out: the message layer (exchanges.ts: slots, tokens, NSTART, retransmission,
 * matching) and option encoding (options.ts); OSCORE for multicast (Group OSCORE).
 */
import { CODE_UNAUTHORIZED } from "../constants.js";
import { CoapError } from "../errors.js";
import type { Core } from "../messaging/core.js";
import { type ClientSlot, SLOT_OBSERVING } from "../messaging/slots.js";
import { OPT_BLOCK2, OPT_ECHO, OPT_MAX_AGE, OPT_OBSERVE } from "../options.js";
import { blockMore } from "../block/option.js";
import { fetchRest, requestBlockwise, type BlockContext } from "./blockwise.js";
import type { ClientExchanges } from "./exchanges.js";
import { Observation, type EndHandler, type NotificationHandler } from "./observation.js";
import { prepareRequest, requestUri, type EncodedRequest, type RequestOptions } from "./options.js";
import { ClientResponse } from "./response.js";

/** Requests answered 4.01 + Echo are sent at most this many times (RFC 9175 §2.3; see #exchangeEcho). */
const ECHO_ATTEMPTS = 3;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

export class Client {
	readonly #core: Core;
	readonly #exchanges: ClientExchanges;
	readonly #blockContext: BlockContext;

	constructor(core: Core, exchanges: ClientExchanges) {
		this.#core = core;
		this.#exchanges = exchanges;
		const clock = core.ports.clock;
		this.#blockContext = Object.freeze({
			exchange: (r: EncodedRequest) => this.#exchangeEcho(r),
			transfers: core.transfers,
			maxSzx: core.maxSzx,
			random: core.ports.random,
			now: () => clock.now(),
		});
	}

	/** Endpoint.request(). */
	request(options: RequestOptions): Promise<ClientResponse> {
		let r: EncodedRequest;
		try {
			r = this.#security(prepareRequest(options, this.#core.tuning.requestTimeoutMs), options);
		} catch (e) {
			if (e instanceof CoapError) return Promise.reject(e);
			throw e;
		}
		if (this.#core.closed) return Promise.reject(new CoapError("COAP_CLOSED", "endpoint is closed"));
		return requestBlockwise(this.#blockContext, r, r.blockSzx);
	}

	/** Endpoint.observe(). */
	observe(options: RequestOptions, onNotification: NotificationHandler, onEnd?: EndHandler): Observation {
		let r: EncodedRequest;
		try {
			r = this.#security(prepareRequest({ ...options, options: [...(options.options ?? []), [OPT_OBSERVE, 0]] }, this.#core.tuning.requestTimeoutMs), options);
		} catch (e) {
			if (!(e instanceof CoapError)) throw e; // local misuse throws at the call
			// A URI the stack cannot use is an outcome, as for request(): the observation ends with it.
			return Observation.failed(e, onNotification, onEnd);
		}
		const obs = new Observation(r, onNotification, onEnd);
		try {
			if (this.#core.closed) throw new CoapError("COAP_CLOSED", "endpoint is closed");
			const slot = this.#exchanges.begin(r, null, null, obs);
			const generation = slot.generation;
			obs.cancelHook = () => this.#cancelObservation(slot, generation);
		} catch (e) {
			if (!(e instanceof CoapError)) throw e;
			obs.end(e);
		}
		return obs;
	}

	/**
	 * RFC 8613: the security context of request `r`: RequestOptions.oscore when given (null:
	 * unprotected), else the endpoint's credentials pattern that matches the request's URI.
	 * @throws RangeError for a context on an endpoint without OSCORE; TypeError for a value
	 *   that is not a SecurityContext (local misuse).
	 */
	#security(r: EncodedRequest, options: RequestOptions): EncodedRequest {
		const layer = this.#core.oscore;
		if (options.oscore !== undefined) {
			const c = options.oscore as unknown;
			if (c === null) return r;
			if (typeof c !== "object" || !((c as { senderId?: unknown }).senderId instanceof Uint8Array)) throw new TypeError("oscore must be a SecurityContext or null");
			if (layer === null) throw new RangeError("oscore: this endpoint has no OSCORE (limits.oscoreContexts is 0)");
			return r;
		}
		if (layer === null || layer.credentials.size === 0) return r;
		r.security = layer.credentials.find(requestUri(r), r.port === 5683 ? requestUri(r, true) : "");
		return r;
	}

	/**
	 * RFC 9175 §2.3: a 4.01 carrying an Echo option asks for the request again with that
	 * value. A repeat can reach the server too late for its freshness window (queued behind
	 * NSTART, or lost and retransmitted), and is then asked again with a newer value: the
	 * client repeats up to ECHO_ATTEMPTS - 1 times, and stops at once when the server asks with
	 * the value it was just sent (the server does not accept it: answering again won't help).
	 */
	async #exchangeEcho(r: EncodedRequest): Promise<ClientResponse> {
		// The repeats share the request's timeout, counted from its first sending.
		const clock = this.#core.ports.clock;
		const deadline = clock.now() + r.timeoutMs;
		let res = await this.#exchange(r);
		for (let attempt = 1; attempt < ECHO_ATTEMPTS && res.code === CODE_UNAUTHORIZED; attempt++) {
			const left = deadline - clock.now();
			if (left < 1) return res;
			const echo = res.option(OPT_ECHO);
			if (echo === undefined) return res;
			const sent = r.options.find((o) => o[0] === OPT_ECHO);
			if (sent !== undefined && sent[1] instanceof Uint8Array && sameBytes(sent[1], echo)) return res;
			const options = r.options.filter((o) => o[0] !== OPT_ECHO);
			options.push([OPT_ECHO, echo]);
			options.sort((a, b) => a[0] - b[0]);
			r = { ...r, options, timeoutMs: left };
			res = await this.#exchange(r);
		}
		return res;
	}

	/** Endpoint.multicast(). */
	multicast(options: RequestOptions, onResponse: (response: ClientResponse) => void, timeoutMs?: number): Promise<number> {
		const tuning = this.#core.tuning;
		const wait = timeoutMs ?? tuning.defaultLeisureMs + tuning.ackTimeoutMs;
		let r: EncodedRequest;
		try {
			r = prepareRequest({ ...options, confirmable: false, timeoutMs: wait }, wait);
		} catch (e) {
			if (e instanceof CoapError) return Promise.reject(e); // as request(): a bad URI rejects
			throw e;
		}
		// Group OSCORE (not implemented) would protect group requests: a request that the caller
		// or the credentials want protected is refused rather than sent in the clear.
		if (this.#security(r, options).security !== null) {
			throw new RangeError("oscore: " + (options.oscore != null ? "a security context was given" : "the credentials protect " + requestUri(r)) + ", and OSCORE for multicast requests (Group OSCORE) is not supported; pass oscore: null to send unprotected");
		}
		return new Promise<number>((resolve) => {
			const slot = this.#exchanges.begin(r, null, null, null);
			slot.onMulticastResponse = onResponse;
			slot.multicastResponses = 0;
			slot.multicastDone = resolve;
		});
	}

	/** One request/response exchange on the message layer (block-wise sits above it). */
	#exchange(r: EncodedRequest): Promise<ClientResponse> {
		return new Promise<ClientResponse>((resolve, reject) => {
			this.#exchanges.begin(r, resolve, reject, null);
		});
	}

	/** RFC 7641 §3.6: deregisters with a GET carrying Observe=1 and the observation's token. */
	#cancelObservation(slot: ClientSlot, generation: number): Promise<CoapError | null> {
		return new Promise<CoapError | null>((resolve) => {
			const obs = slot.observation;
			if (slot.generation !== generation || obs === null || !obs.active || this.#core.closed) {
				resolve(null);
				return;
			}
			if (slot.cancelling) {
				const before = slot.cancelled;
				slot.cancelled = (e) => { before?.(e); resolve(e); };
				return;
			}
			const r = slot.request!;
			const options = r.options.map((o): [number, typeof o[1]] => (o[0] === OPT_OBSERVE ? [OPT_OBSERVE, 1] : o));
			slot.request = { ...r, options, confirmable: true };
			slot.confirmable = true;
			slot.cancelling = true;
			slot.cancelled = resolve;
			// A new request (a new Partial IV when protected); one that cannot be written ends the observation.
			this.#exchanges.resend(slot, this.#core.ports.clock.now(), true);
		});
	}

	/** A response in the core's view, from address:port, with parse status `st` (§5.3.2). */
	onResponse(st: number, address: string, port: number): void {
		const slot = this.#exchanges.match(st, address, port);
		if (slot === undefined) return;
		// RFC 8613 §8.4: a protected request's response is verified before anything reads it.
		if (slot.security !== null && !this.#exchanges.unprotect(slot, address, port)) return;
		const v = this.#core.view;
		if (slot.observation !== null) this.#onNotification(slot, address, port);
		else if (slot.onMulticastResponse !== null) {
			slot.multicastResponses++;
			slot.onMulticastResponse(new ClientResponse(v, address, port));
		} else this.#exchanges.finish(slot, new ClientResponse(v, address, port), null);
	}

	/** A response or notification for an observation's token (RFC 7641 §3.2-§3.4). */
	#onNotification(slot: ClientSlot, address: string, port: number): void {
		const core = this.#core;
		const v = core.view;
		const obs = slot.observation!;
		const now = core.ports.clock.now();
		if (slot.cancelling) {
			obs.cancelResponse = new ClientResponse(v, address, port);
			this.#exchanges.finish(slot, null, null); // the answer to Observe=1 (or a last notification)
			return;
		}
		const response = new ClientResponse(v, address, port);
		const seqAt = v.find(OPT_OBSERVE);
		if (!obs.started && v.code === CODE_UNAUTHORIZED && seqAt < 0) {
			// RFC 9175 §2.3 (and RFC 8613 B.1.2): the registration again, with the Echo value.
			const echo = response.option(OPT_ECHO);
			const r = slot.request!;
			if (echo !== undefined && !r.options.some((o) => o[0] === OPT_ECHO)) {
				const options = r.options.slice();
				options.push([OPT_ECHO, echo]);
				options.sort((a, b) => a[0] - b[0]);
				slot.request = { ...r, options };
				this.#exchanges.resend(slot, now, true);
				return;
			}
		}
		if (seqAt < 0 || v.code >> 5 !== 2) {
			// §3.2: no Observe option (not observable, or no room), or §3.2 an error: final.
			this.#exchanges.finish(slot, response, null);
			return;
		}
		const seq = v.uint(seqAt);
		// §3.3.1: the observation is alive (also when a renewal is answered with the number it
		// had: the resource did not change); renew it if Max-Age passes in silence.
		const maxAge = v.uintOf(OPT_MAX_AGE, 60);
		const wasObserving = slot.state === SLOT_OBSERVING;
		slot.state = SLOT_OBSERVING;
		slot.retransmitAt = -1;
		slot.giveUpAt = now + maxAge * 1000 + core.tuning.ackTimeoutMs;
		if (!wasObserving) this.#exchanges.startQueued(now, address, port);
		core.rearm();
		// §3.4: a notification not newer than the newest one delivered is dropped (it was ACKed).
		if (!obs.isFresh(seq, now)) return;
		const b2 = v.uintOf(OPT_BLOCK2, -1);
		if (b2 >= 0 && blockMore(b2)) {
			// A notification larger than one block: fetch the rest without Observe (§3.8 of RFC 7959).
			const r = obs.request!;
			const plain = { ...r, options: r.options.filter((o) => o[0] !== OPT_OBSERVE) };
			fetchRest(this.#blockContext, plain, response).then(
				// RFC 7641 §3.4: a newer notification may have been delivered meanwhile.
				(whole) => { if (obs.active && obs.isFresh(seq, now)) obs.deliver(whole, seq, now); },
				(e: unknown) => {
					// Without even a first whole response the observation cannot start: end it
					// with the error (later notifications that fail are skipped; the next may work).
					if (obs.active && !obs.started && slot.observation === obs) this.#exchanges.finish(slot, null, e instanceof CoapError ? e : new CoapError("COAP_BAD_RESPONSE", String(e)));
				},
			);
			return;
		}
		obs.deliver(response, seq, now);
	}
}
