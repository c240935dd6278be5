/**
 * Block-wise transfer slots (RFC 7959): a fixed pool of body buffers, each `maxBodySize`
 * bytes, cut from one arena at construction. A slot holds a server's Block1 reassembly
 * (§2.5), a response body kept for the later blocks of a non-idempotent request (§2.6), or a
 * client's Block2 reassembly. Slots expire after `lifetimeMs` without activity, so a transfer
 * a peer abandons never holds memory for long.
 */
import { CODE_FETCH, CODE_GET } from "../constants.js";
import { OPT_REQUEST_TAG, OPT_URI_HOST, OPT_URI_PATH, OPT_URI_PORT, OPT_URI_QUERY } from "../options.js";
import type { MessageView } from "../wire/view.js";

export const XFER_FREE = 0;
/** Server: receiving Block1 blocks. */
export const XFER_RECEIVING = 1;
/** Server: the assembled body is with a handler. */
export const XFER_BUSY = 2;
/** Server: serving Block2 blocks of a kept response body. */
export const XFER_SERVING = 3;
/** Client: assembling a Block2 response. */
export const XFER_CLIENT = 4;
/**
 * Server: a finished Block1 upload, holding the reply that was sent for its final block, so a
 * repeat of that block is answered the same way even when the duplicate-detection table has
 * forgotten it (RFC 7252 §4.5; RFC 7959 §2.5). Such a record is taken over first when a new
 * transfer needs a slot: it never costs capacity.
 */
export const XFER_DONE = 5;
/**
 * Server: the body of a request whose async handler found no server slot (answered 5.03):
 * the handler still reads it, so the slot is held until the handler settles, or at most
 * handlerTimeoutMs (then a new transfer may take it).
 */
export const XFER_HELD = 6;

export class Transfer {
	state = XFER_FREE;
	readonly buf: Uint8Array;
	/** Bytes held. */
	length = 0;
	address = "";
	port = 0;
	/** Hash of method and the options that identify the resource (and Request-Tag). */
	key = 0;
	/** Block number expected next (Block1) or size exponent in use. */
	nextNum = 0;
	szx = 6;
	/** Content-Format of a kept body, -1 for none. */
	contentFormat = -1;
	/** Response code of a kept body. */
	code = 0;
	expiresAt = 0;
	/** ETag of a kept body (up to 8 bytes, RFC 7252 §5.10.6). */
	readonly etag = new Uint8Array(8);
	etagLength = 0;
	/** XFER_DONE: the size of the uploaded body (`length` is then the reply's). */
	bodyLength = 0;
	/**
	 * The OSCORE security context the transfer's requests were protected with, null for plain
	 * ones (RFC 8613 §4.1.3.4: Inner Block options belong to the protected request): blocks
	 * of a protected transfer are only ever joined with, and served to, requests protected with
	 * the same context, never with unprotected ones.
	 */
	security: object | null = null;
	/** Changes whenever the slot is allocated or released (a late release of an earlier use is ignored). */
	generation = 0;

	constructor(buf: Uint8Array) {
		this.buf = buf;
	}
}

export class TransferPool {
	readonly slots: readonly Transfer[];
	readonly maxBodySize: number;

	constructor(count: number, maxBodySize: number) {
		const arena = new Uint8Array(count * maxBodySize);
		const slots: Transfer[] = [];
		for (let i = 0; i < count; i++) slots.push(new Transfer(arena.subarray(i * maxBodySize, (i + 1) * maxBodySize)));
		this.slots = slots;
		this.maxBodySize = maxBodySize;
	}

	/** The live slot in `state` for this peer, key and security context (null: unprotected), or undefined. */
	find(state: number, address: string, port: number, key: number, now: number, security: object | null = null): Transfer | undefined {
		for (const t of this.slots) {
			if (t.state === state && t.key === key && t.port === port && t.address === address && t.security === security && now < t.expiresAt) return t;
		}
		return undefined;
	}

