/**
 * The fleet's impaired sockets (sim/fleet/impaired-udp.ts) on real loopback UDP apply the
 * virtual network's link model (sim/impairment.ts): with a given seed the same datagrams are
 * lost as the model draws; loss 1 drops everything, duplicate 1 delivers everything twice;
 * close() drops what is still delayed. No timing assertions.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { UdpSocket } from "../../modules/coap/host.js";
import { DEFAULT_CONDITIONS, Fate, drawFate, type LinkConditions } from "../../sim/impairment.js";
import { Prng } from "../../sim/prng.js";
import { impairedUdpClass } from "../../sim/fleet/impaired-udp.js";
import { sleep } from "./helpers.js";

async function sink(): Promise<{ socket: dgram.Socket; port: number; got: number[] }> {
	const socket = dgram.createSocket("udp4");
	const got: number[] = [];
	socket.on("message", (m) => got.push(m[0]! | (m[1]! << 8)));
	await new Promise<void>((resolve) => socket.bind({ port: 0, address: "127.0.0.1" }, resolve));
	return { socket, port: socket.address().port, got };
}

async function sendThrough(conditions: LinkConditions, seed: number, count: number): Promise<{ got: number[]; socket: UdpSocket }> {
	const s = await sink();
	const Udp = impairedUdpClass(conditions, new Prng(seed));
	const socket = new Udp({ address: "127.0.0.1", port: 0, onReadable() {} });
	await (socket as unknown as { ready(): Promise<void> }).ready();
	for (let i = 0; i < count; i++) socket.write(Uint8Array.of(i & 0xff, i >> 8, 0, 0), "127.0.0.1", s.port);
	for (let waited = 0; waited < 2000 && s.got.length < count * 2; waited += 50) await sleep(50);
	await sleep(100);
	s.socket.close();
	return { got: s.got, socket };
}

describe("impaired UDP (the virtual network's link model on real sockets)", function () {
	this.timeout(20000);

	it("drops exactly the datagrams the model draws for the seed", async () => {
		const c: LinkConditions = { ...DEFAULT_CONDITIONS, loss: 0.4, delayMs: 0 };
		const { got, socket } = await sendThrough(c, 77, 200);
		socket.close();
		const rng = new Prng(77);
		const fate = new Fate();
		const expected: number[] = [];
		const last = new Map<string, number>();
		for (let i = 0; i < 200; i++) {
			drawFate(rng, c, 0, 4, last, "127.0.0.1", fate);
			if (fate.dropped === undefined) expected.push(i);
		}
		assert.ok(expected.length > 90 && expected.length < 150, expected.length + " of 200 kept at loss 0.4");
		assert.deepEqual(got.slice().sort((a, b) => a - b), expected);
	});

	it("loss 1 drops everything; duplicate 1 delivers everything twice", async () => {
		const lost = await sendThrough({ ...DEFAULT_CONDITIONS, loss: 1, delayMs: 0 }, 1, 50);
		lost.socket.close();
		assert.deepEqual(lost.got, []);
		const twice = await sendThrough({ ...DEFAULT_CONDITIONS, duplicate: 1, delayMs: 0 }, 1, 50);
		twice.socket.close();
		assert.equal(twice.got.length, 100);
		for (let i = 0; i < 50; i++) assert.equal(twice.got.filter((x) => x === i).length, 2, "datagram " + i);
	});

	it("delayed datagrams arrive, in order (no reordering configured); close() drops the ones still waiting", async () => {
		const delayed = await sendThrough({ ...DEFAULT_CONDITIONS, delayMs: 30, jitterMs: 20 }, 5, 40);
		delayed.socket.close();
		assert.deepEqual(
			delayed.got,
			Array.from({ length: 40 }, (_, i) => i),
		);
		const s = await sink();
		const Udp = impairedUdpClass({ ...DEFAULT_CONDITIONS, delayMs: 500 }, new Prng(1));
		const socket = new Udp({ address: "127.0.0.1", port: 0, onReadable() {} });
		await (socket as unknown as { ready(): Promise<void> }).ready();
		socket.write(Uint8Array.of(1, 0), "127.0.0.1", s.port);
		socket.close();
		await sleep(700);
		s.socket.close();
		assert.deepEqual(s.got, []);
	});
});
