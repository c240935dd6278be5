/**
 * Dispatcher: the server's handling of one request in the core's view (RFC 7252 §5). Duplicate
 * detection first (§4.5: the same reply again for a CON, nothing for a NON), then the checks
 * that answer without a handler (too many options, too large, §5.7.2 proxying, §5.4.1
 * unrecognised critical options), then the route: 4.04, 4.05, 4.06 (Accept), 4.15, 4.01 + Echo
 * for fresh-only resources (RFC 9175 §2.3), `/.well-known/core` (RFC 6690), Observe
 * registration and deregistration (RFC 7641 §3.6, §4.1), Block1 and kept Block2 blocks
 * (RFC 7959), and finally the resource's handler, answered at once or, when async, from a
 * server slot.
 *
 * OSCORE (RFC 8613 §8.2) joins between duplicate detection and everything that reads the
 * request's options: a request carrying the OSCORE option is verified and decrypted in place
 * (oscore/layer.ts), then goes on as a plain request whose binding makes every answer to it
 * protected (writer.ts). A request that fails verification gets the unprotected §8.2 error;
 * one whose freshness is unknown after a reboot gets 4.01 + Echo (Appendix B.1.2); a resource
 * with `requireOscore` answers unprotected requests 4.01 (§8.2 leaves authorization to the
 * application; Unauthorized is what the OSCORE interop tests expect).
 *
 * Leaves out: proxying (a request with Proxy-Uri or Proxy-Scheme gets 5.05, §5.7.2); sending
 * the answer (responder.ts) and async handlers' slots (exchanges.ts).
 */
import {
	CODE_BAD_OPTION,
	CODE_BAD_REQUEST,
	CODE_CONTENT,
	CODE_FETCH,
	CODE_GET,
	CODE_METHOD_NOT_ALLOWED,
	CODE_NOT_ACCEPTABLE,
	CODE_NOT_FOUND,
	CODE_PRECONDITION_FAILED,
	CODE_PROXYING_NOT_SUPPORTED,
	CODE_REQUEST_ENTITY_TOO_LARGE,
	CODE_SERVICE_UNAVAILABLE,
	CODE_UNAUTHORIZED,
	CODE_UNSUPPORTED_CONTENT_FORMAT,
	FORMAT_LINK_FORMAT,
	TYPE_ACK,
	TYPE_CON,
	TYPE_NON,
	TYPE_RST,
	isIdempotent,
} from "../constants.js";
import { E_TOO_MANY_OPTIONS } from "../errors.js";
import { blockNum, blockSzx, blockValid, blockValue } from "../block/option.js";
import { XFER_SERVING, requestKey, rerunsForBlock2, type Transfer } from "../block/transfers.js";
import type { Core } from "../messaging/core.js";
import { hasOscoreOption } from "../oscore/layer.js";
import { isOscoreError } from "../oscore/status.js";
import type { MessageView } from "../wire/view.js";
import { DUP_CACHED, DUP_EMPTY_ACK, DUP_RESET, DUP_SEEN } from "../messaging/dedup.js";
import { OPT_ACCEPT, OPT_BLOCK1, OPT_BLOCK2, OPT_CONTENT_FORMAT, OPT_IF_MATCH, OPT_IF_NONE_MATCH, OPT_OBSERVE, OPT_PROXY_SCHEME, OPT_PROXY_URI, OPT_URI_QUERY, optionName } from "../options.js";
import type { ServerBlocks } from "./blockwise.js";
import type { ServerExchanges } from "./exchanges.js";
import { linkFormat } from "./linkformat.js";
import { handlerFailed, type Responder } from "./responder.js";
import { pathEquals, type Resource, type Router } from "./router.js";

const WELL_KNOWN: readonly Uint8Array[] = Object.freeze([
	Uint8Array.of(0x2e, 0x77, 0x65, 0x6c, 0x6c, 0x2d, 0x6b, 0x6e, 0x6f, 0x77, 0x6e), // preload-safe: ".well-known", only compared, never written (reading a preloaded typed array works)
	Uint8Array.of(0x63, 0x6f, 0x72, 0x65), // preload-safe: "core", only compared, never written
]);

export class Dispatcher {
	readonly #core: Core;
	readonly #responder: Responder;
	readonly #blocks: ServerBlocks;
	readonly #exchanges: ServerExchanges;
	readonly #router: Router | undefined;

	constructor(core: Core, responder: Responder, blocks: ServerBlocks, exchanges: ServerExchanges, router: Router | undefined) {
		this.#core = core;
		this.#responder = responder;
		this.#blocks = blocks;
		this.#exchanges = exchanges;
		this.#router = router;
	}