	/**
	 * A free (or expired) slot, marked with `state`; else the oldest record of a finished
	 * upload (XFER_DONE); undefined when all are in use.
	 */
	allocate(state: number, address: string, port: number, key: number, now: number, lifetimeMs: number, security: object | null = null): Transfer | undefined {
		let t: Transfer | undefined;
		for (const x of this.slots) {
			if (x.state === XFER_FREE || (x.state !== XFER_BUSY && now >= x.expiresAt)) {
				t = x;
				break;
			}
			if (x.state === XFER_DONE && (t === undefined || x.expiresAt < t.expiresAt)) t = x;
		}
		if (t === undefined) return undefined;
		t.generation++;
		t.state = state;
		t.address = address;
		t.port = port;
		t.key = key;
		t.security = security;
		t.length = 0;
		t.nextNum = 0;
		t.contentFormat = -1;
		t.code = 0;
		t.expiresAt = now + lifetimeMs;
		return t;
	}

	release(t: Transfer): void {
		t.generation++;
		t.state = XFER_FREE;
		t.length = 0;
	}

	/** Releases `t` if it is still the use that had `generation`. */
	releaseIf(t: Transfer, generation: number): void {
		if (t.generation === generation) this.release(t);
	}

	/**
	 * Turns a finished Block1 upload into an XFER_DONE record of the reply `bytes[0, length)`
	 * sent for its final block (kept until `expiresAt`), or releases it when the reply does not fit.
	 */
	complete(t: Transfer, bytes: Uint8Array, length: number, expiresAt: number): void {
		if (length > t.buf.length || length < 4) {
			this.release(t);
			return;
		}
		t.bodyLength = t.length;
		t.buf.set(bytes.subarray(0, length));
		t.length = length;
		t.state = XFER_DONE;
		t.expiresAt = expiresAt;
	}

	/** Slots in use (diagnostics, tests): records of finished uploads do not count. */
	inUse(now: number): number {
		let n = 0;
		for (const t of this.slots) if (t.state === XFER_BUSY || (t.state !== XFER_FREE && t.state !== XFER_DONE && now < t.expiresAt)) n++;
		return n;
	}
}

/** FNV-1a (32-bit) step over bytes[offset, offset + length). */
export function fnv1a(h: number, bytes: Uint8Array, offset: number, length: number): number {
	for (let i = offset; i < offset + length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
	return h;
}

export const FNV_OFFSET = 0x811c9dc5;

/**
 * Identifies "the same request" across its blocks (RFC 7959 §2.5, RFC 9175 §3.3): method,
 * Uri-Host, Uri-Port, Uri-Path, Uri-Query and, when `withTag`, Request-Tag.
 */
export function requestKey(v: MessageView, withTag: boolean): number {
	let h = Math.imul(FNV_OFFSET ^ v.code, 0x01000193) >>> 0;
	for (let i = 0; i < v.optionCount; i++) {
		const n = v.optNumber[i]!;
		if (n === OPT_URI_PATH || n === OPT_URI_QUERY || n === OPT_URI_HOST || n === OPT_URI_PORT || (withTag && n === OPT_REQUEST_TAG)) {
			h = Math.imul(h ^ (n & 0xff), 0x01000193) >>> 0;
			h = fnv1a(h, v.bytes, v.optOffset[i]!, v.optLength[i]!);
			h = Math.imul(h ^ 0xff, 0x01000193) >>> 0; // separator: "a","b" differs from "ab"
		}
	}
	return h;
}

/**
 * May a later Block2 block (NUM > 0) of the response to request `v` be answered by running
 * the handler again? Only when the request alone says everything the handler needs: a GET
 * (RFC 7959 §2.4), or a FETCH that repeats its body in every block request (RFC 8132
 * §2.3.2: the body is part of the request's identity). Every other request (a PUT, POST,
 * DELETE, PATCH or iPATCH, a FETCH whose later blocks come without the body, any request
 * whose body came block-wise) is answered from the response body kept when the handler ran
 * (§2.6), or 4.08 when none is kept: the handler never runs twice for one request.
 */
export function rerunsForBlock2(v: MessageView): boolean {
	return v.code === CODE_GET || (v.code === CODE_FETCH && v.payloadLength > 0);
}
