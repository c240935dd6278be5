/**
 * ResponseWriter: serializes a server's response to a request (RFC 7252 §5.2): the method's
 * default code, ETag validation (§5.10.6.2: 2.03 Valid), and the Block2 slicing of a body
 * larger than one block (RFC 7959 §2.4) with Size2 (§4) and an ETag computed over the body;
 * after sending, keeps the body of a non-idempotent request's response for its later blocks
 * (§2.6) and releases finished transfers. Notifications are written here too.
 *
 * OSCORE (RFC 8613 §8.3) joins here: the response to a request that came protected is
 * written as a plain response into the OSCORE layer's scratch buffer and sealed from there
 * into the buffer that is sent, so every answer to such a request (piggybacked, separate,
 * notifications, blocks, 2.31 Continue, the stack's own 4.xx/5.xx) is protected, while
 * block-wise, Observe and the rest above see the plain response (`lastCode`, the WirePlan).
 *
 * Leaves out: where the bytes go and how they are kept (responder.ts, exchanges.ts,
 * observe/notifier.ts) and receiving Block1 (blockwise.ts).
 */
import { CODE_BAD_OPTION, CODE_CHANGED, CODE_CONTENT, CODE_CONTINUE, CODE_DELETE, CODE_DELETED, CODE_FETCH, CODE_GET, CODE_INTERNAL_SERVER_ERROR, CODE_VALID } from "../constants.js";
import { blockMore, blockNum, blockSize, blockSzx, blockValid, blockValue } from "../block/option.js";
import { FNV_OFFSET, XFER_DONE, XFER_SERVING, fnv1a, requestKey, rerunsForBlock2, type Transfer } from "../block/transfers.js";
import type { Core } from "../messaging/core.js";
import { OPT_BLOCK2, OPT_ETAG, OPT_SIZE2 } from "../options.js";
import type { CoapRequest } from "./request.js";
import type { ResponseBuilder } from "./response.js";
import { utf8Encode } from "../wire/utf8.js";
import type { MessageWriter } from "../wire/writer.js";

export class ResponseWriter {
	readonly #core: Core;
	/** Code of the response last written (after defaults, 2.03 and 4.02 substitutions). */
	lastCode = 0;
	/**
	 * The plain response last written: the sent bytes, or for a protected request the plain
	 * message in the OSCORE layer's buffer (valid until that buffer is used again, i.e. within
	 * the caller's synchronous turn).
	 */
	lastPlain: Uint8Array = new Uint8Array(0);
	lastPlainLength = 0;
	/** Scratch for an ETag computed over a sliced body (RFC 7959 §2.4). */
	readonly #autoEtag = new Uint8Array(4);

	constructor(core: Core) {
		this.#core = core;
	}

	/** Transfer bookkeeping once a response is sent (RFC 7959 §2.5, §2.6). */
	afterBlocks(req: CoapRequest, res: ResponseBuilder, address: string, port: number, transfer: Transfer | null, kept: Transfer | null): void {
		const core = this.#core;
		const v = req.view;
		const transfers = core.transfers;
		const plan = core.plan;
		const more = plan.block2 >= 0 && blockMore(plan.block2);
		if (kept !== null) {
			if (!more) transfers.release(kept);
			else kept.expiresAt = core.ports.clock.now() + core.exchangeLifetime;
			return;
		}
		if (!more || (transfer === null && rerunsForBlock2(v))) {
			// A GET (or a FETCH that repeats its body) is answered block by block by running
			// the handler again.
			if (transfer !== null && transfer.state !== XFER_DONE) transfers.release(transfer);
			return;
		}
		// §2.6: keep the response body of any other request for its later blocks.
		const now = core.ports.clock.now();
		const key = requestKey(v, true); // RFC 9175 §3.4: Request-Tag keeps kept bodies apart too
		let t = transfer;
		if (t === null) {
			const security = req.binding.context;
			t = transfers.find(XFER_SERVING, address, port, key, now, security) ?? transfers.allocate(XFER_SERVING, address, port, key, now, core.exchangeLifetime, security) ?? null;
			if (t === null) return; // no slot: later blocks get 4.08 (documented bounded outcome)
		}
		const body = res.payload;
		const length = res.bodyLength();
		if (body === null || length > t.buf.length) {
			transfers.release(t);
			return;
		}
		if (typeof body === "string") utf8Encode(body, t.buf, 0);
		else if (!(body.buffer === t.buf.buffer && body.byteOffset === t.buf.byteOffset)) t.buf.set(body);
		t.state = XFER_SERVING;
		t.key = key;
		t.address = address;
		t.port = port;
		t.length = length;
		t.code = this.lastCode;
		t.contentFormat = res.contentFormat;
		const etag = res.etag ?? this.#autoEtag;
		t.etag.set(etag.subarray(0, Math.min(etag.length, 8)));
		t.etagLength = Math.min(etag.length, 8);
		t.expiresAt = now + core.exchangeLifetime;
	}

