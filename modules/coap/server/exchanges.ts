/**
 * Server exchanges: the server slots of an endpoint (RFC 7252 §5.2.2, §4.2). A request whose
 * handler is async waits in a slot; a CON request is acknowledged empty when the handler takes
 * longer than emptyAckDelayMs, and its answer then goes out as a separate CON response,
 * retransmitted until acknowledged. The same slots carry confirmable notifications (RFC 7641
 * §4.5) and responses to multicast requests waiting out their Leisure (§8.2). A handler that
 * never settles is answered 5.03 after handlerTimeoutMs.
 *
 * Leaves out: what is answered (dispatch.ts) and how it is written (responder.ts, writer.ts).
 */
import { CODE_SERVICE_UNAVAILABLE, TYPE_ACK, TYPE_CON, TYPE_NON } from "../constants.js";
import { XFER_HELD, type Transfer } from "../block/transfers.js";
import type { Core } from "../messaging/core.js";
import { DUP_EMPTY_ACK } from "../messaging/dedup.js";
import { SLOT_FREE, SLOT_LEISURE, SLOT_WAIT_ACK, SLOT_WORKING, type ServerSlot } from "../messaging/slots.js";
import { CoapRequest } from "./request.js";
import { handlerFailed, suppressed, type Responder } from "./responder.js";
import { ResponseBuilder } from "./response.js";
import type { ResponseWriter } from "./writer.js";
import { MessageView } from "../wire/view.js";

export class ServerExchanges {
	readonly #core: Core;
	readonly #responder: Responder;
	readonly #writer: ResponseWriter;

	constructor(core: Core, responder: Responder, writer: ResponseWriter) {
		this.#core = core;
		this.#responder = responder;
		this.#writer = writer;
	}

	/** An async handler is working: move the request into a server slot until it settles. */
	park(result: Promise<void>, d: number, address: string, port: number, transfer: Transfer | null): void {
		const core = this.#core;
		let slot: ServerSlot | undefined;
		for (const s of core.servers) if (s.state === SLOT_FREE) { slot = s; break; }
		const v = core.view;
		if (slot === undefined) {
			// No slot to wait in: 5.03 now, and the handler's outcome is dropped (an error it
			// ends with still reaches the application).
			const report = core.onHandlerError;
			result.then(ignore, (e: unknown) => report?.(e ?? new Error("rejected")));
			core.stats.capacityRejected++;
			if (transfer !== null) {
				// The handler still reads its body from the transfer slot: held until it settles
				// (at most handlerTimeoutMs), so no other upload writes into it meanwhile.
				const generation = transfer.generation;
				const transfers = core.transfers;
				transfer.state = XFER_HELD;
				transfer.expiresAt = core.ports.clock.now() + core.tuning.handlerTimeoutMs;
				const release = (): void => transfers.releaseIf(transfer, generation);
				result.then(release, release);
			}
			core.plan.reset();
			// The handler still holds the receive request and response and may write to them
			// after its await: they must not serve (or be swapped into a slot for) a later
			// request. Fresh ones for the endpoint (an allocation on this error path only); the
			// 5.03 is written with the fresh builder, so the handler's writes stay its own.
			core.response = new ResponseBuilder();
			this.#responder.replyNow(d, CODE_SERVICE_UNAVAILABLE, "server busy", address, port);
			core.view = new MessageView(core.limits.maxOptions);
			core.request = new CoapRequest(core.view);
			return;
		}
		const now = core.ports.clock.now();
		// Swap the receive view/request/response with the slot's spares: no copy.
		const req = core.request;
		const res = core.response;
		core.request = slot.request;
		core.response = slot.response;
		core.view = slot.request.view;
		slot.request = req;
		slot.response = res;
		slot.generation++;
		slot.state = SLOT_WORKING;
		slot.handlerHeld = true;
		slot.address = address;
		slot.port = port;
		slot.requestType = v.type;
		slot.requestMid = v.mid;
		slot.dedup = d;
		slot.acked = false;
		slot.transfer = transfer;
		slot.block1 = core.plan.block1;
		slot.observeResource = this.#responder.observeResource;
		this.#responder.observeResource = null;
		slot.retransmitAt = v.type === TYPE_CON ? now + core.tuning.emptyAckDelayMs : -1;
		slot.giveUpAt = now + core.tuning.handlerTimeoutMs;
		const generation = slot.generation;
		result.then(
			() => this.#asyncDone(slot!, generation, null),
			(e: unknown) => this.#asyncDone(slot!, generation, e === undefined ? new Error("rejected") : e),
		);
		core.rearm();
	}

