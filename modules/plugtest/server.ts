/**
 * The server side of the OSCORE interop test specification (EricssonResearch/OSCOAP
 * test-spec5.md, "Resources"): the resources an OSCORE-aware server serves, all but
 * /oscore/hello/coap only to requests protected with OSCORE (RFC 8613; unprotected ones get
 * 4.01, test 17), and the one an OSCORE-unaware server serves (test 16). Each request is
 * logged as one line (what arrived, decrypted, and with which context), as the specification's
 * "Server displays the received packet" steps ask.
 *
 *   /oscore/hello/coap  GET (and PUT, as the specification recommends for test 16): "Hello World!", text/plain
 *   /oscore/hello/1     GET: "Hello World!", text/plain
 *   /oscore/hello/2     GET: the same with ETag 0x2b
 *   /oscore/hello/3     GET: the same with Max-Age 5
 *   /oscore/hello/6     POST: 2.04 with the posted value, text/plain
 *   /oscore/hello/7     PUT, ETag 0x7b: 2.04 (If-Match / If-None-Match judged by the stack: 4.12)
 *   /oscore/observe1    GET, observable: "one", a second later "two", a second later 5.00 "Terminate Observe"
 *   /oscore/observe2    GET, observable: "one", a second later "two"
 *   /oscore/test        DELETE: 2.02
 *   /oscore/block/inner, /oscore/block/outer  GET: a 1,035-byte text (as aiocoap's plugtest
 *                       server): block-wise inside OSCORE (xscoap has Inner Block options only)
 *
 * Portable: timers come from the Clock port; all state lives in the router's closures.
 */
import { CODE_CHANGED, CODE_CONTENT, CODE_DELETED, CODE_INTERNAL_SERVER_ERROR, FORMAT_TEXT } from "../coap/constants.js";
import type { Clock } from "../coap/host.js";
import { OPT_OBSERVE, OPT_URI_PATH, optionName } from "../coap/options.js";
import type { CoapRequest } from "../coap/server/request.js";
import { Router, type Resource } from "../coap/server/router.js";
import { describeOptionValue } from "../coap/wire/describe.js";

export const HELLO = "Hello World!";
/** aiocoap's plugtest block resource: "This is a large resource\n" and 101 times "0123456789". */
export function largeText(): string {
	let s = "This is a large resource\n";
	for (let i = 0; i < 101; i++) s += "0123456789";
	return s;
}

export interface PlugtestServerOptions {
	/** Where the notification timers run (the endpoint's clock). */
	readonly clock: Clock;
	/** One line per request (default: none). */
	readonly log?: (line: string) => void;
	/** Milliseconds between the notifications of /oscore/observe1 and 2 (default 1000). */
	readonly notifyEveryMs?: number;
	/** The OSCORE-unaware server of test 16: only /oscore/hello/coap. */
	readonly unaware?: boolean;
}

/** What a request looked like once decrypted: "GET /oscore/hello/1 [Accept:0] protected with B". */
export function describeRequest(req: CoapRequest): string {
	const v = req.view;
	const extra: string[] = [];
	for (let i = 0; i < v.optionCount; i++) {
		const n = v.optNumber[i]!;
		if (n === OPT_URI_PATH) continue;
		const value = describeOptionValue(n, v.bytes, v.optOffset[i]!, v.optLength[i]!);
		extra.push(optionName(n) + (value === "" ? "" : ": " + value));
	}
	const ctx = req.oscore;
	const how = ctx === null ? "unprotected" : "protected with " + (ctx.label === "" ? "a context" : ctx.label) + " (kid 0x" + hexOf(ctx.recipientId, 0, ctx.recipientId.length) + ")";
	return req.methodName + " " + req.pathText + (extra.length > 0 ? " [" + extra.join(", ") + "]" : "") + (req.payload.length > 0 ? " payload 0x" + hexOf(req.payload, 0, req.payload.length) : "") + ", " + how;
}

function hexOf(b: Uint8Array, offset: number, length: number): string {
	let s = "";
	for (let i = 0; i < length; i++) s += (b[offset + i]! < 16 ? "0" : "") + b[offset + i]!.toString(16);
	return s;
}

