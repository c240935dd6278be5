/**
 * Client exchanges: the message layer under an endpoint's client requests (RFC 7252 §4, §5.3).
 * A request takes a client slot, gets a token (§5.3.1) and a Message ID (§4.4), waits for
 * NSTART room toward its peer (§4.7), is retransmitted with exponential back-off until
 * acknowledged (§4.2), and is matched with its response by token and source (§5.3.2),
 * duplicate CON responses acknowledged again (§4.5). A finished slot settles its caller last,
 * once the tables are consistent.
 *
 * OSCORE (RFC 8613): a request with a security context is written plain into the OSCORE
 * layer's scratch and protected into its slot (§8.1), so retransmissions repeat the same
 * bytes; a renewal, a deregistration or a B.2 retry is protected anew (a new Partial IV). A
 * response matched to such a request is verified here (§8.4) before anything reads it.
 *
 * Leaves out: what the application asks (client.ts: request, observe, multicast) and what a
 * matched response means to it (delivery, notifications, block-wise).
 */
import { TYPE_ACK, TYPE_CON, TYPE_NON, TYPE_RST, codeName } from "../constants.js";
import { CoapError, E_TOO_MANY_OPTIONS } from "../errors.js";
import type { PeerUnreachable } from "../host.js";
import type { Core } from "../messaging/core.js";
import { DUP_EMPTY_ACK, DUP_RESET } from "../messaging/dedup.js";
import { ClientSlot, SLOT_FREE, SLOT_OBSERVING, SLOT_QUEUED, SLOT_WAIT_ACK, SLOT_WAIT_RESPONSE } from "../messaging/slots.js";
import type { Observation } from "./observation.js";
import { writeRequestBody, type EncodedRequest } from "./options.js";
import { OPT_OSCORE, isCritical, isKnownOption, optionName } from "../options.js";
import { E_OSCORE_B2_RETRY, E_OSCORE_DECRYPT, E_OSCORE_NOT_PROTECTED, E_OSCORE_OVERFLOW, E_OSCORE_STALE_NOTIFICATION, oscoreStatusName } from "../oscore/status.js";
import { utf8Decode } from "../wire/utf8.js";
import { ClientResponse } from "./response.js";
import type { MessageView } from "../wire/view.js";

export class ClientExchanges {
	readonly #core: Core;
	/** Order of request() calls, for NSTART queueing. */
	#seq = 0;

	constructor(core: Core) {
		this.#core = core;
	}

	/** Takes a client slot, encodes `r` into it and starts it (§4.7: queued behind NSTART). Throws CoapError. */
	begin(r: EncodedRequest, resolve: ((r: ClientResponse) => void) | null, reject: ((e: CoapError) => void) | null, observation: Observation | null): ClientSlot {
		const core = this.#core;
		if (core.closed) throw new CoapError("COAP_CLOSED", "endpoint is closed");
		let slot: ClientSlot | undefined;
		for (const s of core.clients) if (s.state === SLOT_FREE) { slot = s; break; }
		if (slot === undefined) {
			core.stats.capacityRejected++;
			throw new CoapError("COAP_CAPACITY", "all " + core.limits.clientExchanges + " client exchange slots are in use");
		}
		const now = core.ports.clock.now();
		if (r.token === null) this.#newToken(slot);
		else if (!this.#setToken(slot, r.token)) {
			throw new CoapError("COAP_CAPACITY", "token " + hex(r.token) + " is in use by another outstanding request");
		}
		slot.mid = core.nextMid();
		slot.security = r.security;
		slot.binding.clear();
		const length = this.encodeInto(slot, r);
		if (length < 0) throw this.#encodeError(length);
		slot.request = r;
		slot.generation++;
		slot.observation = observation;
		slot.expectResponse = r.expectResponse;
		slot.onMulticastResponse = slot.multicastDone = null;
		slot.cancelling = false;
		slot.cancelled = null;
		slot.seq = ++this.#seq;
		slot.sendFailed = false;
		slot.rejected = null;
		slot.length = length;
		slot.address = r.address;
		slot.port = r.port;
		slot.confirmable = r.confirmable;
		slot.resolve = resolve;
		slot.reject = reject;
		slot.retransmits = 0;
		slot.waitMs = r.timeoutMs;
		// The request's timeout runs from this call: time spent queued behind NSTART counts.
		slot.giveUpAt = now + r.timeoutMs;
		slot.retransmitAt = -1;
		slot.state = SLOT_QUEUED;
		this.startQueued(now, slot.address, slot.port);
		core.rearm();
		return slot;
	}

