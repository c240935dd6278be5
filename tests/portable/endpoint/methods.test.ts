// Endpoint tests: FETCH, PATCH and iPATCH (RFC 8132), conditional requests (RFC 7252
// §5.10.8 / RFC 8132 §3.2: 4.12), a handler's 4.09 and 4.22, and Observe with FETCH.
import * as assert from "../../support/assert.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { Router } from "../../../modules/coap/server/router.js";
import { utf8Bytes } from "../../../modules/coap/wire/utf8.js";
import { CLIENT, SERVER, World, c, track, valueOf } from "./harness.js";

const FORMAT_JSON = 50;
const FORMAT_MERGE_PATCH = 52;

/** A small key-value document served with FETCH (select keys), PATCH (merge), iPATCH (set one key). */
function docRouter(): { router: Router; doc: Map<string, string> } {
	const doc = new Map<string, string>([["a", "1"], ["b", "2"]]);
	let version = 1;
	const etag = () => Uint8Array.of(version);
	const router = new Router();
	const r = router.add("/doc", {
		obs: true,
		etag,
		get: (_q, res) => { res.send(c("2.05"), JSON.stringify(Object.fromEntries(doc)), FORMAT_JSON); res.etag = etag(); },
		fetch: (q, res) => {
			const keys = q.text().split(",");
			const out: Record<string, string> = {};
			for (const k of keys) if (doc.has(k)) out[k] = doc.get(k)!;
			res.send(c("2.05"), JSON.stringify(out), FORMAT_JSON);
		},
		patch: (q, res) => {
			if (q.contentFormat !== FORMAT_MERGE_PATCH) return res.send(c("4.15"));
			let patch: unknown;
			try { patch = JSON.parse(q.text()); } catch { return res.send(c("4.00"), "not JSON"); }
			if (typeof patch !== "object" || patch === null) return res.send(c("4.22"), "a merge patch is an object"); // RFC 8132 §3.2 / §5.2
			for (const [k, val] of Object.entries(patch)) {
				if (typeof val !== "string") return res.send(c("4.09"), "values are strings"); // conflict with the resource's state
				doc.set(k, val);
			}
			version++;
			res.code = c("2.04");
			r.changed();
		},
		ipatch: (q, res) => {
			const [k, val] = q.text().split("=");
			doc.set(k!, val ?? "");
			version++;
			res.code = c("2.04");
			r.changed();
		},
	});
	return { router, doc };
}

