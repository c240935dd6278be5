// A resource handler's mistakes with the response builder (issue 8, defect 1): a bad code, a
// payload that is not bytes or text, bad option values, too many options, send() twice, in
// sync and async handlers and in notification handlers. Each must end as 5.00 for the client
// and one onHandlerError call naming the mistake, never as an exception out of the endpoint
// (before the fix, `res.send(404, "x")` threw a RangeError from the message writer outside
// the handler's try and killed the process). Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import type { ResponseBuilder } from "../../../modules/coap/server/response.js";
import { Router } from "../../../modules/coap/server/router.js";
import { CLIENT, COAP, SERVER, World, c, track, valueOf } from "./harness.js";

type Misuse = (res: ResponseBuilder) => void;

const MISUSES: readonly (readonly [string, Misuse, RegExp])[] = [
	["send(404, ...): a code above 255", (res) => res.send(404, "x"), /response code/],
	["code = 0x21 (1.01: not a response class)", (res) => { res.code = 0x21; }, /response code/],
	["code = 1.5", (res) => { res.code = 1.5; }, /response code/],
	["payload = 42", (res) => { res.payload = 42 as unknown as string; }, /payload/],
	["payload = {}", (res) => { res.payload = {} as unknown as string; }, /payload/],
	["contentFormat = 70000", (res) => { res.contentFormat = 70000; }, /contentFormat/],
	["maxAge = -5", (res) => { res.maxAge = -5; }, /maxAge/],
	["etag of 9 bytes", (res) => { res.etag = new Uint8Array(9); }, /etag/],
	["etag = 'abc'", (res) => { res.etag = "abc" as unknown as Uint8Array; }, /etag/],
	["locationPath = 'a/b'", (res) => { res.locationPath = "a/b" as unknown as string[]; }, /locationPath/],
	["option(0, 1)", (res) => { res.option(0, 1); }, /option number/],
	["option(2048, -1)", (res) => { res.option(2048, -1); }, /uint value/],
	["option(2048, {})", (res) => { res.option(2048, {} as unknown as number); }, /value must be/],
	["option(14, 2 ** 40): Max-Age longer than 4 bytes", (res) => { res.option(14, 2 ** 40); }, /uint value/],
	["option(4, 9 bytes): an ETag longer than §5.10 allows", (res) => { res.option(4, new Uint8Array(9)); }, /length/],
	["13 extra options", (res) => { for (let i = 0; i < 13; i++) res.option(2048 + 2 * i, i); }, /extra response options/],
	["send() twice", (res) => { res.send(c("2.05"), "a"); res.send(c("2.05"), "b"); }, /twice/],
];

function setup(misuse: Misuse, async: boolean): { w: World; errors: unknown[]; router: Router } {
	const w = new World();
	const errors: unknown[] = [];
	const router = new Router();
	router.add("/bad", {
		get: async
			? async (_q, res) => {
				await Promise.resolve();
				misuse(res);
			}
			: (_q, res) => misuse(res),
	});
	router.add("/ok", { get: (_q, res) => res.send(c("2.05"), "fine") });
	w.endpoint(SERVER, { router, onHandlerError: (e) => errors.push(e) });
	return { w, errors, router };
}

describe("endpoint: a handler's misuse of the response builder (issue 8, defect 1)", () => {
	for (const [what, misuse, message] of MISUSES) {
		for (const async of [false, true]) {
			it(`${async ? "async" : "sync"} handler, ${what} → 5.00, onHandlerError names it, the server keeps serving`, async () => {
				const { w, errors } = setup(misuse, async);
				const client = w.endpoint(CLIENT, { port: 0 });
				const r = track(w.net, client.request({ address: SERVER, port: COAP, path: "/bad" }));
				await w.net.runUntilIdle();
				const res = valueOf(r);
				assert.equal(res.codeText, "5.00");
				assert.equal(res.text(), "internal server error", "no internals in the diagnostic");
				assert.equal(errors.length, 1, "reported once");
				assert.match(String((errors[0] as Error).message), message);
				const ok = track(w.net, client.request({ address: SERVER, port: COAP, path: "/ok" }));
				await w.net.runUntilIdle();
				assert.equal(valueOf(ok).text(), "fine");
				w.close();
			});
		}
	}

	it("an ArrayBuffer payload is sent as its bytes (Moddable APIs hand out ArrayBuffers); a DataView likewise", async () => {
		const w = new World();
		const router = new Router();
		router.add("/ab", { get: (_q, res) => res.send(c("2.05"), Uint8Array.of(1, 2, 3).buffer as unknown as Uint8Array) });
		router.add("/dv", {
			get(_q, res) {
				res.payload = new DataView(Uint8Array.of(9, 8, 7, 6).buffer, 1, 2) as unknown as Uint8Array;
			},
		});
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const a = track(w.net, client.request({ address: SERVER, path: "/ab" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/dv" }));
		await w.net.runUntilIdle();
		assert.deepEqual(Array.from(valueOf(a).payload), [1, 2, 3]);
		assert.deepEqual(Array.from(valueOf(b).payload), [8, 7]);
		w.close();
	});

	it("a notification handler's misuse ends the observation with 5.00 and is reported; no exception escapes changed()", async () => {
		const w = new World();
		const errors: unknown[] = [];
		let broken = false;
		const router = new Router();
		const res = router.add("/obs", {
			obs: true,
			get(_q, r) {
				if (broken) r.send(999, "x");
				else r.send(c("2.05"), "fine");
			},
		});
		const server = w.endpoint(SERVER, { router, onHandlerError: (e) => errors.push(e) });
		const client = w.endpoint(CLIENT, { port: 0 });
		const seen: string[] = [];
		let ended: unknown = "not yet";
		client.observe({ address: SERVER, path: "/obs" }, (n) => seen.push(n.codeText + " " + n.text()), (e) => { ended = e; });
		await w.net.runFor(100);
		broken = true;
		res.changed();
		await w.net.runUntilIdle();
		assert.deepEqual(seen, ["2.05 fine", "5.00 internal server error"]);
		assert.equal(ended, null, "a final error notification ends the observation normally");
		assert.equal(errors.length, 1);
		assert.match(String((errors[0] as Error).message), /response code/);
		assert.equal(server.observersInUse, 0);
		w.close();
	});
});