	/**
	 * Encodes request `r` with the slot's token and MID into the slot's buffer, protected with
	 * slot.security when it has one (RFC 8613 §8.1: a new Partial IV, the binding filled; the
	 * count of notifications accepted so far is kept, so a renewed observation's rebuilt
	 * Observe numbers go on growing). Returns the length, -1 when it does not fit, or an
	 * E_OSCORE_* status.
	 */
	encodeInto(slot: ClientSlot, r: EncodedRequest): number {
		const core = this.#core;
		const oscore = slot.security === null ? null : core.oscore;
		const w = oscore === null ? core.slotWriter : oscore.plainWriter;
		if (oscore === null) w.buf = slot.buf;
		w.header(r.confirmable ? TYPE_CON : TYPE_NON, r.method, slot.mid, slot.token, 0, slot.tokenLength);
		writeRequestBody(w, r);
		let length = w.finish();
		if (oscore !== null && length >= 0) {
			const sw = core.slotWriter;
			sw.buf = slot.buf;
			const accepted = slot.binding.notifications;
			length = oscore.sealRequest(sw, slot.security!, slot.binding, length);
			slot.binding.notifications = accepted;
		}
		core.slotWriter.buf = core.tx;
		return length;
	}

	/** The CoapError for an encodeInto failure. */
	#encodeError(status: number): CoapError {
		if (status === -1 || status === E_OSCORE_OVERFLOW) return new CoapError("COAP_OVERFLOW", "request does not fit maxMessageSize " + this.#core.limits.maxMessageSize + (status === -1 ? "" : " once protected with OSCORE"));
		const name = oscoreStatusName(status);
		return new CoapError("COAP_OSCORE", "the request cannot be protected with OSCORE (" + name + ")", { status: name, response: null });
	}

	/**
	 * Sends the slot's request again with a new MID: an observation's renewal or deregistration
	 * (`encode`: slot.request changed), or a B.2 retry. A protected request is protected anew
	 * (RFC 8613 §7.4: the server would refuse the old Partial IV as a replay).
	 */
	resend(slot: ClientSlot, now: number, encode = false): void {
		slot.mid = this.#core.nextMid();
		if (encode || slot.security !== null) {
			const length = this.encodeInto(slot, slot.request!);
			if (length < 0) {
				this.finish(slot, null, this.#encodeError(length));
				return;
			}
			slot.length = length;
		} else {
			slot.buf[2] = slot.mid >> 8;
			slot.buf[3] = slot.mid & 0xff;
		}
		slot.retransmits = 0;
		slot.state = SLOT_QUEUED;
		slot.giveUpAt = slot.retransmitAt = -1;
		this.startQueued(now, slot.address, slot.port);
		this.#core.rearm();
	}

	/** §5.3.1: tokens are random (32 bits here) and unique among this endpoint's outstanding requests. */
	#newToken(slot: ClientSlot): void {
		const t = slot.token;
		for (;;) {
			this.#core.ports.random(t.subarray(0, 4));
			slot.tokenLength = 4;
			let clash = false;
			for (const o of this.#core.clients) {
				if (o !== slot && o.state !== SLOT_FREE && o.tokenLength === 4 && o.token[0] === t[0] && o.token[1] === t[1] && o.token[2] === t[2] && o.token[3] === t[3]) clash = true;
			}
			if (!clash) return;
		}
	}