	/**
	 * The dedup entry of the request in `slot`, or -1 if the ring has since given that entry to
	 * another message (a full ring forgets its oldest entry, dedup.ts). RFC 7252 §4.5: a
	 * duplicate gets the reply to *its* message, so nothing is recorded in a reused entry.
	 */
	#slotDedup(slot: ServerSlot): number {
		const d = slot.dedup;
		if (d < 0) return -1;
		return this.#core.dedup.find(slot.address, slot.port, slot.requestMid, this.#core.ports.clock.now()) === d ? d : -1;
	}

	#asyncDone(slot: ServerSlot, generation: number, error: unknown): void {
		const core = this.#core;
		const responder = this.#responder;
		const writer = this.#writer;
		if (slot.generation !== generation || slot.state !== SLOT_WORKING || core.closed) return;
		const req = slot.request;
		const v = req.view;
		if (error !== null) handlerFailed(slot.response, error, this.#core.onHandlerError);
		const transfer = slot.transfer;
		slot.transfer = null;
		core.plan.reset();
		core.plan.block1 = slot.block1;
		responder.observeResource = slot.observeResource;
		slot.observeResource = null;
		if (slot.requestType === TYPE_NON || !slot.acked) {
			// Still in time to piggyback on the ACK (§5.2.1), or a NON response (§5.2.3).
			responder.respond(this.#slotDedup(slot), req, slot.response, slot.address, slot.port, transfer);
			this.free(slot);
			return;
		}
		// §5.2.2: separate response, sent as CON and retransmitted from the slot's buffer.
		const w = core.slotWriter;
		w.buf = slot.buf;
		const mid = core.nextMid();
		let length = writer.write(w, TYPE_CON, mid, req, slot.response);
		length = responder.register(w, TYPE_CON, mid, req, slot.response, slot.address, slot.port, length);
		w.buf = core.tx;
		slot.response.seal();
		const quiet = suppressed(v, writer.lastCode);
		if (transfer !== null && !quiet) responder.rememberUpload(transfer, writer.lastPlain, writer.lastPlainLength);
		writer.afterBlocks(req, slot.response, slot.address, slot.port, transfer, null);
		if (quiet) {
			this.free(slot); // RFC 7967: the empty ACK was all the client wanted
			return;
		}
		slot.mid = (slot.buf[2]! << 8) | slot.buf[3]!;
		slot.length = length;
		slot.state = SLOT_WAIT_ACK;
		slot.retransmits = 0;
		slot.timeoutMs = core.tuning.ackTimeoutMs * (1 + (core.tuning.ackRandomFactor - 1) * core.random01());
		const now = core.ports.clock.now();
		slot.retransmitAt = now + slot.timeoutMs;
		slot.giveUpAt = -1;
		core.send(slot.buf, length, slot.address, slot.port);
		core.rearm();
	}

	free(slot: ServerSlot): void {
		const o = slot.currentObserver();
		// An observation that ended with an error notification is forgotten once that is done.
		if (o !== null && o.resource === null) this.#core.observers.remove(o);
		slot.observer = null;
		slot.state = SLOT_FREE;
		slot.generation++;
		slot.retransmitAt = slot.giveUpAt = -1;
		if (slot.handlerHeld) {
			// An async handler had this builder and may still hold it after its promise settled
			// (a dangling timer): it is retired, never handed to another request, so a late write
			// cannot change another answer (it throws: the builder is sealed). The one
			// allocation of the async path's end, beside the promise callbacks it already costs.
			slot.handlerHeld = false;
			slot.response = new ResponseBuilder();
		} else slot.response.clear(); // drops references
		this.#core.rearm();
	}

	/** An empty ACK from address:port; false if it acknowledges no server slot's message. */
	onAck(mid: number, address: string, port: number): boolean {
		for (const s of this.#core.servers) {
			if (s.state === SLOT_WAIT_ACK && s.mid === mid && s.port === port && s.address === address) {
				this.free(s);
				return true;
			}
		}
		return false;
	}

	/** A Reset from address:port; false if it rejects no server slot's message. */
	onReset(mid: number, address: string, port: number): boolean {
		for (const s of this.#core.servers) {
			if (s.state === SLOT_WAIT_ACK && s.mid === mid && s.port === port && s.address === address) {
				// §4.2: the peer rejected our separate response; RFC 7641 §3.6: a Reset to a
				// notification ends the observation.
				const o = s.currentObserver();
				if (o !== null) this.#core.observers.remove(o);
				this.free(s);
				return true;
			}
		}
		return false;
	}

	/** The server part of Endpoint.handleTimeout: Leisure, empty ACKs, retransmissions, give-ups. */
	handleTimeout(now: number): void {
		const core = this.#core;
		for (const s of core.servers) {
			if (s.state === SLOT_LEISURE) {
				if (now >= s.retransmitAt) {
					core.send(s.buf, s.length, s.address, s.port);
					this.free(s);
				}
				continue;
			}
			if (s.state === SLOT_WORKING) {
				if (s.giveUpAt >= 0 && now >= s.giveUpAt) {
					// The handler never settled: answer 5.03 so the client is not left waiting. The
					// handler still holds the slot's request object, so the slot gets a fresh one (an
					// allocation on this error path only); its response builder, sealed once the 5.03
					// is written, is retired when the slot is freed (free()).
					const res = s.response;
					res.reset();
					res.code = CODE_SERVICE_UNAVAILABLE;
					res.maxAge = 1;
					res.payload = "handler timed out";
					this.#asyncDone(s, s.generation, null);
					s.request = new CoapRequest(new MessageView(core.limits.maxOptions));
					continue;
				}
				if (s.retransmitAt >= 0 && now >= s.retransmitAt && !s.acked) {
					// §5.2.2: the handler takes long: acknowledge now, respond separately later.
					s.acked = true;
					s.retransmitAt = -1;
					const d = this.#slotDedup(s);
					if (d >= 0) core.dedup.setState(d, DUP_EMPTY_ACK);
					core.sendEmpty(TYPE_ACK, s.requestMid, s.address, s.port);
				}
			} else if (s.state === SLOT_WAIT_ACK && now >= s.retransmitAt) {
				if (s.retransmits >= core.tuning.maxRetransmit) {
					// §4.2: give up on the separate response; RFC 7641 §4.5: an unacknowledged
					// confirmable notification ends the observation.
					const o = s.currentObserver();
					if (o !== null) core.observers.remove(o);
					this.free(s);
					continue;
				}
				s.retransmits++;
				s.timeoutMs *= 2;
				s.retransmitAt = now + s.timeoutMs;
				core.stats.retransmitted++;
				core.send(s.buf, s.length, s.address, s.port);
			}
		}
	}

	/** The server part of Endpoint.close: every slot is freed; handlers still running are ignored. */
	close(): void {
		for (const s of this.#core.servers) {
			s.state = SLOT_FREE;
			s.generation++;
			s.transfer = null;
		}
	}
}

function ignore(): void {}
