// A request's handler runs once (issue 8, defects 2 and 8): later Block2 blocks of the
// response to a PUT, POST or bodiless FETCH never run the handler again, also when no response
// body could be kept (they get 4.08 then), and a repeated final Block1 block is answered as the
// first time even after the dedup table has forgotten the message. A FETCH that repeats its body
// in every block request (RFC 8132 §2.3.2) may be answered by running the handler again.
// Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { Router } from "../../../modules/coap/server/router.js";
import { ACK, CLIENT, PEER, PEER2, SERVER, World, c, decode, text, track, valueOf } from "../endpoint/harness.js";
import { OPT_BLOCK1, OPT_BLOCK2, OPT_URI_PATH, RawClient, block, block1Of, pattern } from "./helpers.js";

const PUT = 3;
const POST = 2;
const FETCH = 5;
const LONG = "r".repeat(300); // a response larger than one 64-byte block

/** A store whose PUT keeps the body and answers a long text; counts handler runs. */
function storeRouter(): { router: Router; state: { value: string; runs: number; fetches: number } } {
	const state = { value: "", runs: 0, fetches: 0 };
	const router = new Router();
	router.add("/store", {
		put(req, res) {
			state.runs++;
			state.value = req.text();
			res.send(c("2.04"), LONG + "|" + state.value);
		},
		post(req, res) {
			state.runs++;
			state.value = req.text();
			res.send(c("2.04"), "posted " + req.payload.length);
		},
		fetch(req, res) {
			state.fetches++;
			res.send(c("2.05"), LONG + "|" + req.text());
		},
	});
	router.add("/up", { put: (_q, res) => res.send(c("2.04")) });
	return { router, state };
}

