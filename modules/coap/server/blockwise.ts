/**
 * ServerBlocks: the request side of server block-wise transfers (RFC 7959). A request body
 * sent in Block1 blocks is assembled in a transfer slot (§2.5), each block but the last
 * answered 2.31 Continue, a block out of sequence 4.08, a body larger than maxBodySize 4.13
 * with Size1 (§2.9.3, §4); later Block2 blocks of a response whose body was kept (§2.6) are
 * served from it without running the handler again.
 *
 * With OSCORE these are Inner Block options (RFC 8613 §4.1.3.4.1): the blocks arrive here
 * decrypted, and a transfer is kept apart by the security context its blocks came with.
 *
 * Leaves out: Block2 slicing and keeping bodies (writer.ts); BERT (SZX 7 is answered 4.00:
 * BERT is for reliable transports only); Outer Block options (RFC 8613 §4.1.3.4.2: refused
 * with 4.02 before they get here, oscore/status.ts).
 */
import { TYPE_ACK, TYPE_CON, TYPE_NON, CODE_BAD_REQUEST, CODE_CONTINUE, CODE_REQUEST_ENTITY_INCOMPLETE, CODE_REQUEST_ENTITY_TOO_LARGE, CODE_SERVICE_UNAVAILABLE } from "../constants.js";
import { blockMore, blockNum, blockSize, blockSzx, blockValid, blockValue } from "../block/option.js";
import { XFER_BUSY, XFER_DONE, XFER_RECEIVING, XFER_SERVING, requestKey, type Transfer } from "../block/transfers.js";
import type { Core } from "../messaging/core.js";
import { OPT_BLOCK1, OPT_SIZE1 } from "../options.js";
import type { Responder } from "./responder.js";

export class ServerBlocks {
	readonly #core: Core;
	readonly #responder: Responder;

	constructor(core: Core, responder: Responder) {
		this.#core = core;
		this.#responder = responder;
	}

	/**
	 * RFC 7959 §2.5: one Block1 block of a request body. Returns the transfer holding the whole
	 * body once the last block is in (state XFER_BUSY), or null after answering the block
	 * (2.31 Continue) or an error (4.00, 4.08, 4.13 with Size1, 5.03).
	 */
	receiveBlock1(d: number, address: string, port: number): Transfer | null {
		const core = this.#core;
		const responder = this.#responder;
		const transfers = core.transfers;
		const req = core.request;
		const v = req.view;
		const security = req.binding.context; // RFC 8613: a protected transfer takes only protected blocks
		const res = core.response;
		const plan = core.plan;
		const now = core.ports.clock.now();
		const value = v.uintOf(OPT_BLOCK1, -1);
		const max = transfers.maxBodySize;
		if (!blockValid(value)) {
			// §2.2: SZX 7 is reserved (BERT is for reliable transports only).
			responder.replyNow(d, CODE_BAD_REQUEST, "invalid Block1", address, port);
			return null;
		}
		const num = blockNum(value);
		const more = blockMore(value);
		const szx = blockSzx(value);
		const size = blockSize(szx);
		const length = v.payloadLength;
		// §4: Size1 announces the total size; refuse early what cannot fit.
		if (v.uintOf(OPT_SIZE1, 0) > max) return this.#tooLarge(d, null, address, port);
		// §2.2: every block but the last carries exactly the block size.
		if (more && length !== size) {
			responder.replyNow(d, CODE_BAD_REQUEST, "Block1 payload is not the block size", address, port);
			return null;
		}
		const key = requestKey(v, true); // RFC 9175 §3.3: Request-Tag keeps transfers apart
		let t = transfers.find(XFER_RECEIVING, address, port, key, now, security);
		if (num === 0) {
			t ??= transfers.allocate(XFER_RECEIVING, address, port, key, now, core.exchangeLifetime, security);
			if (t === undefined) {
				core.stats.capacityRejected++;
				responder.replyNow(d, CODE_SERVICE_UNAVAILABLE, "no block transfer slot free", address, port);
				return null;
			}
			t.length = 0;
		}
		// The last block again (our 2.31 was lost, and the client gave up on that exchange and
		// repeats the block): acknowledge it again without appending.
		if (t !== undefined && more && num * size + length === t.length) {
			t.expiresAt = now + core.exchangeLifetime;
			res.reset();
			res.code = CODE_CONTINUE;
			core.plan.block1 = blockValue(num, true, szx);
			this.#responder.respond(d, req, res, address, port);
			return null;
		}
		// The final block again after the upload was finished (its reply lost, and the dedup
		// table no longer knows the message): answered as the first time, never run again.
		if (t === undefined && num > 0 && !more && this.repeatFinal(d, address, port)) return null;
		// §2.5: a block out of sequence (or a transfer we do not know) → 4.08.
		if (t === undefined || num * size !== t.length) {
			responder.replyNow(d, CODE_REQUEST_ENTITY_INCOMPLETE, "expected block " + (t === undefined ? 0 : Math.floor(t.length / size)), address, port);
			return null;
		}
		if (t.length + length > max) return this.#tooLarge(d, t, address, port);
		t.buf.set(v.bytes.subarray(v.payloadOffset, v.length), t.length);
		t.length += length;
		t.expiresAt = now + core.exchangeLifetime;
		if (more) {
			res.reset();
			res.code = CODE_CONTINUE; // §2.3: 2.31 asks for the next block
			plan.block1 = blockValue(num, true, szx);
			responder.respond(d, req, res, address, port);
			return null;
		}
		t.state = XFER_BUSY;
		plan.block1 = blockValue(num, false, szx); // §2.3: the final response echoes Block1
		return t;
	}

