/**
 * Responder: sends a server's answer to the request in the core's view. Piggybacked on the
 * ACK for CON (RFC 7252 §5.2.1), NON for NON (§5.2.3), recorded for duplicate detection
 * (§4.5); an Observe registration on a 2.xx answer (RFC 7641 §4.1); No-Response suppression
 * (RFC 7967 §2); the amplification limit and 4.01 + Echo (RFC 9175 §2.3, §2.4); for a
 * multicast request no error responses, and a random Leisure before the answer (§8.2).
 *
 * Leaves out: deciding the answer (dispatch.ts), serializing it (writer.ts), and separate
 * responses of async handlers (exchanges.ts).
 */
import { CODE_CONTENT, CODE_CONTINUE, CODE_INTERNAL_SERVER_ERROR, CODE_SERVICE_UNAVAILABLE, CODE_UNAUTHORIZED, TYPE_ACK, TYPE_NON, TYPE_CON } from "../constants.js";
import { blockMore, blockNum } from "../block/option.js";
import type { Transfer } from "../block/transfers.js";
import type { Core } from "../messaging/core.js";
import { DUP_EMPTY_ACK } from "../messaging/dedup.js";
import { SLOT_FREE, SLOT_LEISURE, type ServerSlot } from "../messaging/slots.js";
import { nextSequence } from "../observe/freshness.js";
import { OPT_NO_RESPONSE } from "../options.js";
import type { CoapRequest } from "./request.js";
import type { ResponseBuilder } from "./response.js";
import type { Resource } from "./router.js";
import type { ResponseWriter } from "./writer.js";
import type { MessageView } from "../wire/view.js";
import type { MessageWriter } from "../wire/writer.js";

export class Responder {
	readonly #core: Core;
	readonly #writer: ResponseWriter;
	/** Set while dispatching a GET/FETCH with Observe=0 on an observable resource. */
	observeResource: Resource | null = null;

	constructor(core: Core, writer: ResponseWriter) {
		this.#core = core;
		this.#writer = writer;
	}