	/** A CON or NON request in the core's view, from address:port, with parse status `st`. */
	onRequest(st: number, address: string, port: number): void {
		const core = this.#core;
		const responder = this.#responder;
		const v = core.view;
		core.plan.reset();
		core.response.reset(); // its previous answer is out: ready for this request
		core.request.binding.clear(); // unprotected until OSCORE verifies it (below)
		responder.observeResource = null;
		const now = core.ports.clock.now();
		const con = v.type === TYPE_CON;
		const mid = v.mid;
		let d = core.dedup.find(address, port, mid, now);
		if (d >= 0) {
			core.stats.duplicates++;
			// §4.5: a duplicate NON is ignored; a duplicate CON gets the same reply again.
			if (!con) return;
			const state = core.dedup.state(d);
			if (state === DUP_CACHED) {
				const off = core.dedup.cachedOffset(d);
				core.send(core.dedup.arena.subarray(off), core.dedup.cachedLength(d), address, port);
				return;
			}
			if (state === DUP_EMPTY_ACK || state === DUP_RESET) {
				core.sendEmpty(state === DUP_RESET ? TYPE_RST : TYPE_ACK, mid, address, port);
				return;
			}
			if (state === DUP_SEEN) return; // still being processed: the reply will come
			// DUP_LOST: the reply fell out of the cache. §4.5 allows processing an idempotent
			// request again; a non-idempotent one is not repeated: 5.03 (capacity). (An OSCORE
			// request is POST or FETCH outside: a POST gets the 5.03, unprotected; a FETCH is
			// processed again and refused by the replay window, RFC 8613 §7.4: 4.01.)
			if (!isIdempotent(v.code)) {
				core.dedup.setState(d, DUP_SEEN);
				// RFC 7959 §2.5, §2.6: a repeated final Block1 block is answered from what its
				// upload left (block 0 of a kept body, or the recorded reply); a block of a kept
				// response body can be served again harmlessly. Not for an OSCORE message: it is
				// still encrypted here (its outer POST names no resource), and what was kept of a
				// protected exchange is inner; it gets the 5.03 below.
				if (core.oscore === null || !hasOscoreOption(v)) {
					if (this.#blocks.repeatFinal(d, address, port)) return;
					const kept = core.transfers.find(XFER_SERVING, address, port, requestKey(v, true), now);
					if (kept !== undefined && v.find(OPT_BLOCK1) < 0) {
						this.#blocks.serveKeptBlock(d, kept, address, port);
						return;
					}
				}
				responder.replyNow(d, CODE_SERVICE_UNAVAILABLE, "reply no longer cached", address, port);
				return;
			}
			core.dedup.setState(d, DUP_SEEN);
		} else {
			d = core.dedup.insert(address, port, mid, now, con ? core.exchangeLifetime : core.nonLifetime);
		}
		if (st === E_TOO_MANY_OPTIONS) {
			// More options than maxOptions: we cannot know all of them, so we cannot process it.
			responder.replyNow(d, CODE_BAD_OPTION, "too many options (limit " + core.limits.maxOptions + ")", address, port);
			return;
		}
		if (v.length > core.limits.maxMessageSize) {
			// §5.9.2.9 / §5.10.9: larger than this endpoint takes in one message → 4.13 with
			// Size1 (hosts with smaller receive buffers never see such a datagram whole).
			const res = core.response;
			res.reset();
			res.code = CODE_REQUEST_ENTITY_TOO_LARGE;
			core.plan.size1 = core.limits.maxMessageSize;
			res.payload = "request larger than " + core.limits.maxMessageSize + " bytes";
			responder.respond(d, core.request, res, address, port);
			return;
		}
		const binding = core.request.binding;
		if (core.oscore !== null && hasOscoreOption(v)) {
			// RFC 8613 §8.2: verify and decrypt; from here on `v` is the plain request.
			const s = core.oscore.unprotectRequest(v, binding);
			if (isOscoreError(s)) {
				this.#oscoreError(d, s, address, port);
				return;
			}
			if (s === E_TOO_MANY_OPTIONS) {
				responder.replyNow(d, CODE_BAD_OPTION, "too many options (limit " + core.limits.maxOptions + ")", address, port);
				return;
			}
			if (binding.renewal >= 0) {
				// Appendix B.2 step 2: request #1 is not processed; response #1 (4.01, protected
				// under the new context, carrying R2 as 'kid context') starts the renewal.
				responder.replyNow(d, CODE_UNAUTHORIZED, "", address, port);
				return;
			}
			if (binding.freshnessUnknown) {
				// Appendix B.1.2: after a reboot the replay window is unknown; the first request is
				// answered 4.01 + Echo (protected, a Partial IV of its own), the repeat with that
				// Echo sets the window's lower limit.
				if (!core.echo.fresh(v, address, port, now)) {
					const res = core.response;
					responder.askForEcho(res, address, port);
					responder.respond(d, core.request, res, address, port);
					return;
				}
				core.oscore.engine.acceptFresh(binding);
			}
		}
		// §5.7.2: this endpoint is not a proxy.
		if (v.find(OPT_PROXY_URI) >= 0 || v.find(OPT_PROXY_SCHEME) >= 0) {
			responder.replyNow(d, CODE_PROXYING_NOT_SUPPORTED, "not a proxy", address, port);
			return;
		}
		const bad = v.firstBadCritical();
		if (bad >= 0) {
			// §5.4.1: unrecognised critical option in a CON request → 4.02 with a diagnostic;
			// in a NON request → reject the message (§4.3), here with a Reset.
			if (con) responder.replyNow(d, CODE_BAD_OPTION, "unrecognised critical option " + optionName(v.optNumber[bad]!), address, port);
			else if (!core.multicast) {
				core.dedup.setState(d, DUP_RESET);
				core.sendEmpty(TYPE_RST, mid, address, port);
			}
			return;
		}
		this.#dispatch(d, address, port);
	}

	/**
	 * RFC 8613 §8.2: the request failed OSCORE verification (`status`): the unprotected error
	 * response (4.02 Bad Option, 4.01 Unauthorized, 4.00 Bad Request, with Max-Age 0 and the
	 * diagnostic), piggybacked for CON, NON for NON (§8.2: "MAY respond"), nothing to a group.
	 */
	#oscoreError(d: number, status: number, address: string, port: number): void {
		const core = this.#core;
		const v = core.view;
		if (core.multicast) return;
		const con = v.type === TYPE_CON;
		const length = core.oscore!.errorResponse(core.writer, status, v, con ? TYPE_ACK : TYPE_NON, con ? v.mid : core.nextMid());
		if (length <= 0) return;
		core.send(core.tx, length, address, port);
		if (con && d >= 0) core.dedup.storeReply(d, core.tx, length);
	}

