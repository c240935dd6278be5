// Observe over a bad network (deterministic: fixed seeds): 20% loss, 10% duplication, 10%
// reordering. A client Endpoint observes a server Endpoint's resource that changes 30 times;
// the values it is given are in order (never an older one after a newer one), and it ends
// with the latest value (lost NON notifications are made up for by CON ones and by the
// renewal at Max-Age). After cancel() everything goes quiet.
import * as assert from "../../support/assert.js";
import type { CoapError } from "../../../modules/coap/errors.js";
import { Router } from "../../../modules/coap/server/router.js";
import { CLIENT, SERVER, World, c, track } from "../endpoint/harness.js";
import { assertQuiet, pattern } from "../block/helpers.js";

const BAD = { loss: 0.2, duplicate: 0.1, reorder: 0.1, reorderDelayMs: 30, jitterMs: 5 };

function valueRouter(size = 0): { router: Router; set(v: number): void } {
	const router = new Router();
	let value = 0;
	const res = router.add("/value", {
		obs: true,
		get(_req, r) {
			// `size` > 0: a large representation (Block2 notifications) that starts with the value.
			if (size > 0) {
				const body = pattern(size, 1000 + value);
				const head = String(value).padStart(8, "0");
				for (let i = 0; i < 8; i++) body[i] = head.charCodeAt(i);
				r.send(c("2.05"), body);
			} else r.send(c("2.05"), String(value));
			r.maxAge = 10;
		},
	});
	return {
		router,
		set(v: number) {
			value = v;
			res.changed();
		},
	};
}

describe("observe: an observer under 20% loss, duplication and reordering (fixed seeds)", () => {
	for (const seed of [1, 2, 3, 4]) {
		it(`seed ${seed}: 30 changes, 1.5 s apart: values delivered in order, the last one is the latest; quiet after cancel()`, async () => {
			const w = new World({ seed, ...BAD });
			const src = valueRouter();
			const server = w.endpoint(SERVER, { router: src.router, tuning: { observeConEvery: 5 } });
			const client = w.endpoint(CLIENT, { port: 0 });
			const got: number[] = [];
			let ended: CoapError | null | undefined;
			const obs = client.observe({ address: SERVER, path: "/value" }, (r) => got.push(Number(r.text())), (e) => (ended = e));
			await w.net.runFor(3000);
			for (let v = 1; v <= 30; v++) {
				src.set(v);
				await w.net.runFor(1500);
			}
			// Max-Age 10 s: a lost last notification is made up for by the renewal.
			await w.net.runFor(30000);
			assert.equal(ended, undefined, "the observation is still on: " + String(ended));
			assert.ok(obs.active);
			assert.ok(got.length >= 10, "most values arrived: " + got.length);
			for (let i = 1; i < got.length; i++) assert.ok(got[i]! >= got[i - 1]!, "in order: " + JSON.stringify(got));
			assert.equal(got[got.length - 1], 30, "ends with the latest value: " + JSON.stringify(got));
			assert.ok(w.net.stats.droppedLoss > 5);
			const done = track(w.net, obs.cancel());
			await w.net.runUntilIdle();
			assert.ok(done.settled);
			assert.equal(obs.active, false);
			assertQuiet([client], assert.ok);
			// The server forgets the observer on the deregistration, or (if that was lost) on
			// the Reset its next notification gets, or when a CON one times out.
			src.set(31);
			await w.net.runUntilIdle();
			src.set(32);
			await w.net.runUntilIdle();
			assert.equal(server.observersInUse, 0);
			assertQuiet([server], assert.ok);
			w.close();
		});
	}

	it("seed 5: a 3000-byte observed representation (Block2 notifications) under loss: the last delivered body is the latest, whole", async () => {
		const w = new World({ seed: 5, ...BAD });
		const src = valueRouter(3000);
		const server = w.endpoint(SERVER, { router: src.router, tuning: { observeConEvery: 3 } });
		const client = w.endpoint(CLIENT, { port: 0 });
		let last: Uint8Array | null = null;
		const seen: number[] = [];
		const obs = client.observe({ address: SERVER, path: "/value" }, (r) => {
			last = r.payload;
			seen.push(Number(String.fromCharCode(...r.payload.subarray(0, 8))));
		});
		await w.net.runFor(5000);
		for (let v = 1; v <= 10; v++) {
			src.set(v);
			await w.net.runFor(4000);
		}
		await w.net.runFor(30000);
		assert.ok(last !== null);
		const want = pattern(3000, 1010);
		for (let i = 0; i < 8; i++) want[i] = "00000010".charCodeAt(i);
		assert.equal(seen[seen.length - 1], 10, "last value: " + JSON.stringify(seen));
		let diff = -1;
		const body = last as Uint8Array;
		for (let i = 0; i < want.length; i++) if (body[i] !== want[i]) { diff = i; break; }
		assert.equal(body.length, 3000);
		assert.equal(diff, -1, "the whole body of the latest value");
		for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, "in order: " + JSON.stringify(seen));
		const done = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.ok(done.settled);
		assertQuiet([client], assert.ok);
		assert.equal(server.observersInUse, 0, "deregistered");
		w.close();
	});
});
