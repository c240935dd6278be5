/**
 * The demo resources of `xscoap serve` (and a starting point for firmware): /hello, /time,
 * /echo, /counter, /large. Portable: state lives in the router built by `demoRouter()`, never at
 * module level. /.well-known/core comes from the router itself.
 * /large is 5,500 bytes of text for block-wise transfers (RFC 7959).
 */
import { CODE_CHANGED, CODE_CONTENT, FORMAT_TEXT } from "../coap/constants.js";
import { Router } from "../coap/server/router.js";

export interface DemoOptions {
	/** Wall-clock milliseconds since the epoch (Date.now on hosts that have a clock). */
	now?: () => number;
	/** Text of /hello. */
	greeting?: string;
}

/** Builds a Router with the demo resources; each call has its own counter. */
export function demoRouter(options: DemoOptions = {}): Router {
	const now = options.now ?? (() => Date.now());
	const greeting = options.greeting ?? "Hello, world!";
	const router = new Router();
	let counter = 0;
	router.add("/hello", {
		rt: "xscoap.hello",
		ct: FORMAT_TEXT,
		title: "Greeting",
		get(_req, res) {
			res.send(CODE_CONTENT, greeting, FORMAT_TEXT);
		},
	});
	router.add("/time", {
		rt: "xscoap.time",
		ct: FORMAT_TEXT,
		title: "Current time (UTC, ISO 8601)",
		obs: true, // the host calls router.changed("/time") every second
		get(_req, res) {
			res.send(CODE_CONTENT, new Date(now()).toISOString(), FORMAT_TEXT);
			res.maxAge = 1;
		},
	});
	const echo = (req: { payload: Uint8Array; contentFormat: number }, res: { send(code: number, payload?: Uint8Array | string | null, cf?: number): void }) => {
		// RFC 7252 §5.8.2/§5.8.3: 2.04 Changed with the representation as payload.
		res.send(CODE_CHANGED, req.payload, req.contentFormat >= 0 ? req.contentFormat : undefined);
	};
	router.add("/echo", {
		rt: "xscoap.echo",
		title: "Echoes POST and PUT payloads",
		post: echo,
		put: echo,
	});
	const counterResource = router.add("/counter", {
		rt: "xscoap.counter",
		ct: FORMAT_TEXT,
		title: "GET the value, POST to increment",
		obs: true, // every change notifies its observers
		get(_req, res) {
			res.send(CODE_CONTENT, String(counter), FORMAT_TEXT);
		},
		post(_req, res) {
			counter++;
			res.send(CODE_CHANGED, String(counter), FORMAT_TEXT);
			counterResource.changed();
		},
	});
	const large = largeText();
	router.add("/large", {
		rt: "xscoap.large",
		ct: FORMAT_TEXT,
		sz: large.length,
		title: "A large text (RFC 7959 Block2 test)",
		get(_req, res) {
			res.send(CODE_CONTENT, large, FORMAT_TEXT);
		},
	});
	return router;
}

/** The body of /large: 100 numbered lines, 5,500 bytes of ASCII text. */
export function largeText(): string {
	let s = "";
	for (let i = 1; i <= 100; i++) s += "line " + String(i).padStart(3, "0") + ": the quick brown fox jumps over the lazy dog.\n";
	return s;
}
