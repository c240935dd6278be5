/**
 * The demo resources of `xscoap serve` (and a starting point for firmware): /hello, /time,
 * /echo, /counter. Portable: state lives in the router built by `demoRouter()`, never at
 * module level. /.well-known/core comes from the router itself.
 * Leaves out (issue 3): /large (Block2) and Observe on /time and /counter.
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
	router.add("/counter", {
		rt: "xscoap.counter",
		ct: FORMAT_TEXT,
		title: "GET the value, POST to increment",
		get(_req, res) {
			res.send(CODE_CONTENT, String(counter), FORMAT_TEXT);
		},
		post(_req, res) {
			counter++;
			res.send(CODE_CHANGED, String(counter), FORMAT_TEXT);
		},
	});
	return router;
}
