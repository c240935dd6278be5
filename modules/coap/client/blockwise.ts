/**
 * Client side of block-wise transfers (RFC 7959): a request body larger than one block goes
 * out block by block with Block1 (§2.5), tagged with a Request-Tag (RFC 9175 §3) so that
 * concurrent uploads to one resource do not mix; a response that arrives with Block2 and M=1
 * is fetched block by block (§2.4) into a preallocated transfer slot, checking that the ETag
 * stays the same (a changed representation of a GET/FETCH restarts the transfer, up to twice,
 * then fails; for other methods it fails at once).
 * Block sizes adapt to a smaller size the server answers with (§2.2). This is the
 * application edge: a few small arrays are allocated per block request.
 */
import { CODE_CONTINUE, CODE_FETCH, CODE_GET } from "../constants.js";
import { CoapError } from "../errors.js";
import { blockMore, blockNum, blockSize, blockSzx, blockValid, blockValue } from "../block/option.js";
import { XFER_CLIENT, type TransferPool } from "../block/transfers.js";
import { OPT_BLOCK1, OPT_BLOCK2, OPT_ETAG, OPT_REQUEST_TAG, OPT_SIZE1, OPT_SIZE2 } from "../options.js";
import { utf8Bytes } from "../wire/utf8.js";
import type { EncodedRequest, OptionValue } from "./options.js";
import { ClientResponse } from "./response.js";

/** What the block-wise layer needs from its endpoint (bound once at construction). */
export interface BlockContext {
	/** One request/response exchange (the message layer underneath). */
	exchange(r: EncodedRequest): Promise<ClientResponse>;
	readonly transfers: TransferPool;
	/** Block size exponent to use unless a request or the server asks for smaller. */
	readonly maxSzx: number;
	random(out: Uint8Array): void;
	now(): number;
}

/** Exchanges for one block are tried this many times before the transfer fails. */
const BLOCK_ATTEMPTS = 3;

/**
 * One block's exchange, tried again when it times out: a transfer is resumable block by block,
 * so one block that lost all its retransmissions need not end it (the server acknowledges a
 * repeated Block1 block again; Block2 requests are safe to repeat).
 */
async function exchangeBlock(ctx: BlockContext, r: EncodedRequest): Promise<ClientResponse> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await ctx.exchange(r);
		} catch (e) {
			if (!(e instanceof CoapError) || e.code !== "COAP_TIMEOUT" || attempt >= BLOCK_ATTEMPTS) throw e;
		}
	}
}

/** A copy of `r` with options replaced/added (kept sorted by number) and another payload. */
function variant(r: EncodedRequest, set: readonly (readonly [number, OptionValue])[], drop: readonly number[], payload: Uint8Array | null): EncodedRequest {
	const options: [number, OptionValue][] = [];
	for (const o of r.options) if (drop.indexOf(o[0]) < 0 && !set.some((s) => s[0] === o[0])) options.push(o);
	for (const o of set) options.push([o[0], o[1]]);
	options.sort((a, b) => a[0] - b[0]);
	return { ...r, options, payload };
}

/** Sends `r`, block-wise where needed, and resolves with the whole response. */
export async function requestBlockwise(ctx: BlockContext, r: EncodedRequest, blockSzxPreference: number): Promise<ClientResponse> {
	const szx0 = Math.min(blockSzxPreference, ctx.maxSzx);
	const body = r.payload === null ? null : typeof r.payload === "string" ? utf8Bytes(r.payload) : r.payload;
	let res: ClientResponse;
	let tag: Uint8Array | null = null;
	if (body !== null && body.length > blockSize(szx0)) {
		tag = new Uint8Array(4);
		ctx.random(tag);
		res = await sendBlock1(ctx, r, body, szx0, tag);
	} else {
		// A preferred block size smaller than the default is asked for up front (§2.4, early negotiation).
		const ask = blockSzxPreference < ctx.maxSzx ? variant(r, [[OPT_BLOCK2, blockValue(0, false, szx0)]], [], body) : r;
		res = await ctx.exchange(ask);
	}
	const b2 = res.optionUint(OPT_BLOCK2, -1);
	if (b2 < 0 || !blockMore(b2) || !res.ok) return res;
	return fetchBlock2(ctx, r, res, tag);
}

async function sendBlock1(ctx: BlockContext, r: EncodedRequest, body: Uint8Array, szx0: number, tag: Uint8Array): Promise<ClientResponse> {
	let szx = szx0;
	let offset = 0;
	for (;;) {
		const size = blockSize(szx);
		const num = offset / size;
		const end = Math.min(body.length, offset + size);
		const more = end < body.length;
		const set: [number, OptionValue][] = [[OPT_BLOCK1, blockValue(num, more, szx)], [OPT_REQUEST_TAG, tag]];
		if (num === 0) set.push([OPT_SIZE1, body.length]); // §4: announce the total size
		const res = await exchangeBlock(ctx, variant(r, set, [], body.subarray(offset, end)));
		r.onProgress?.(end, body.length, true);
		if (!more) return res;
		if (res.code !== CODE_CONTINUE) return res; // an error (4.08, 4.13 ...) or a final answer
		const ack = res.optionUint(OPT_BLOCK1, -1);
		// §2.5: the server wants smaller blocks: go on in its size, after the bytes already sent,
		// the block number counted in the smaller size (Figure 9: 1:0/1/128, then 2.31 with
		// 1:0/1/32, then 1:4/1/32).
		if (ack >= 0 && blockValid(ack) && blockSzx(ack) < szx) szx = blockSzx(ack);
		offset = end;
	}
}

