// The OSCORE interop test specification (test-spec5.md) end to end on the virtual network:
// xscoap's plugtest client (modules/plugtest/client.ts) against xscoap's plugtest server
// (modules/plugtest/server.ts), every test 0..17 (16 against an OSCORE-unaware server, as the
// specification says), series of runs with the sequence numbers kept in a store (never "Replay
// detected" from a reused number), a server restart (Appendix B.1.2 recovery with Echo), and
// the checks failing where they must (test 16 against an OSCORE-aware server, 17 against a
// server that serves the resource unprotected).
import * as assert from "../../support/assert.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { PLUGTEST_NUMBERS, WireLog, runPlugtest } from "../../../modules/plugtest/client.js";
import { plugtestContext } from "../../../modules/plugtest/contexts.js";
import { plugtestRouter } from "../../../modules/plugtest/server.js";
import { Router } from "../../../modules/coap/server/router.js";
import { CLIENT, COAP, SERVER, World, track } from "../endpoint/harness.js";
import { MemoryStore } from "../oscore/fixtures.js";

interface Run {
	ok: boolean;
	lines: string[];
}

/** A plugtest server on SERVER:5683 (B and D, kept in `store`), or an OSCORE-unaware one. */
function server(w: World, store: MemoryStore, unaware = false): Endpoint {
	const router = plugtestRouter({ clock: w.net.clock, unaware });
	if (unaware) return w.endpoint(SERVER, { router, limits: { oscoreContexts: 0 } });
	return w.endpoint(SERVER, { router, oscore: { contexts: [plugtestContext("b", nobleCrypto, store), plugtestContext("d", nobleCrypto, store)] } });
}

/** Runs test `n` with a client endpoint whose contexts A and C are kept in `store`. */
async function client(w: World, store: MemoryStore, n: number): Promise<Run> {
	const wire = new WireLog();
	const a = plugtestContext("a", nobleCrypto, store);
	const c = plugtestContext("c", nobleCrypto, store);
	const ep = w.endpoint(CLIENT, { port: 0, trace: wire.trace });
	const lines: string[] = [];
	const result = track(w.net, runPlugtest({ endpoint: ep, address: SERVER, port: COAP, a, c, crypto: nobleCrypto, store, wire, clock: w.net.clock, print: (l) => lines.push(l), timeoutMs: 10000 }, n));
	while (!result.settled) await w.net.runFor(1000);
	ep.close();
	return { ok: result.value === true, lines };
}

describe("OSCORE interop tests (test-spec5) on the virtual network", () => {
	it("every test passes against xscoap's plugtest server, 16 against an OSCORE-unaware one; the client prints its checks", async () => {
		const w = new World();
		const serverStore = new MemoryStore();
		const clientStore = new MemoryStore();
		const aware = server(w, serverStore);
		const failed: string[] = [];
		let checks = 0;
		for (const n of PLUGTEST_NUMBERS) {
			if (n === 16) continue;
			const r = await client(w, clientStore, n);
			checks += r.lines.filter((l) => /^ {2}ok {4}/.test(l)).length;
			if (!r.ok) failed.push(r.lines.join("\n"));
			assert.match(r.lines[0]!, new RegExp("^test " + n + ": "));
			assert.match(r.lines[r.lines.length - 1]!, new RegExp("^test " + n + ": (passed|FAILED) \\("));
		}
		assert.deepEqual(failed, []);
		assert.ok(checks > 80, "checks made: " + checks);
		aware.close();
		server(w, new MemoryStore(), true);
		const r16 = await client(w, clientStore, 16);
		assert.ok(r16.ok, r16.lines.join("\n"));
		assert.ok(r16.lines.some((l) => /ok .* its code is 4\.02 Bad Option or 4\.05/.test(l)), r16.lines.join("\n"));
		w.close();
	});

	it("three series of runs with the same store never reuse a sequence number (no 'Replay detected'); after a server restart (replay window lost) the client recovers with Echo (B.1.2)", async () => {
		const w = new World();
		const serverStore = new MemoryStore();
		const clientStore = new MemoryStore();
		let s = server(w, serverStore);
		for (let series = 0; series < 3; series++) {
			for (const n of [1, 2, 3, 8, 15]) {
				const r = await client(w, clientStore, n);
				assert.ok(r.ok, "series " + series + ", test " + n + ":\n" + r.lines.join("\n"));
			}
			if (series === 1) {
				// The server reboots: its contexts come back from the store with unknown replay windows.
				s.close();
				s = server(w, serverStore);
			}
		}
		const stats = s.stats;
		assert.ok(stats.received > 0);
		w.close();
	});

	it("the checks fail where they must: test 16 against an OSCORE-aware server, test 17 against a server that serves /oscore/hello/1 unprotected, test 1 against a server with other keys", async () => {
		const w = new World();
		const store = new MemoryStore();
		const aware = server(w, new MemoryStore());
		const r16 = await client(w, store, 16);
		assert.equal(r16.ok, false);
		assert.ok(r16.lines.some((l) => /FAILED .*an unprotected error/.test(l)), r16.lines.join("\n"));
		aware.close();
		const open = new Router();
		open.add("/oscore/hello/1", { get: (req, res) => res.send(0x45, "Hello World!", 0) });
		const plain = w.endpoint(SERVER, { router: open });
		const r17 = await client(w, store, 17);
		assert.equal(r17.ok, false);
		assert.ok(r17.lines.some((l) => /FAILED .*4\.01 Unauthorized.*got 2\.05/.test(l)), r17.lines.join("\n"));
		const r1 = await client(w, store, 1);
		assert.equal(r1.ok, false, "no context on that server: 4.01");
		plain.close();
		w.close();
	});
});