describe("block: a handler runs once per request (issue 8, defects 2 and 8)", () => {
	it("PUT whose response goes block-wise while both transfer slots are held: later blocks get 4.08, the PUT is never run again without its body", async () => {
		const { router, state } = storeRouter();
		const w = new World();
		w.endpoint(SERVER, { router }); // ESP32 limits: 2 transfer slots
		// Another peer opens two Block1 uploads (first blocks only): both transfer slots are held.
		const other = new RawClient(w, w.peer(PEER));
		for (const tag of ["01", "02"]) {
			const m = await other.ask({ code: PUT, token: "aa" + tag, options: [[OPT_URI_PATH, "up"], [OPT_BLOCK1, block(0, true, 2)], [292, Uint8Array.of(Number(tag))]], payload: pattern(64, 1) });
			assert.equal(m.code, c("2.31"));
		}
		const client = w.endpoint(CLIENT, { port: 0 });
		const body = "twenty-six bytes of state.";
		const r = track(w.net, client.request({ address: SERVER, method: "PUT", path: "/store", payload: body, blockSize: 64 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(r).codeText, "4.08", "no kept body for block 1: Request Entity Incomplete");
		assert.equal(state.runs, 1, "the handler ran once");
		assert.equal(state.value, body, "and the stored value is the PUT's body");
		w.close();
	});

	it("with a free transfer slot the same PUT's response arrives whole, the handler having run once", async () => {
		const { router, state } = storeRouter();
		const w = new World();
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const r = track(w.net, client.request({ address: SERVER, method: "PUT", path: "/store", payload: "abc", blockSize: 64 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(r).text(), LONG + "|abc");
		assert.equal(state.runs, 1);
		w.close();
	});

	it("a later Block2 block of a PUT with nothing kept (raw request, no body) → 4.08, handler not run", async () => {
		const { router, state } = storeRouter();
		const w = new World();
		w.endpoint(SERVER, { router });
		const raw = new RawClient(w, w.peer(PEER));
		const m = await raw.ask({ code: PUT, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK2, block(1, false, 2)]] });
		assert.equal(m.code, c("4.08"));
		assert.equal(state.runs, 0);
		w.close();
	});

	it("FETCH: the client repeats the body in every block request (RFC 8132 §2.3.2) and the server answers each by running the handler; a block request without the body → 4.08", async () => {
		const { router, state } = storeRouter();
		const w = new World();
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const r = track(w.net, client.request({ address: SERVER, method: "FETCH", path: "/store", payload: "q=1", contentFormat: 0, blockSize: 64 }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(r).text(), LONG + "|q=1");
		const blocks = Math.ceil((LONG.length + 4) / 64);
		assert.equal(state.fetches, blocks, "stateless: one run per block, each with the body");
		for (const e of w.sentTo(CLIENT, SERVER)) assert.equal(text(decode(e.bytes)), "q=1", "every block request carries the FETCH body");
		const raw = new RawClient(w, w.peer(PEER));
		const m = await raw.ask({ code: FETCH, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK2, block(1, false, 2)]] });
		assert.equal(m.code, c("4.08"));
		assert.equal(state.fetches, blocks, "not run without its body");
		w.close();
	});

	for (const method of [PUT, POST]) {
		it(`${method === PUT ? "PUT" : "POST"}: the final Block1 block repeated after 8 other requests evicted it from dedup gets the same answer; the handler ran once`, async () => {
			const { router, state } = storeRouter();
			const w = new World();
			w.endpoint(SERVER, { router, limits: { dedupEntries: 8 } });
			const up = new RawClient(w, w.peer(PEER));
			const body = pattern(100, 3);
			const first = await up.ask({ code: method, token: "b10c0001", options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(0, true, 2)]], payload: body.subarray(0, 64) });
			assert.equal(first.code, c("2.31"));
			const finalSpec = { code: method, token: "b10c0002", mid: 0x7001, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(1, false, 2)]] as [number, number][], payload: body.subarray(64) };
			const done = await up.ask(finalSpec);
			assert.equal(done.code, c("2.04"));
			assert.equal(state.runs, 1);
			// Eight requests from another peer take every dedup entry.
			const other = new RawClient(w, w.peer(PEER2));
			for (let i = 0; i < 8; i++) await other.ask({ code: 1, options: [[OPT_URI_PATH, "up"]] });
			// The same CON again (same MID, within EXCHANGE_LIFETIME): the same answer.
			const again = await up.ask(finalSpec);
			assert.equal(again.type, ACK);
			assert.equal(again.code, done.code);
			assert.equal(again.token, "b10c0002");
			assert.deepEqual(block1Of(again), block1Of(done));
			assert.equal(text(again), text(done));
			// A new exchange repeating the block (a client that gave up on the first): answered too, with its token.
			const retry = await up.ask({ ...finalSpec, mid: 0x7002, token: "b10c0003" });
			assert.equal(retry.code, done.code);
			assert.equal(retry.token, "b10c0003");
			assert.equal(text(retry), text(done));
			assert.equal(state.runs, 1, "the handler never ran again");
			w.close();
		});
	}

	it("POST whose reply fell out of a small dedup reply cache: a duplicate of the final block gets the recorded reply, not 5.03", async () => {
		const { router, state } = storeRouter();
		const w = new World();
		w.endpoint(SERVER, { router, limits: { dedupCacheBytes: 0 } });
		const up = new RawClient(w, w.peer(PEER));
		const body = pattern(80, 4);
		assert.equal((await up.ask({ code: POST, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(0, true, 2)]], payload: body.subarray(0, 64) })).code, c("2.31"));
		const spec = { code: POST, mid: 0x7101, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(1, false, 2)]] as [number, number][], payload: body.subarray(64) };
		const done = await up.ask(spec);
		const dup = await up.ask(spec);
		assert.equal(dup.code, c("2.04"));
		assert.equal(text(dup), "posted 80");
		assert.equal(text(done), "posted 80");
		assert.equal(state.runs, 1);
		w.close();
	});

	it("a repeat of the final block that does not match the finished upload (other length) is still 4.08", async () => {
		const { router, state } = storeRouter();
		const w = new World();
		w.endpoint(SERVER, { router });
		const up = new RawClient(w, w.peer(PEER));
		const body = pattern(100, 5);
		await up.ask({ code: PUT, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(0, true, 2)]], payload: body.subarray(0, 64) });
		assert.equal((await up.ask({ code: PUT, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(1, false, 2)]], payload: body.subarray(64) })).code, c("2.04"));
		const odd = await up.ask({ code: PUT, options: [[OPT_URI_PATH, "store"], [OPT_BLOCK1, block(1, false, 2)]], payload: body.subarray(64, 70) });
		assert.equal(odd.code, c("4.08"));
		assert.equal(state.runs, 1);
		w.close();
	});
});