function sameEtag(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
	if (a === undefined || b === undefined) return a === b;
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** Fetches the remaining blocks of a response whose first block arrived (RFC 7959 §2.4). */
export function fetchRest(ctx: BlockContext, r: EncodedRequest, first: ClientResponse): Promise<ClientResponse> {
	return fetchBlock2(ctx, r, first);
}

/** `tag`: the Request-Tag of the Block1 upload whose response this is (RFC 9175 §3.3), or null. */
async function fetchBlock2(ctx: BlockContext, r: EncodedRequest, first: ClientResponse, tag: Uint8Array | null = null): Promise<ClientResponse> {
	const now = ctx.now();
	// The slot is released in `finally` below: it must not expire while block requests are
	// still being tried (three attempts of a block may outlast EXCHANGE_LIFETIME), or another
	// transfer could take it and write into it.
	const t = ctx.transfers.allocate(XFER_CLIENT, first.address, first.port, 0, now, Number.POSITIVE_INFINITY);
	if (t === undefined) throw new CoapError("COAP_CAPACITY", "no block transfer slot free for a " + (first.optionUint(OPT_SIZE2, -1) >= 0 ? first.optionUint(OPT_SIZE2, -1) + "-byte " : "") + "block-wise response");
	try {
		// §4: Size2 on the first block announces the whole size: refuse at once what cannot fit.
		const announced = first.optionUint(OPT_SIZE2, -1);
		if (announced > t.buf.length) throw new CoapError("COAP_OVERFLOW", "the response body (" + announced + " bytes, Size2) is larger than maxBodySize " + t.buf.length);
		let restarts = 0;
		let head = first;
		let res = first;
		// Later block requests carry no body (§2.6 for the response to a non-idempotent request),
		// but the upload's Request-Tag (RFC 9175 §3.3: "and in Block2 requests following these");
		// a FETCH whose body went in one message repeats it (RFC 8132 §2.3.2: the body is part of
		// what identifies the request, so a stateless server can answer any block).
		const repeat = r.method === CODE_FETCH && tag === null && r.payload !== null ? (typeof r.payload === "string" ? utf8Bytes(r.payload) : r.payload) : null;
		const base = variant(r, tag === null ? [] : [[OPT_REQUEST_TAG, tag]], [OPT_BLOCK1, OPT_REQUEST_TAG, OPT_SIZE1], repeat);
		for (;;) {
			const b2 = res.optionUint(OPT_BLOCK2, -1);
			if (b2 < 0 || !blockValid(b2)) throw new CoapError("COAP_BAD_RESPONSE", "a block of the response has no valid Block2 option");
			const size = blockSize(blockSzx(b2));
			const offset = blockNum(b2) * size;
			if (offset !== t.length) throw new CoapError("COAP_BAD_RESPONSE", "the server sent block " + blockNum(b2) + " when bytes from " + t.length + " were asked for");
			if (t.length + res.payload.length > t.buf.length) throw new CoapError("COAP_OVERFLOW", "the response body is larger than maxBodySize " + t.buf.length);
			t.buf.set(res.payload, t.length);
			t.length += res.payload.length;
			r.onProgress?.(t.length, head.optionUint(OPT_SIZE2, -1), false);
			if (!blockMore(b2)) break;
			const next = variant(base, [[OPT_BLOCK2, blockValue(t.length / size, false, blockSzx(b2))]], [], repeat);
			res = await exchangeBlock(ctx, next);
			if (!res.ok) return res;
			if (!sameEtag(res.option(OPT_ETAG), head.option(OPT_ETAG))) {
				// §2.4: the representation changed between blocks: never stitch two versions.
				// Starting again from block 0 repeats the request without its body: only a safe
				// method (GET, FETCH) may be repeated so; a POST or PUT would run again, bodiless.
				if (r.method !== CODE_GET && r.method !== CODE_FETCH) throw new CoapError("COAP_BAD_RESPONSE", "the response body changed during a block-wise transfer of a non-safe request");
				if (++restarts > 2) throw new CoapError("COAP_BAD_RESPONSE", "the representation kept changing during a block-wise transfer");
				t.length = 0;
				res = await ctx.exchange(variant(base, [[OPT_BLOCK2, blockValue(0, false, blockSzx(b2))]], [], repeat));
				if (!res.ok) return res;
				head = res;
			}
		}
		return ClientResponse.assembled(head, t.buf.subarray(0, t.length));
	} finally {
		ctx.transfers.release(t);
	}
}