describe("endpoint: FETCH, PATCH, iPATCH (RFC 8132) and preconditions", () => {
	it("FETCH selects with a body; PATCH merges; iPATCH sets; a handler's 4.22 and 4.09 reach the client", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: docRouter().router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const ask = async (o: Parameters<typeof client.request>[0]): Promise<ClientResponse> => {
			const t = track(w.net, client.request({ address: SERVER, path: "/doc", ...o }));
			await w.net.runUntilIdle();
			return valueOf(t);
		};
		assert.equal((await ask({ method: "FETCH", payload: "b" })).text(), '{"b":"2"}');
		assert.equal((await ask({ method: "PATCH", payload: '{"c":"3"}', contentFormat: FORMAT_MERGE_PATCH })).codeText, "2.04");
		assert.equal((await ask({ method: "iPATCH", payload: "a=9" })).codeText, "2.04");
		assert.equal((await ask({})).text(), '{"a":"9","b":"2","c":"3"}');
		assert.equal((await ask({ method: "PATCH", payload: "[1]", contentFormat: FORMAT_MERGE_PATCH })).codeText, "4.09");
		assert.equal((await ask({ method: "PATCH", payload: "5", contentFormat: FORMAT_MERGE_PATCH })).codeText, "4.22");
		assert.equal((await ask({ method: "PATCH", payload: "{}", contentFormat: 0 })).codeText, "4.15");
		w.close();
	});

	it("If-Match with a stale ETag → 4.12 and the handler does not run; the current one passes; If-None-Match on an existing resource → 4.12", async () => {
		const w = new World();
		const { router, doc } = docRouter();
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const ask = async (o: Parameters<typeof client.request>[0]): Promise<ClientResponse> => {
			const t = track(w.net, client.request({ address: SERVER, path: "/doc", ...o }));
			await w.net.runUntilIdle();
			return valueOf(t);
		};
		const first = await ask({});
		const tag = first.etag!;
		assert.equal((await ask({ method: "iPATCH", payload: "a=2", options: [[1, tag]] })).codeText, "2.04", "If-Match with the current ETag");
		assert.equal((await ask({ method: "iPATCH", payload: "a=3", options: [[1, tag]] })).codeText, "4.12", "the ETag changed");
		assert.equal(doc.get("a"), "2", "the failed request changed nothing");
		assert.equal((await ask({ method: "iPATCH", payload: "a=4", options: [[1, new Uint8Array(0)]] })).codeText, "2.04", "empty If-Match: exists");
		assert.equal((await ask({ method: "iPATCH", payload: "a=5", options: [[5, new Uint8Array(0)]] })).codeText, "4.12", "If-None-Match on an existing resource");
		assert.equal(doc.get("a"), "4");
		w.close();
	});

	it("resources that report no ETag: If-Match with a value → 4.12 and nothing is done; If-None-Match on a readable resource → 4.12; an empty If-Match holds (issue 8, defect 6, RFC 7252 §5.10.8)", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: demoRouter({ now: () => 0 }) });
		const client = w.endpoint(CLIENT, { port: 0 });
		const ask = async (o: Parameters<typeof client.request>[0]): Promise<ClientResponse> => {
			const t = track(w.net, client.request({ address: SERVER, ...o }));
			await w.net.runUntilIdle();
			return valueOf(t);
		};
		const tag = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
		let r = await ask({ method: "PUT", path: "/echo", payload: "x", options: [[1, tag]] });
		assert.equal(r.codeText, "4.12", "no current ETag known: If-Match deadbeef cannot hold");
		assert.equal(r.text(), "", "and /echo did not run (it would echo the payload)");
		const before = (await ask({ path: "/counter" })).text();
		r = await ask({ method: "POST", path: "/counter", options: [[5, new Uint8Array(0)]] });
		assert.equal(r.codeText, "4.12", "If-None-Match: /counter exists");
		assert.equal((await ask({ path: "/counter" })).text(), before, "not incremented");
		r = await ask({ method: "POST", path: "/counter", options: [[1, new Uint8Array(0)]] });
		assert.equal(r.codeText, "2.04", "an empty If-Match: a representation exists");
		assert.equal(Number((await ask({ path: "/counter" })).text()), Number(before) + 1);
		w.close();
	});

	it("Observe with FETCH: the selected part is notified when the document changes", async () => {
		const w = new World();
		w.endpoint(SERVER, { router: docRouter().router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const seen: string[] = [];
		// An observation renews itself every Max-Age: the network is never idle, so run for a while.
		const obs = client.observe({ address: SERVER, path: "/doc", method: "FETCH", payload: utf8Bytes("a") }, (n) => seen.push(n.text()));
		await w.net.runFor(1000);
		const t = track(w.net, client.request({ address: SERVER, path: "/doc", method: "iPATCH", payload: "a=7" }));
		await w.net.runFor(1000);
		assert.equal(valueOf(t).codeText, "2.04");
		assert.deepEqual(seen, ['{"a":"1"}', '{"a":"7"}']);
		const done = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(done.settled);
		w.close();
	});
});

describe("endpoint: handler errors", () => {
	it("what a handler throws or rejects with reaches onHandlerError; the client gets 5.00 without internals", async () => {
		const w = new World();
		const errors: unknown[] = [];
		const router = new Router();
		router.add("/boom", {
			get: () => { throw new Error("secret detail"); },
			post: async () => { throw new Error("async detail"); },
		});
		w.endpoint(SERVER, { router, onHandlerError: (e) => errors.push(e) });
		const client = w.endpoint(CLIENT, { port: 0 });
		const a = track(w.net, client.request({ address: SERVER, path: "/boom" }));
		const b = track(w.net, client.request({ address: SERVER, path: "/boom", method: "POST" }));
		await w.net.runUntilIdle();
		for (const t of [a, b]) {
			assert.equal(valueOf(t).codeText, "5.00");
			assert.equal(valueOf(t).text(), "internal server error");
		}
		assert.deepEqual(errors.map((e) => (e as Error).message).sort(), ["async detail", "secret detail"]);
		w.close();
	});
});