	/**
	 * Serializes a response to request `req` into w's buffer: default code, ETag validation,
	 * and Block2 slicing of a body larger than one block (RFC 7959 §2.4) with Size2 (§4) and an
	 * ETag (so a client sees a representation change between blocks). Falls back to 5.00 if it
	 * does not fit. A request that came protected gets its response protected (RFC 8613 §8.3).
	 * Returns the length in w's buffer.
	 */
	write(w: MessageWriter, type: number, mid: number, req: CoapRequest, res: ResponseBuilder): number {
		const oscore = this.#core.oscore;
		const binding = req.binding;
		const protect = oscore !== null && binding.context !== null;
		const length = this.#writePlain(protect ? oscore.plainWriter : w, type, mid, req, res);
		this.lastPlain = protect ? oscore.plain : w.buf;
		this.lastPlainLength = length;
		// RFC 8613 §8.3: the plain response becomes the OSCORE message that is sent.
		return protect ? oscore.sealResponse(w, binding, length) : length;
	}

	/**
	 * The response to `req` was written and is discarded, to be written again (an Observe
	 * registration renumbered, an amplification-limited answer replaced): for a protected
	 * request the nonce it took is given back (oscore/layer.ts reopen).
	 */
	again(req: CoapRequest): void {
		this.#core.oscore?.reopen(req.binding);
	}

	#writePlain(w: MessageWriter, type: number, mid: number, req: CoapRequest, res: ResponseBuilder): number {
		const v = req.view;
		const plan = this.#core.plan;
		const maxSzx = this.#core.maxSzx;
		let code = res.code;
		if (code === 0) code = v.code === CODE_GET || v.code === CODE_FETCH ? CODE_CONTENT : v.code === CODE_DELETE ? CODE_DELETED : CODE_CHANGED;
		let skipPayload = false;
		// §5.10.6.2: a GET whose ETag matches the current representation's → 2.03 Valid.
		if (code === CODE_CONTENT && res.etag !== null && v.code === CODE_GET) {
			for (let i = v.find(OPT_ETAG); i >= 0; i = v.find(OPT_ETAG, i + 1)) {
				if (bytesEqual(v.bytes, v.optOffset[i]!, v.optLength[i]!, res.etag)) {
					code = CODE_VALID;
					skipPayload = true;
					break;
				}
			}
		}
		plan.block2 = plan.size2 = plan.sliceLength = -1;
		plan.sliceOffset = 0;
		if (!skipPayload && code !== CODE_CONTINUE) {
			const bodyLength = res.bodyLength();
			const asked = v.uintOf(OPT_BLOCK2, -1);
			let szx = -1;
			let num = 0;
			// Block2 asks for a block of a representation: an error response is not one (it is
			// sent whole, or sliced from block 0 when too large).
			if (asked >= 0 && blockValid(asked) && code >> 5 === 2) {
				// §2.4: the server may answer with a smaller block size; the block number scales.
				szx = Math.min(blockSzx(asked), maxSzx);
				num = blockNum(asked) * (1 << (blockSzx(asked) - szx));
			} else if (bodyLength > blockSize(maxSzx)) szx = maxSzx;
			if (szx >= 0) {
				const size = blockSize(szx);
				const offset = num * size;
				if (offset > 0 && offset >= bodyLength) {
					code = CODE_BAD_OPTION; // §2.2: a block beyond the end of the representation
					skipPayload = true;
				} else {
					plan.block2 = blockValue(num, offset + size < bodyLength, szx);
					plan.sliceOffset = offset;
					plan.sliceLength = Math.min(size, bodyLength - offset);
					if (num === 0 || v.find(OPT_SIZE2) >= 0) plan.size2 = bodyLength; // §4
					if (res.etag === null) {
						this.#bodyEtag(res);
						res.etag = this.#autoEtag;
					}
				}
			}
		}
		this.lastCode = code;
		let length: number;
		let problem = "response too large";
		try {
			w.header(type, code, mid, v.bytes, v.tokenOffset, v.tokenLength);
			res.writeBody(w, skipPayload, plan);
			length = w.finish();
		} catch (e) {
			// The builder checks what a handler sets where it is set; should a value still not
			// serialize, the endpoint must not throw (the handler's mistake is reported instead).
			length = -1;
			problem = "internal server error";
			this.#core.onHandlerError?.(e);
		}
		if (length < 0) {
			// Options too large for one message even with the body sliced: a clear error (§5.9.3.1).
			this.lastCode = CODE_INTERNAL_SERVER_ERROR;
			plan.observe = plan.block2 = plan.size2 = -1;
			w.header(type, CODE_INTERNAL_SERVER_ERROR, mid, v.bytes, v.tokenOffset, v.tokenLength);
			w.payloadText(problem);
			length = w.finish();
		}
		return length;
	}

	/** A 4-byte ETag from the body's content (FNV-1a), for bodies sent in blocks. */
	#bodyEtag(res: ResponseBuilder): void {
		const body = res.payload;
		let h = FNV_OFFSET;
		if (typeof body === "string") {
			for (let i = 0; i < body.length; i++) h = Math.imul(h ^ body.charCodeAt(i), 0x01000193) >>> 0;
		} else if (body !== null) h = fnv1a(h, body, 0, body.length);
		const e = this.#autoEtag;
		e[0] = h >>> 24;
		e[1] = (h >>> 16) & 0xff;
		e[2] = (h >>> 8) & 0xff;
		e[3] = h & 0xff;
	}
}

function bytesEqual(a: Uint8Array, offset: number, length: number, b: Uint8Array): boolean {
	if (length !== b.length) return false;
	for (let i = 0; i < length; i++) if (a[offset + i] !== b[i]) return false;
	return true;
}