	/**
	 * The request in the core's view is the final Block1 block of an upload that was finished
	 * (its reply lost, and the dedup table no longer knows the message): answers with block 0
	 * of the response body kept for it (§2.6), or the reply recorded when it was finished
	 * (XFER_DONE), rewritten for this message's type, Message ID and token; the handler does not
	 * run again. False when nothing is known of such an upload.
	 */
	repeatFinal(d: number, address: string, port: number): boolean {
		const core = this.#core;
		const req = core.request;
		const v = req.view;
		const security = req.binding.context;
		const b1 = v.uintOf(OPT_BLOCK1, -1);
		if (b1 < 0 || !blockValid(b1) || blockMore(b1)) return false;
		const now = core.ports.clock.now();
		const key = requestKey(v, true);
		const kept = core.transfers.find(XFER_SERVING, address, port, key, now, security);
		if (kept !== undefined) {
			core.plan.block1 = blockValue(blockNum(b1), false, blockSzx(b1));
			this.serveKeptBlock(d, kept, address, port);
			return true;
		}
		const done = core.transfers.find(XFER_DONE, address, port, key, now, security);
		if (done === undefined || done.bodyLength !== blockNum(b1) * blockSize(blockSzx(b1)) + v.payloadLength) return false;
		const con = v.type === TYPE_CON;
		const reply = done.buf;
		// The recorded reply is the plain one; a protected request gets it protected anew
		// (RFC 8613 §8.3: with this request's nonce), written first into the OSCORE scratch.
		const oscore = security === null ? null : core.oscore;
		const w = oscore === null ? core.writer : oscore.plainWriter;
		const out = w.buf;
		w.header(con ? TYPE_ACK : TYPE_NON, reply[1]!, con ? v.mid : core.nextMid(), v.bytes, v.tokenOffset, v.tokenLength);
		// Options and payload of the recorded reply follow its header and token unchanged.
		const tail = 4 + (reply[0]! & 0x0f);
		let length = w.pos + done.length - tail;
		if (length > out.length) return false;
		out.set(reply.subarray(tail, done.length), w.pos);
		if (oscore !== null) length = oscore.sealResponse(core.writer, req.binding, length);
		core.send(core.tx, length, address, port);
		if (con && d >= 0) core.dedup.storeReply(d, core.tx, length);
		return true;
	}

	/** §2.9.3: 4.13 Request Entity Too Large with Size1 = the largest body this endpoint takes. */
	#tooLarge(d: number, t: Transfer | undefined | null, address: string, port: number): null {
		const core = this.#core;
		if (t) core.transfers.release(t);
		const res = core.response;
		res.reset();
		res.code = CODE_REQUEST_ENTITY_TOO_LARGE;
		res.payload = "body larger than " + core.transfers.maxBodySize + " bytes";
		core.plan.size1 = core.transfers.maxBodySize;
		this.#responder.respond(d, core.request, res, address, port);
		return null;
	}

	/** Serves Block2 number N > 0 of a kept response body (§2.6), or 4.08 if none is kept. */
	serveKeptBlock(d: number, t: Transfer | undefined, address: string, port: number): void {
		const core = this.#core;
		const res = core.response;
		if (t === undefined) {
			this.#responder.replyNow(d, CODE_REQUEST_ENTITY_INCOMPLETE, "no response body kept for this request", address, port);
			return;
		}
		res.code = t.code;
		res.contentFormat = t.contentFormat;
		res.payload = t.buf.subarray(0, t.length);
		res.etag = t.etag.subarray(0, t.etagLength);
		this.#responder.respond(d, core.request, res, address, port, null, t);
	}
}
