// Endpoint tests: multicast (RFC 7252 §8) over the virtual network's groups.
import * as assert from "../../support/assert.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import { demoRouter } from "../../../modules/demo/demo.js";
import { SecurityContext } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { CLIENT, CON, NON, PEER, SERVER, SERVER2, World, c, encode, track, valueOf } from "./harness.js";

const GROUP = "224.0.1.187";

function world(): World {
	const w = new World();
	for (const host of [SERVER, SERVER2]) {
		const router = demoRouter({ now: () => 0, greeting: "hello from " + host });
		w.endpoint(host, { router }); // unicast, port 5683
		w.endpoint(host, { router, multicast: GROUP }); // the same resources for the group
	}
	return w;
}

describe("endpoint: multicast (RFC 7252 §8)", () => {
	it("a NON GET to the group is answered by every server after a random Leisure; the client collects them all", async () => {
		const w = world();
		const client = w.endpoint(CLIENT, { port: 0 });
		const got: ClientResponse[] = [];
		const t = track(w.net, client.multicast({ address: GROUP, path: "/hello" }, (r) => got.push(r), 6000));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t), 2);
		assert.deepEqual(got.map((r) => r.text()).sort(), ["hello from " + SERVER, "hello from " + SERVER2]);
		assert.deepEqual(got.map((r) => r.address).sort(), [SERVER, SERVER2]);
		assert.equal(t.time, 6000, "collects until the timeout");
		// Leisure (§8.2): the answers are spread over [0, DEFAULT_LEISURE = 5 s].
		const answers = w.trace.filter((e) => e.kind === "send" && e.toAddress === CLIENT);
		for (const e of answers) assert.ok(e.time >= 0 && e.time <= 5000, "answered at " + e.time);
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("no error responses and no Reset to group requests; CON requests to the group are ignored", async () => {
		const w = world();
		const client = w.endpoint(CLIENT, { port: 0 });
		const got: ClientResponse[] = [];
		const t = track(w.net, client.multicast({ address: GROUP, path: "/nothing" }, (r) => got.push(r), 6000));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t), 0, "4.04 is not sent for a multicast request");
		const peer = w.peer(PEER);
		peer.send(encode({ type: CON, code: c("0.01"), mid: 7, token: "07", options: [[11, "hello"]] }), GROUP, 5683);
		peer.send(encode({ type: NON, code: c("0.01"), mid: 8, token: "08", options: [[11, "hello"], [2049, 1]] }), GROUP, 5683);
		peer.send(encode({ type: CON, code: 0, mid: 9 }), GROUP, 5683); // ping
		await w.net.runUntilIdle();
		assert.equal(peer.received.length, 0);
		// The unicast endpoints still answer unicast requests at once.
		const u = track(w.net, client.request({ address: SERVER, path: "/hello" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(u).text(), "hello from " + SERVER);
		w.close();
	});

	it("OSCORE is never dropped silently: a context, or credentials matching the group's URI, make multicast() throw (no Group OSCORE); oscore: null sends in the clear", async () => {
		const w = world();
		const ctx = new SecurityContext({ masterSecret: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), senderId: Uint8Array.of(1), recipientId: Uint8Array.of(2) }, nobleCrypto);
		const client = w.endpoint(CLIENT, { port: 0, oscore: { credentials: { ["coap://" + GROUP + "/*"]: ctx } } });
		const sent = (): number => w.trace.filter((e) => e.kind === "send" && e.fromAddress === CLIENT).length;
		assert.throws(() => client.multicast({ address: GROUP, path: "/hello", oscore: ctx }, () => undefined, 6000), RangeError);
		assert.throws(() => client.multicast({ uri: "coap://" + GROUP + "/hello" }, () => undefined, 6000), RangeError);
		assert.equal(sent(), 0, "nothing went out");
		assert.equal(client.clientSlotsInUse, 0);
		const got: ClientResponse[] = [];
		const t = track(w.net, client.multicast({ uri: "coap://" + GROUP + "/hello", oscore: null }, (r) => got.push(r), 6000));
		await w.net.runUntilIdle();
		assert.equal(valueOf(t), 2);
		w.close();
	});
});