	/** §5.3.1: a token the application chose; false when an outstanding request uses it. */
	#setToken(slot: ClientSlot, token: Uint8Array): boolean {
		for (const o of this.#core.clients) {
			if (o === slot || o.state === SLOT_FREE || o.tokenLength !== token.length) continue;
			let same = true;
			for (let i = 0; i < token.length; i++) if (o.token[i] !== token[i]) same = false;
			if (same) return false;
		}
		slot.token.set(token);
		slot.tokenLength = token.length;
		return true;
	}

	/**
	 * §4.7 NSTART: outstanding interactions toward a peer: CONs not yet acknowledged, and NON
	 * requests still "expected" to be answered. §4.7 leaves open when a client stops expecting
	 * a response to a NON request, as long as an endpoint that does not respond gets no more
	 * than PROBING_RATE on average: a NON of L bytes counts for L / PROBING_RATE seconds (at
	 * least ACK_TIMEOUT), marked by its retransmitAt (a NON is never retransmitted).
	 */
	#outstanding(address: string, port: number): number {
		let n = 0;
		for (const s of this.#core.clients) {
			if ((s.state === SLOT_WAIT_ACK || (s.state === SLOT_WAIT_RESPONSE && !s.confirmable && s.retransmitAt >= 0)) && s.port === port && s.address === address) n++;
		}
		return n;
	}

	/** Starts queued requests toward address:port while NSTART allows, oldest first. */
	startQueued(now: number, address: string, port: number): void {
		const core = this.#core;
		let room = core.tuning.nstart - this.#outstanding(address, port);
		while (room > 0) {
			let next: ClientSlot | undefined;
			for (const s of core.clients) {
				// One whose timeout has passed waits for handleTimeout to fail it, unsent.
				if (s.state === SLOT_QUEUED && s.port === port && s.address === address && (s.giveUpAt < 0 || now < s.giveUpAt) && (next === undefined || s.seq < next.seq)) next = s;
			}
			if (next === undefined) return;
			room--;
			if (next.giveUpAt < 0) next.giveUpAt = now + next.waitMs; // a renewal: from its sending
			if (next.confirmable) {
				next.state = SLOT_WAIT_ACK;
				// §4.2: initial timeout random between ACK_TIMEOUT and ACK_TIMEOUT * ACK_RANDOM_FACTOR.
				next.timeoutMs = core.tuning.ackTimeoutMs * (1 + (core.tuning.ackRandomFactor - 1) * core.random01());
				next.retransmitAt = now + next.timeoutMs;
			} else {
				next.state = SLOT_WAIT_RESPONSE;
				// Counts toward NSTART until then (see #outstanding).
				next.retransmitAt = now + Math.max(core.tuning.ackTimeoutMs, (next.length * 1000) / core.tuning.probingRate);
			}
			if (!core.send(next.buf, next.length, next.address, next.port)) this.#sendFailed(next, now);
			// RFC 7967: a NON request that wants no response is done once sent (at the next tick).
			else if (!next.confirmable && !next.expectResponse) next.giveUpAt = now;
		}
	}

	/** A client request could not be sent: it fails with COAP_SOCKET at the next timer tick. */
	#sendFailed(slot: ClientSlot, now: number): void {
		slot.sendFailed = true;
		slot.retransmitAt = -1;
		slot.giveUpAt = now;
	}

	/**
	 * Frees the slot and settles what waits on it: the request's promise, the observation, a
	 * pending cancel(), a multicast collection. `restart` starts requests queued behind it
	 * (NSTART) and re-arms the timer; close() passes false.
	 */
	finish(slot: ClientSlot, response: ClientResponse | null, error: CoapError | null, restart = true): void {
		const resolve = slot.resolve;
		const reject = slot.reject;
		const obs = slot.observation;
		const cancelled = slot.cancelled;
		const multicastDone = slot.multicastDone;
		const count = slot.multicastResponses;
		slot.onMulticastResponse = slot.multicastDone = null;
		slot.state = SLOT_FREE;
		slot.resolve = slot.reject = null;
		slot.observation = null;
		slot.cancelled = null;
		slot.cancelling = false;
		slot.retransmitAt = slot.giveUpAt = -1;
		slot.generation++;
		if (restart) {
			this.startQueued(this.#core.ports.clock.now(), slot.address, slot.port);
			this.#core.rearm();
		}
		// Call out last: our tables are consistent before user code runs.
		if (multicastDone !== null) {
			multicastDone(count); // the collection time is over (a timeout is the normal end)
			return;
		}
		if (obs !== null) {
			if (response !== null) obs.deliverFinal(response);
			else obs.end(cancelled !== null ? null : error);
			// RFC 7641 §3.6: the deregistration was answered (a response, or a Reset: the server
			// knows the token no more) or it was not (timeout, unreachable, endpoint closed).
			cancelled?.(error === null || error.code === "COAP_RESET" ? null : error);
			return;
		}
		if (response !== null) resolve!(response);
		else reject!(error!);
	}

	/** An empty ACK from address:port; false if it acknowledges no client request. */
	onAck(mid: number, address: string, port: number): boolean {
		for (const s of this.#core.clients) {
			if (s.state === SLOT_WAIT_ACK && s.mid === mid && s.port === port && s.address === address) {
				// RFC 7967: with No-Response for every class the ACK is all that comes.
				if (!s.expectResponse && s.observation === null) {
					this.finish(s, ClientResponse.none(address, port), null);
					return true;
				}
				// §5.2.2: an empty ACK means the response comes separately; stop retransmitting.
				s.state = SLOT_WAIT_RESPONSE;
				s.retransmitAt = -1;
				this.startQueued(this.#core.ports.clock.now(), address, port);
				this.#core.rearm();
				return true;
			}
		}
		return false;
	}

	/** A Reset from address:port; false if it rejects no client request. */
	onReset(mid: number, address: string, port: number): boolean {
		for (const s of this.#core.clients) {
			if ((s.state === SLOT_WAIT_ACK || s.state === SLOT_WAIT_RESPONSE) && s.mid === mid && s.port === port && s.address === address) {
				this.finish(s, null, new CoapError("COAP_RESET", "the server answered with Reset"));
				return true;
			}
		}
		return false;
	}

	/**
	 * The response in the core's view, from address:port (parse status `st`): the slot it is
	 * for, or undefined when it was answered here (duplicate, rejected, ignored) or finished
	 * its request with an error.
	 */
	match(st: number, address: string, port: number): ClientSlot | undefined {
		const core = this.#core;
		const v = core.view;
		const type = v.type;
		if (type === TYPE_RST) {
			core.stats.malformed++; // §4.3: a Reset carries no response
			return undefined;
		}
		// Match token and source (§5.3.2); a piggybacked response must also match the MID.
		let slot: ClientSlot | undefined;
		for (const s of core.clients) {
			// §8.2: responses to a multicast request come from the servers' own addresses.
			if ((s.state === SLOT_WAIT_ACK || s.state === SLOT_WAIT_RESPONSE || s.state === SLOT_OBSERVING) && (s.onMulticastResponse !== null || (s.port === port && s.address === address)) && v.tokenEquals(s.token, 0, s.tokenLength)) {
				if (type !== TYPE_ACK || s.mid === v.mid) slot = s;
				break;
			}
		}
		if (type === TYPE_CON) {
			// §4.5: a duplicate CON response is acknowledged again, not delivered twice.
			const now = core.ports.clock.now();
			const d = core.dedup.find(address, port, v.mid, now);
			if (d >= 0) {
				core.stats.duplicates++;
				core.sendEmpty(core.dedup.state(d) === DUP_RESET ? TYPE_RST : TYPE_ACK, v.mid, address, port);
				return undefined;
			}
			const e = core.dedup.insert(address, port, v.mid, now, core.exchangeLifetime);
			// §5.4.1: unrecognised critical options in a CON response → reject it.
			if (slot === undefined || st < 0 || badCritical(v, slot) >= 0) {
				core.dedup.setState(e, DUP_RESET);
				core.sendEmpty(TYPE_RST, v.mid, address, port);
				if (slot !== undefined) this.#unreadable(slot, st);
				return undefined;
			}
			core.dedup.setState(e, DUP_EMPTY_ACK);
			core.sendEmpty(TYPE_ACK, v.mid, address, port);
		} else if (slot === undefined || st < 0 || badCritical(v, slot) >= 0) {
			// §5.3.2: a NON response nobody waits for may be rejected with Reset.
			if (type === TYPE_NON) core.sendEmpty(TYPE_RST, v.mid, address, port);
			if (slot !== undefined) this.#unreadable(slot, st);
			return undefined;
		}
		return slot;
	}

	/**
	 * A response matching `slot`'s request was rejected. One with more options than maxOptions
	 * cannot be read whole: the request ends with COAP_BAD_RESPONSE. One with an unrecognised
	 * critical option (§5.4.1; e.g. OSCORE's when nothing unprotected it) is rejected and the
	 * request waits on for an acceptable one (a forged response cannot end it), but its timeout
	 * then says what was refused. A response with a format error is ignored, as if lost.
	 */
	#unreadable(slot: ClientSlot, st: number): void {
		const core = this.#core;
		if (st === E_TOO_MANY_OPTIONS) {
			this.finish(slot, null, new CoapError("COAP_BAD_RESPONSE", "response has more than " + core.limits.maxOptions + " options"));
			return;
		}
		if (st < 0) return;
		const bad = badCritical(core.view, slot);
		slot.rejected = "a response with the unrecognised critical option " + optionName(core.view.optNumber[bad]!) + " was rejected (RFC 7252 §5.4.1)";
	}

	/**
	 * RFC 8613 §8.4: verifies the response in the core's view to `slot`'s protected request and
	 * leaves the view parsed over the plain response. True when it may be processed. Otherwise
	 * it was handled here: a stale or replayed notification is dropped (§7.4.1); a B.2 response
	 * sends the request again under the renewed context (Appendix B.2 step 3); a response that
	 * is not protected or fails verification ends the request with COAP_OSCORE (never delivered
	 * as a response, §8.4), or, for an observation that already delivered, is dropped (an error
	 * in one notification does not end the observation) and named if the observation times out.
	 */
	unprotect(slot: ClientSlot, address: string, port: number): boolean {
		const core = this.#core;
		const v = core.view;
		const st = core.oscore!.unprotectResponse(v, slot.binding);
		if (st === 0) {
			// §5.4.1 for the Inner options now visible: an unrecognised critical one → rejected.
			if (v.firstBadCritical() < 0) return true;
			this.#unreadable(slot, 0);
			return false;
		}
		if (st === E_TOO_MANY_OPTIONS) {
			this.#unreadable(slot, st);
			return false;
		}
		if (st === E_OSCORE_STALE_NOTIFICATION) return false;
		if (st === E_OSCORE_B2_RETRY) {
			this.resend(slot, core.ports.clock.now());
			return false;
		}
		const name = oscoreStatusName(st);
		const plain = st === E_OSCORE_NOT_PROTECTED;
		const response = plain ? new ClientResponse(v, address, port) : null;
		const what = plain
			? "the server answered " + codeName(v.code) + " without OSCORE protection" + (v.payloadLength > 0 ? ": " + utf8Decode(v.bytes, v.payloadOffset, v.payloadLength) : "")
			: "a response failed OSCORE verification (" + (st === E_OSCORE_DECRYPT ? "decryption failed" : name) + ")";
		if (slot.observation !== null && slot.observation.started && !slot.cancelling) {
			slot.rejected = what + " (RFC 8613 §8.4)";
			return false;
		}
		this.finish(slot, null, new CoapError("COAP_OSCORE", what, { status: name, response }));
		return false;
	}

	/**
	 * The network reported address:port unreachable (host.ts PeerUnreachable): every request,
	 * observation and deregistration toward it ends at once with COAP_UNREACHABLE instead of
	 * retransmitting until its timeout (RFC 7252 §4.2 leaves the give-up to the implementation;
	 * an ICMP error is a definite answer, RFC 1122 §4.1.3.3).
	 */
	unreachable(u: PeerUnreachable): void {
		const address = this.#core.addresses.normalize(u.address); // as requests are addressed
		for (const s of this.#core.clients) {
			if (s.state === SLOT_FREE || s.onMulticastResponse !== null || s.port !== u.port || s.address !== address) continue;
			this.finish(s, null, new CoapError("COAP_UNREACHABLE", u.message, u));
		}
	}

	/** The client part of Endpoint.handleTimeout: retransmissions, give-ups, renewals. */
	handleTimeout(now: number): void {
		const core = this.#core;
		for (const s of core.clients) {
			if (s.state === SLOT_FREE) continue;
			if (s.state === SLOT_OBSERVING) {
				if (s.giveUpAt >= 0 && now >= s.giveUpAt) this.resend(s, now); // RFC 7641 §3.3.1: renew
				continue;
			}
			if (s.giveUpAt >= 0 && now >= s.giveUpAt && !s.expectResponse && !s.sendFailed && s.state === SLOT_WAIT_RESPONSE) {
				this.finish(s, ClientResponse.none(s.address, s.port), null);
				continue;
			}
			if (s.giveUpAt >= 0 && now >= s.giveUpAt) {
				const error = s.sendFailed
					? new CoapError("COAP_SOCKET", "the socket could not send to " + s.address + " port " + s.port)
					: s.state === SLOT_QUEUED
						? new CoapError("COAP_TIMEOUT", "not sent before the request timeout: earlier requests to " + s.address + " port " + s.port + " still outstanding (NSTART " + core.tuning.nstart + ")")
						: new CoapError("COAP_TIMEOUT", "no response before the request timeout" + (s.rejected === null ? "" : "; " + s.rejected));
				this.finish(s, null, error);
				continue;
			}
			if (s.state === SLOT_WAIT_RESPONSE && s.retransmitAt >= 0 && now >= s.retransmitAt) {
				// A NON request no longer counts toward NSTART: requests queued behind it may go.
				s.retransmitAt = -1;
				this.startQueued(now, s.address, s.port);
				continue;
			}
			if (s.state === SLOT_WAIT_ACK && now >= s.retransmitAt) {
				if (s.retransmits >= core.tuning.maxRetransmit) {
					// §4.2: MAX_RETRANSMIT reached: give up.
					this.finish(s, null, new CoapError("COAP_TIMEOUT", "no ACK after " + (s.retransmits + 1) + " transmissions" + (s.rejected === null ? "" : "; " + s.rejected)));
					continue;
				}
				s.retransmits++;
				s.timeoutMs *= 2; // §4.2: exponential back-off
				s.retransmitAt = now + s.timeoutMs;
				core.stats.retransmitted++;
				if (!core.send(s.buf, s.length, s.address, s.port)) this.#sendFailed(s, now);
			}
		}
	}

	/** The client part of Endpoint.close: every outstanding request ends with COAP_CLOSED. */
	close(): void {
		for (const s of this.#core.clients) {
			if (s.state !== SLOT_FREE) this.finish(s, null, new CoapError("COAP_CLOSED", "endpoint closed"), false);
		}
	}
}

/**
 * §5.4.1: the first unrecognised critical option of a response to `slot`'s request, or -1.
 * The OSCORE option is understood when the request was protected (verification follows).
 */
function badCritical(v: MessageView, slot: ClientSlot | undefined): number {
	if (slot === undefined || slot.security === null) return v.firstBadCritical();
	for (let i = 0; i < v.optionCount; i++) {
		const num = v.optNumber[i]!;
		if (num === OPT_OSCORE && v.optFlags[i] === 0) continue;
		if (isCritical(num) && (v.optFlags[i] !== 0 || !isKnownOption(num))) return i;
	}
	return -1;
}

function hex(b: Uint8Array): string {
	let s = "";
	for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s === "" ? "(empty)" : s;
}