/** The plugtest resources (see the file header). */
export function plugtestRouter(options: PlugtestServerOptions): Router {
	const router = new Router();
	const log = options.log ?? ((): void => {});
	const every = options.notifyEveryMs ?? 1000;
	const seen = (req: CoapRequest): void => log(describeRequest(req));
	router.add("/oscore/hello/coap", {
		ct: FORMAT_TEXT,
		get(req, res) {
			seen(req);
			res.send(CODE_CONTENT, HELLO, FORMAT_TEXT);
		},
		put(req, res) {
			seen(req);
			res.code = CODE_CHANGED;
		},
	});
	if (options.unaware === true) return router;
	const hello = (req: CoapRequest, res: { send(code: number, payload: string, cf: number): void }): void => {
		seen(req);
		res.send(CODE_CONTENT, HELLO, FORMAT_TEXT);
	};
	router.add("/oscore/hello/1", { requireOscore: true, ct: FORMAT_TEXT, get: hello });
	router.add("/oscore/hello/2", {
		requireOscore: true,
		ct: FORMAT_TEXT,
		get(req, res) {
			hello(req, res);
			res.etag = Uint8Array.of(0x2b);
		},
	});
	router.add("/oscore/hello/3", {
		requireOscore: true,
		ct: FORMAT_TEXT,
		get(req, res) {
			hello(req, res);
			res.maxAge = 5;
		},
	});
	router.add("/oscore/hello/6", {
		requireOscore: true,
		post(req, res) {
			seen(req);
			res.send(CODE_CHANGED, req.payload.slice(), FORMAT_TEXT);
		},
	});
	const etag7 = Uint8Array.of(0x7b);
	router.add("/oscore/hello/7", {
		requireOscore: true,
		// The stack judges If-Match / If-None-Match against this ETag (RFC 7252 §5.10.8): 4.12 for test 10.
		etag: () => etag7,
		put(req, res) {
			seen(req);
			res.code = CODE_CHANGED;
		},
	});
	router.add("/oscore/test", {
		requireOscore: true,
		delete(req, res) {
			seen(req);
			res.code = CODE_DELETED;
		},
	});
	observable(router, "/oscore/observe1", true, every, options.clock, seen);
	observable(router, "/oscore/observe2", false, every, options.clock, seen);
	const large = largeText();
	for (const path of ["/oscore/block/inner", "/oscore/block/outer"]) {
		router.add(path, {
			requireOscore: true,
			ct: FORMAT_TEXT,
			get(req, res) {
				seen(req);
				res.send(CODE_CONTENT, large, FORMAT_TEXT);
			},
		});
	}
	return router;
}

/**
 * /oscore/observe1 (`terminate`) and /oscore/observe2: a registration (Observe 0, no run in
 * progress) starts a run: "one" now, "two" after `every` ms, and for observe1 5.00 "Terminate
 * Observe" after as much again (an error notification ends the observation, RFC 7641 §4.2).
 * The handler also builds the notifications (run again on the stored registration).
 */
function observable(router: Router, path: string, terminate: boolean, every: number, clock: Clock, seen: (req: CoapRequest) => void): void {
	const run = { phase: 1, running: false, resource: null as Resource | null };
	const timer = clock.createTimer(function (this: typeof run) {
		this.phase++;
		const last = this.phase >= (terminate ? 3 : 2);
		if (!last) timer.schedule(clock.now() + every);
		this.resource?.changed(); // builds the notifications now, while the run still counts as going
		if (last) this.running = false;
	}, run);
	run.resource = router.add(path, {
		requireOscore: true,
		obs: true,
		ct: FORMAT_TEXT,
		get(req, res) {
			// A registration, or a notification being built (the stored registration): only a
			// registration while no run is going starts one.
			if (req.optionUint(OPT_OBSERVE, -1) === 0 && !run.running) {
				seen(req);
				run.phase = 1;
				run.running = true;
				timer.schedule(clock.now() + every);
			} else if (req.optionUint(OPT_OBSERVE, -1) === 1) seen(req);
			if (run.phase >= 3) res.send(CODE_INTERNAL_SERVER_ERROR, "Terminate Observe", FORMAT_TEXT);
			else res.send(CODE_CONTENT, run.phase === 1 ? "one" : "two", FORMAT_TEXT);
		},
	});
}