	/**
	 * Answers the request in the core's view at once with `code` and a diagnostic payload
	 * (§5.5.2): piggybacked for CON, a NON response for NON (§5.2.3).
	 */
	replyNow(d: number, code: number, diagnostic: string, address: string, port: number): void {
		const res = this.#core.response;
		res.reset();
		this.#core.plan.reset();
		this.observeResource = null;
		res.code = code;
		res.payload = diagnostic;
		if (code === CODE_SERVICE_UNAVAILABLE) res.maxAge = 1; // §5.9.3.4: Max-Age says when to retry
		this.respond(d, this.#core.request, res, address, port);
	}

	/**
	 * Sends the response for request `req`: piggybacked on the ACK for CON (§5.2.1), as NON
	 * for NON (§5.2.3), and records it for duplicate detection. `transfer` is the Block1
	 * transfer whose body the handler had (released, or kept for §2.6), `kept` the body a
	 * later block is served from (released after its last block).
	 */
	respond(d: number, req: CoapRequest, res: ResponseBuilder, address: string, port: number, transfer: Transfer | null = null, kept: Transfer | null = null): void {
		const core = this.#core;
		const writer = this.#writer;
		const v = req.view;
		const con = v.type === TYPE_CON;
		const type = con ? TYPE_ACK : TYPE_NON;
		const mid = con ? v.mid : core.nextMid();
		let length = writer.write(core.writer, type, mid, req, res);
		if (core.amplificationLimit && length > 3 * v.length && !core.echo.fresh(v, address, port, core.ports.clock.now()) && !core.echo.verified(address, port)) {
			// RFC 9175 §2.4: no more than three times the request's size to an unverified address.
			if (transfer !== null) core.transfers.release(transfer);
			if (kept !== null) core.transfers.release(kept);
			transfer = kept = null;
			this.askForEcho(res, address, port); // also drops a pending Observe registration
			writer.again(req);
			length = writer.write(core.writer, type, mid, req, res);
		}
		length = this.register(core.writer, type, mid, req, res, address, port, length);
		if (core.multicast) {
			// §8.2 (and RFC 7967 §2.1's default for multicast): no error responses to a group
			// request; a response waits a random Leisure so that the servers do not all answer at once.
			if (writer.lastCode >> 5 === 2 && !suppressed(v, writer.lastCode)) this.#leisure(length, address, port);
			writer.afterBlocks(req, res, address, port, transfer, kept);
			res.seal();
			return;
		}
		if (suppressed(v, writer.lastCode)) {
			// RFC 7967 §2: the client asked for no response of this class; a CON still gets
			// its (empty) ACK (§2.1).
			if (con) {
				core.sendEmpty(TYPE_ACK, v.mid, address, port);
				if (d >= 0) core.dedup.setState(d, DUP_EMPTY_ACK);
			}
		} else {
			core.send(core.tx, length, address, port);
			// A duplicate NON is ignored whatever was answered; a CON's reply is kept for its duplicates.
			if (con && d >= 0) core.dedup.storeReply(d, core.tx, length);
			// The reply is remembered plain: a repeat of the block is a new request, and a
			// protected one gets it protected anew (blockwise.ts repeatFinal).
			if (transfer !== null) this.rememberUpload(transfer, writer.lastPlain, writer.lastPlainLength);
		}
		writer.afterBlocks(req, res, address, port, transfer, kept);
		res.seal();
	}

	/**
	 * RFC 7641 §4.1: a GET/FETCH with Observe=0 on an observable resource registers its sender
	 * when the answer that actually goes out (`w` holds it, `length` bytes, written by the
	 * ResponseWriter) is a 2.xx carrying the whole representation or its first block (RFC 7959
	 * §2.6: notifications carry block 0); the answer is then written again with the Observe
	 * sequence number and the new length returned. Decided after writing, because the writer
	 * may still turn a 2.xx into 4.02 (a block past the end) or 5.00, and the amplification
	 * limit into 4.01 + Echo (RFC 9175 §2.4). A full observer table (or a request too large
	 * to keep) serves the request without Observe. A re-registration answered with an error
	 * ends the existing observation (§3.2: the client takes it as final).
	 */
	register(w: MessageWriter, type: number, mid: number, req: CoapRequest, res: ResponseBuilder, address: string, port: number, length: number): number {
		const core = this.#core;
		const v = req.view;
		const resource = this.observeResource;
		this.observeResource = null;
		if (resource === null) return length;
		const code = this.#writer.lastCode;
		const block2 = core.plan.block2;
		if (code >> 5 !== 2 || code === CODE_CONTINUE) {
			const old = core.observers.find(address, port, req);
			if (old !== undefined) core.observers.remove(old);
			return length;
		}
		if (block2 >= 0 && blockNum(block2) !== 0) return length;
		// RFC 7967 §2 with RFC 7641 §4.1: a registration that suppresses 2.xx answers would
		// never get a notification (nor a confirmable one that tells whether the client is
		// still there, §4.5): it would hold an observer entry for nothing, so none is made.
		if (suppressed(v, CODE_CONTENT)) return length;
		const o = core.observers.add(address, port, req, resource, core.ports.clock.now());
		if (o === undefined) return length;
		core.observeSeq = nextSequence(core.observeSeq);
		core.plan.observe = core.observeSeq;
		this.#writer.again(req);
		return this.#writer.write(w, type, mid, req, res);
	}

	/**
	 * The reply `bytes[0, length)` to the final block of the Block1 upload `t` went out: unless
	 * the response body is kept for later Block2 blocks (the transfer then serves them, RFC
	 * 7959 §2.6), the slot keeps that reply so a repeat of the final block is answered the same
	 * way without running the handler again, also once the dedup table has forgotten the
	 * message (§4.5; see ServerBlocks.receiveBlock1). The record lasts EXCHANGE_LIFETIME or
	 * until a new transfer needs the slot.
	 */
	rememberUpload(t: Transfer, bytes: Uint8Array, length: number): void {
		const core = this.#core;
		const b2 = core.plan.block2;
		if (b2 >= 0 && blockMore(b2)) return;
		core.transfers.complete(t, bytes, length, core.ports.clock.now() + core.exchangeLifetime);
	}

	/**
	 * §8.2: holds the response in the core's tx buffer in a server slot until a random time
	 * within DEFAULT_LEISURE; with no slot free the response is dropped (multicast is best effort).
	 */
	#leisure(length: number, address: string, port: number): void {
		const core = this.#core;
		let slot: ServerSlot | undefined;
		for (const s of core.servers) if (s.state === SLOT_FREE) { slot = s; break; }
		if (slot === undefined) {
			core.stats.capacityRejected++;
			return;
		}
		slot.buf.set(core.tx.subarray(0, length));
		slot.length = length;
		slot.address = address;
		slot.port = port;
		slot.generation++;
		slot.state = SLOT_LEISURE;
		slot.giveUpAt = -1;
		slot.retransmitAt = core.ports.clock.now() + Math.floor(core.tuning.defaultLeisureMs * core.random01());
		core.rearm();
	}

	/** RFC 9175 §2.3: 4.01 Unauthorized with an Echo value the client repeats its request with. */
	askForEcho(res: ResponseBuilder, address: string, port: number): void {
		const core = this.#core;
		res.reset();
		res.code = CODE_UNAUTHORIZED;
		core.plan.reset();
		core.plan.echo = core.echo.issue(address, port, core.ports.clock.now());
		this.observeResource = null;
	}
}

/** RFC 7967 §2.1: does the request's No-Response option suppress responses of `code`'s class? */
export function suppressed(v: MessageView, code: number): boolean {
	const i = v.find(OPT_NO_RESPONSE);
	if (i < 0) return false;
	const cls = code >> 5;
	const bit = cls === 2 ? 2 : cls === 4 ? 8 : cls === 5 ? 16 : 0; // 2.xx, 4.xx, 5.xx
	return (v.uint(i) & bit) !== 0;
}

/**
 * A handler threw or rejected: `res` becomes 5.00 (as aiocoap demotes handler errors; the
 * message names no internals), and the error goes to the application's onHandlerError.
 */
export function handlerFailed(res: ResponseBuilder, e: unknown, report: ((e: unknown) => void) | undefined): void {
	res.reset();
	res.code = CODE_INTERNAL_SERVER_ERROR;
	res.payload = "internal server error";
	report?.(e);
}
