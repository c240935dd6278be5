// The client's answer to a peer the network reports unreachable (host.ts PeerUnreachable,
// which the Node host passes on from ICMP errors): its requests, observations and
// deregistrations end at once with COAP_UNREACHABLE, other peers' requests go on; cancel()
// tells whether the deregistration was answered; a token the application chooses
// (RFC 7252 §5.3.1) is sent as given and refused while in use.
import * as assert from "../../support/assert.js";
import { CoapError } from "../../../modules/coap/errors.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { ACK, CLIENT, COAP, CON, SERVER, SERVER2, World, c, decode, encode, errorCode, microtasks, track, valueOf } from "./harness.js";

function unreachable(ep: Endpoint, address: string, port: number, what = "port"): void {
	const e = new Error("nothing listens on " + address + ":" + port);
	Object.assign(e, { address, port, unreachable: what });
	ep.socketError(e);
}

describe("endpoint: peers reported unreachable, chosen tokens", () => {
	it("an outstanding CON request ends at once with COAP_UNREACHABLE, its cause the host's report; another peer's request goes on", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		w.peer(SERVER, COAP); // silent
		const other = w.peer(SERVER2, COAP);
		other.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON) p.send(encode({ type: ACK, code: c("2.05"), mid: m.mid, token: m.token, payload: "fine" }), r.address, r.port);
		};
		const t = track(w.net, client.request({ address: SERVER, path: "/x" }));
		const t2 = track(w.net, client.request({ address: SERVER, port: 5684, path: "/y" }));
		const fine = track(w.net, client.request({ address: SERVER2, path: "/z" }));
		await w.net.runFor(10);
		unreachable(client, SERVER, COAP);
		await microtasks();
		assert.equal(errorCode(t), "COAP_UNREACHABLE");
		assert.ok(t.error instanceof CoapError);
		assert.equal((t.error as Error).message, "nothing listens on " + SERVER + ":" + COAP);
		assert.equal(((t.error as Error).cause as { unreachable?: string }).unreachable, "port");
		assert.ok(!t2.settled, "another port of the same host is not affected");
		await w.net.runUntilIdle();
		assert.equal(valueOf(fine).text(), "fine");
		assert.equal(errorCode(t2), "COAP_TIMEOUT");
		assert.equal(client.clientSlotsInUse, 0);
		assert.equal(w.sent(CLIENT).filter((e) => e.toAddress === SERVER && e.toPort === COAP).length, 1, "no retransmission after the report");
		w.close();
	});

	it("a socket error that is not an unreachable report goes to onError and ends nothing", async () => {
		const w = new World();
		const errors: unknown[] = [];
		const client = w.endpoint(CLIENT, { port: 0, onError: (e) => errors.push(e) });
		w.peer(SERVER, COAP);
		const t = track(w.net, client.request({ address: SERVER, path: "/x", timeoutMs: 5000 }));
		await w.net.runFor(10);
		client.socketError(new Error("EPERM"));
		await microtasks();
		assert.equal(errors.length, 1);
		assert.ok(!t.settled);
		await w.net.runUntilIdle();
		assert.equal(errorCode(t), "COAP_TIMEOUT");
		w.close();
	});

	it("an observation ends with COAP_UNREACHABLE; cancel() of one whose server is gone resolves with the error, of a live one with null", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const server = w.peer(SERVER, COAP);
		let answerDeregistration = true;
		server.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type !== CON) return;
			const observe = m.options.find((o) => o.number === 6);
			const deregister = observe !== undefined && observe.value.length === 1 && observe.value[0] === 1;
			if (deregister && !answerDeregistration) return;
			p.send(encode({ type: ACK, code: c("2.05"), mid: m.mid, token: m.token, options: deregister ? [] : [[6, Uint8Array.of(5)]], payload: "v" }), r.address, r.port);
		};
		// A live server: the deregistration is answered.
		const got: string[] = [];
		const live = client.observe({ address: SERVER, path: "/a" }, (n) => got.push(n.text()));
		await w.net.runFor(10);
		assert.deepEqual(got, ["v"]);
		const ok = track(w.net, live.cancel());
		await w.net.runFor(10);
		assert.equal(valueOf(ok), null);
		// The server stops answering, then the network reports it gone while cancelling.
		answerDeregistration = false;
		let ended: CoapError | null | undefined;
		const gone = client.observe({ address: SERVER, path: "/b" }, () => {}, (e) => (ended = e));
		await w.net.runFor(10);
		const dereg = track(w.net, gone.cancel());
		await w.net.runFor(10);
		assert.ok(!dereg.settled, "waiting for the deregistration's answer");
		unreachable(client, SERVER, COAP);
		await microtasks();
		const e = valueOf(dereg);
		assert.ok(e instanceof CoapError);
		assert.equal(e!.code, "COAP_UNREACHABLE");
		assert.equal(ended, null, "a cancelled observation ends normally");
		// An observation (not cancelling) whose server is reported gone ends with the error.
		answerDeregistration = true;
		let ended2: CoapError | null | undefined;
		client.observe({ address: SERVER, path: "/c" }, () => {}, (x) => (ended2 = x));
		await w.net.runFor(10);
		unreachable(client, SERVER, COAP, "host");
		await microtasks();
		assert.equal(ended2?.code, "COAP_UNREACHABLE");
		assert.equal(client.clientSlotsInUse, 0);
		w.close();
	});

	it("cancel() whose deregistration times out resolves with COAP_TIMEOUT", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const server = w.peer(SERVER, COAP);
		let first = true;
		server.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.type === CON && first) {
				first = false;
				p.send(encode({ type: ACK, code: c("2.05"), mid: m.mid, token: m.token, options: [[6, Uint8Array.of(2)]], payload: "v" }), r.address, r.port);
			}
		};
		const obs = client.observe({ address: SERVER, path: "/a" }, () => {});
		await w.net.runFor(10);
		const d = track(w.net, obs.cancel());
		await w.net.runUntilIdle();
		assert.equal(valueOf(d)?.code, "COAP_TIMEOUT");
		w.close();
	});

	it("a chosen token is sent as given (also empty); the same token while in use → COAP_CAPACITY; 9 bytes → TypeError", async () => {
		const w = new World();
		const client = w.endpoint(CLIENT, { port: 0 });
		const server = w.peer(SERVER, COAP);
		const tokens: string[] = [];
		server.onReceive = (r) => tokens.push(decode(r.bytes).token);
		const a = track(w.net, client.request({ address: SERVER, path: "/x", token: Uint8Array.of(0xca, 0xfe), timeoutMs: 1000 }));
		const b = track(w.net, client.request({ address: SERVER, path: "/y", token: Uint8Array.of(0xca, 0xfe), timeoutMs: 1000 }));
		await w.net.runFor(5);
		assert.equal(errorCode(b), "COAP_CAPACITY");
		assert.ok(!a.settled);
		await w.net.runUntilIdle();
		assert.equal(errorCode(a), "COAP_TIMEOUT");
		const empty = track(w.net, client.request({ address: SERVER, path: "/z", token: new Uint8Array(0), timeoutMs: 1000 }));
		await w.net.runUntilIdle();
		assert.equal(errorCode(empty), "COAP_TIMEOUT");
		assert.deepEqual(tokens, ["cafe", ""]);
		assert.throws(() => client.request({ address: SERVER, path: "/x", token: new Uint8Array(9) }), TypeError);
		w.close();
	});
});
