/**
 * Observation: the client side of one RFC 7641 observation, as `Endpoint.observe()` returns
 * it. Notifications are delivered in order of freshness (§3.4: an older one arriving late is
 * dropped), the registration is renewed when Max-Age runs out without a notification
 * (§3.3.1), and `cancel()` deregisters actively with Observe=1 (§3.6); notifications for a
 * forgotten observation are answered with Reset by the endpoint.
 */
import { CoapError } from "../errors.js";
import { isFresher } from "../observe/freshness.js";
import type { EncodedRequest } from "./options.js";
import type { ClientResponse } from "./response.js";

export type NotificationHandler = (response: ClientResponse) => void;
/** Called once when the observation ends: null when it ended normally (cancelled, or the server stopped it). */
export type EndHandler = (error: CoapError | null) => void;

export class Observation {
	/** Resolves with the first response (the registration's), rejects if there is none. */
	readonly first: Promise<ClientResponse>;
	/** The registration request (Observe=0), kept to renew it; null for one that never started. */
	readonly request: EncodedRequest | null;
	#resolveFirst!: (r: ClientResponse) => void;
	#rejectFirst!: (e: CoapError) => void;
	#gotFirst = false;
	#active = true;
	#lastSeq = 0;
	#lastTime = 0;
	readonly #onNotification: NotificationHandler;
	readonly #onEnd: EndHandler | undefined;
	/** Set by the endpoint: sends the deregistration. */
	cancelHook: (() => Promise<CoapError | null>) | null = null;
	/** The server's answer to the deregistration sent by cancel() (RFC 7641 §3.6), once it came; else null. */
	cancelResponse: ClientResponse | null = null;

	/** An observation that ended before it began (a URI the stack cannot use): `first` rejects with `error`. */
	static failed(error: CoapError, onNotification: NotificationHandler, onEnd?: EndHandler): Observation {
		const o = new Observation(null, onNotification, onEnd);
		o.end(error);
		return o;
	}

	constructor(request: EncodedRequest | null, onNotification: NotificationHandler, onEnd?: EndHandler) {
		this.request = request;
		this.#onNotification = onNotification;
		this.#onEnd = onEnd;
		this.first = new Promise<ClientResponse>((resolve, reject) => {
			this.#resolveFirst = resolve;
			this.#rejectFirst = reject;
		});
		this.first.catch(() => {}); // a caller that only uses the callbacks is not told twice
	}

	/** True once the first response has been delivered. */
	get started(): boolean {
		return this.#gotFirst;
	}

	/** True until the observation has ended. */
	get active(): boolean {
		return this.#active;
	}

	/**
	 * Deregisters (GET with Observe=1, RFC 7641 §3.6) and ends the observation. Resolves with
	 * null once the server answered (or when there was nothing to deregister), or with the
	 * CoapError that says why no answer came (COAP_TIMEOUT, COAP_UNREACHABLE, COAP_CLOSED):
	 * then the server may still send notifications, which this endpoint answers with Reset.
	 * Never rejects.
	 */
	cancel(): Promise<CoapError | null> {
		if (!this.#active || this.cancelHook === null) return Promise.resolve(null);
		return this.cancelHook();
	}

	/** §3.4: is a notification with this sequence number, received now, newer than the last? */
	isFresh(seq: number, now: number): boolean {
		return !this.#gotFirst || isFresher(this.#lastSeq, this.#lastTime, seq, now);
	}

	/**
	 * Records and delivers a fresh notification (received at `now`). A notification completed
	 * late (its Block2 body fetched after it arrived) may meanwhile have been overtaken by a
	 * fresher one: then it is dropped (§3.4), never delivered after the newer one.
	 */
	deliver(response: ClientResponse, seq: number, now: number): void {
		if (!this.isFresh(seq, now)) return;
		this.#lastSeq = seq;
		this.#lastTime = now;
		this.#emit(response);
	}

	/** Delivers a response that ends the observation (no Observe option, or an error code). */
	deliverFinal(response: ClientResponse): void {
		this.#emit(response);
		this.end(null);
	}

	#emit(response: ClientResponse): void {
		if (!this.#gotFirst) {
			this.#gotFirst = true;
			this.#resolveFirst(response);
		}
		this.#onNotification(response);
	}

	/** Ends the observation (once). */
	end(error: CoapError | null): void {
		if (!this.#active) return;
		this.#active = false;
		if (!this.#gotFirst) this.#rejectFirst(error ?? new CoapError("COAP_CLOSED", "the observation ended before any response"));
		this.#onEnd?.(error);
	}
}