	#dispatch(d: number, address: string, port: number): void {
		const core = this.#core;
		const responder = this.#responder;
		const v = core.view;
		const res = core.response;
		const req = core.request;
		res.reset();
		core.plan.reset();
		req.address = address;
		req.port = port;
		req.body = null;
		const router = this.#router;
		let resource = router?.match(v);
		// RFC 6690 §4: /.well-known/core is generated unless registered exactly (not by a subtree).
		if (resource !== undefined && resource.subtree && pathEquals(v, WELL_KNOWN) && resource.segments.length < 2) resource = undefined;
		if (resource === undefined) {
			if (router !== undefined && pathEquals(v, WELL_KNOWN)) {
				// RFC 6690 §4: /.well-known/core is read with GET; any other method → 4.05 (§5.9.2.6).
				if (v.code === CODE_GET) this.#wellKnown(router.resources);
				else res.code = CODE_METHOD_NOT_ALLOWED;
				responder.respond(d, req, res, address, port);
				return;
			}
			res.code = CODE_NOT_FOUND;
			responder.respond(d, req, res, address, port);
			return;
		}
		if (resource.requireOscore && req.binding.context === null) {
			// The resource is served only inside OSCORE (RFC 8613 §8.2: authorization is the
			// application's; 4.01 as the OSCORE interop tests expect). Checked before the method
			// so that nothing about the resource is told to an unprotected request.
			res.code = CODE_UNAUTHORIZED;
			res.payload = "OSCORE required";
			responder.respond(d, req, res, address, port);
			return;
		}
		const handler = resource.handler(v.code);
		if (handler === undefined) {
			res.code = CODE_METHOD_NOT_ALLOWED; // §5.9.2.6
			responder.respond(d, req, res, address, port);
			return;
		}
		// §5.10.4: an Accept the resource cannot produce → 4.06.
		const accept = v.uintOf(OPT_ACCEPT, -1);
		if (accept >= 0 && resource.ct.length > 0 && resource.ct.indexOf(accept) < 0) {
			res.code = CODE_NOT_ACCEPTABLE;
			responder.respond(d, req, res, address, port);
			return;
		}
		// §5.10.3 / §5.9.2.9: a payload in a format the resource does not take → 4.15.
		if (resource.accepts !== undefined && v.payloadLength > 0 && resource.accepts.indexOf(v.uintOf(OPT_CONTENT_FORMAT, -1)) < 0) {
			res.code = CODE_UNSUPPORTED_CONTENT_FORMAT;
			responder.respond(d, req, res, address, port);
			return;
		}
		// RFC 9175 §2.3: a resource that requires freshness for state-changing requests.
		if (resource.fresh && v.code !== CODE_GET && v.code !== CODE_FETCH && !core.echo.fresh(v, address, port, core.ports.clock.now())) {
			responder.askForEcho(res, address, port);
			responder.respond(d, req, res, address, port);
			return;
		}
		// RFC 7252 §5.10.8 (and RFC 8132 §3.2 for PATCH/iPATCH): the method is not performed
		// unless the preconditions hold; judged against the ETag the resource reports, or, when
		// it reports none, against what is known: the resource exists, its ETag is unknown.
		if (!resource.conditional && (v.find(OPT_IF_MATCH) >= 0 || v.find(OPT_IF_NONE_MATCH) >= 0) && !preconditionsHold(v, resource.etag !== undefined ? resource.etag() : undefined, resource.handler(CODE_GET) !== undefined)) {
			res.code = CODE_PRECONDITION_FAILED;
			responder.respond(d, req, res, address, port);
			return;
		}
		const obs = v.find(OPT_OBSERVE);
		if (obs >= 0 && (v.code === CODE_GET || v.code === CODE_FETCH)) {
			const value = v.uint(obs);
			if (value === 1) {
				// RFC 7641 §3.6: Observe=1 deregisters; the request is then served as usual.
				const o = core.observers.find(address, port, req);
				if (o !== undefined) core.observers.remove(o);
			} else if (value === 0 && resource.obs) responder.observeResource = resource; // §4.1: registered with a 2.xx answer
		}
		let transfer: Transfer | null = null;
		if (v.find(OPT_BLOCK1) >= 0) {
			transfer = this.#blocks.receiveBlock1(d, address, port);
			if (transfer === null) return; // answered: 2.31 Continue or an error
			req.body = transfer.buf.subarray(0, transfer.length);
		} else if (v.find(OPT_BLOCK2) >= 0 && !blockValid(v.uintOf(OPT_BLOCK2, 0))) {
			// RFC 7959 §2.2: SZX 7 (reserved) in Block2 → 4.00 Bad Request.
			responder.replyNow(d, CODE_BAD_REQUEST, "invalid Block2", address, port);
			return;
		} else if (blockNum(v.uintOf(OPT_BLOCK2, 0)) > 0) {
			// RFC 7959 §2.6: later blocks of the response to a request that carried a body, or
			// is not idempotent, come from the body kept when the handler ran; the handler must
			// not run again (without its body it would answer something else, and a PUT would
			// be applied twice): no kept body → 4.08.
			const kept = core.transfers.find(XFER_SERVING, address, port, requestKey(v, true), core.ports.clock.now(), req.binding.context);
			if (kept !== undefined || !rerunsForBlock2(v)) {
				this.#blocks.serveKeptBlock(d, kept, address, port);
				return;
			}
		}
		let result: void | Promise<void>;
		try {
			result = handler(req, res);
		} catch (e) {
			handlerFailed(res, e, core.onHandlerError);
			result = undefined;
		}
		if (result === undefined || typeof (result as Promise<void>).then !== "function") {
			responder.respond(d, req, res, address, port, transfer);
			return;
		}
		this.#exchanges.park(result as Promise<void>, d, address, port, transfer);
	}

	#wellKnown(resources: readonly Resource[]): void {
		const v = this.#core.view;
		const res = this.#core.response;
		const query: string[] = [];
		for (let i = v.find(OPT_URI_QUERY); i >= 0; i = v.find(OPT_URI_QUERY, i + 1)) query.push(v.string(i));
		res.code = CODE_CONTENT;
		res.contentFormat = FORMAT_LINK_FORMAT;
		res.payload = linkFormat(resources, query);
		// RFC 6690 §4.1: a filtered query that matches nothing SHOULD get 4.04... for multicast;
		// for unicast an empty 2.05 is returned (the common behaviour, also libcoap's).
	}
}

/**
 * RFC 7252 §5.10.8.1: If-Match holds when one of its values equals the current ETag, or is
 * empty and a current representation exists; §5.10.8.2: If-None-Match holds when there is no
 * current representation. `etag` is the current ETag, null when there is no representation,
 * undefined when the resource does not say (then a representation exists if the resource can
 * be read, `readable`, and no ETag value can match: only an empty If-Match can hold).
 */
function preconditionsHold(v: MessageView, etag: Uint8Array | null | undefined, readable: boolean): boolean {
	const exists = etag === undefined ? readable : etag !== null;
	if (v.find(OPT_IF_NONE_MATCH) >= 0 && exists) return false;
	let i = v.find(OPT_IF_MATCH);
	if (i < 0) return true;
	if (!exists) return false;
	for (; i >= 0; i = v.find(OPT_IF_MATCH, i + 1)) {
		const len = v.optLength[i]!;
		if (len === 0) return true;
		if (etag === undefined || etag === null) continue;
		if (len !== etag.length) continue;
		const o = v.optOffset[i]!;
		let same = true;
		for (let k = 0; k < len; k++) if (v.bytes[o + k] !== etag[k]) same = false;
		if (same) return true;
	}
	return false;
}
