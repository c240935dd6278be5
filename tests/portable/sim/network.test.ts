// Tests of sim/: the seeded PRNG, the virtual clock and the virtual network with its driver.
// Portable: runs on Node (mocha) and on XS (tests/xs/run.mjs), so no Node APIs and no timers.
import { deepEqual, equal, ok, rejects, throws } from "../../support/assert.js";
import { Prng, VirtualClock, VirtualNetwork, type DatagramEvent, type NetworkOptions } from "../../../sim/index.js";
import type { UdpSocket } from "../../../modules/coap/host.js";

const A = "10.0.0.1";
const B = "10.0.0.2";

/** A datagram as a receiver saw it. */
interface Seen {
	time: number;
	bytes: number[];
	address: string;
	port: number;
}

/** What a sink socket's `target` holds. */
class Sink {
	readonly net: VirtualNetwork;
	readonly seen: Seen[] = [];
	readonly counts: number[] = [];
	constructor(net: VirtualNetwork) {
		this.net = net;
	}
}

/** onReadable for sinks: module-level, reads through `this`, finds its state in `target`. */
function sinkReadable(this: UdpSocket, count: number): void {
	const sink = this.target as Sink;
	sink.counts.push(count);
	for (;;) {
		const d = this.read();
		if (d === undefined) break;
		ok(d instanceof ArrayBuffer, "a datagram is an ArrayBuffer");
		sink.seen.push({ time: sink.net.clock.now(), bytes: Array.from(new Uint8Array(d)), address: d.address, port: d.port });
	}
}

function openSink(net: VirtualNetwork, host: string, port = 0): { socket: UdpSocket & { port: number }; sink: Sink } {
	const sink = new Sink(net);
	const Udp = net.udpClass(host);
	return { socket: new Udp({ port, onReadable: sinkReadable, target: sink }), sink };
}

function trace(net: VirtualNetwork): DatagramEvent[] {
	const events: DatagramEvent[] = [];
	net.onDatagram = (e) => events.push(e);
	return events;
}

function bytesOf(n: number, length = 4): Uint8Array {
	const b = new Uint8Array(length);
	for (let i = 0; i < length; i++) b[i] = (n >>> (8 * (i % 4))) & 0xff;
	return b;
}

/** FNV-1a over the fields of a trace that depend on the random choices. */
function digest(events: DatagramEvent[]): number {
	let h = 0x811c9dc5;
	const mix = (v: number): void => {
		h = Math.imul(h ^ (v & 0xffff), 0x01000193);
		h = Math.imul(h ^ (v >>> 16), 0x01000193);
	};
	for (const e of events) {
		mix(e.kind === "send" ? 1 : e.kind === "deliver" ? 2 : 3);
		mix(e.id);
		mix(e.copy);
		mix(e.time);
		mix(e.length);
	}
	return h >>> 0;
}

/** Sends `count` numbered datagrams from A to B:5683, `perMs` per virtual ms, then runs until idle. */
async function pump(options: NetworkOptions, count: number, perMs: number): Promise<{ net: VirtualNetwork; events: DatagramEvent[]; sink: Sink }> {
	const net = new VirtualNetwork(options);
	const events = trace(net);
	const { sink } = openSink(net, B, 5683);
	const { socket } = openSink(net, A);
	for (let i = 0; i < count; i++) {
		socket.write(bytesOf(i), B, 5683);
		if ((i + 1) % perMs === 0) await net.runFor(1);
	}
	await net.runUntilIdle();
	return { net, events, sink };
}

describe("sim/prng", () => {
	it("matches the xoshiro128** reference outputs", () => {
		const p = Prng.fromState(1, 2, 3, 4);
		const out: number[] = [];
		for (let i = 0; i < 8; i++) out.push(p.nextUint32());
		// Reference C implementation (Blackman and Vigna), state {1, 2, 3, 4}.
		deepEqual(out, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
		const q = Prng.fromState(0x9e3779b9, 0xdeadbeef, 0x12345678, 0xffffffff);
		for (let i = 0; i < 100; i++) q.nextUint32();
		equal(q.nextUint32(), 2287170377);
		throws(() => Prng.fromState(0, 0, 0, 0), RangeError);
	});

	it("is reproducible from its seed and differs between seeds", () => {
		const a = new Prng(42);
		const b = new Prng(42);
		const c = new Prng(43);
		let same = 0;
		for (let i = 0; i < 100; i++) {
			const x = a.nextUint32();
			equal(b.nextUint32(), x);
			if (c.nextUint32() === x) same++;
		}
		equal(same, 0);
		throws(() => new Prng(1.5), RangeError);
	});

	it("gives floats in [0, 1) and unbiased bounded integers", () => {
		const p = new Prng(7);
		let sum = 0;
		for (let i = 0; i < 10000; i++) {
			const f = p.nextFloat();
			ok(f >= 0 && f < 1, `float ${f} out of range`);
			sum += f;
		}
		ok(Math.abs(sum / 10000 - 0.5) < 0.02, `mean ${sum / 10000}`);
		const hits = [0, 0, 0];
		for (let i = 0; i < 3000; i++) hits[p.nextInt(3)]!++;
		for (const h of hits) ok(h > 900 && h < 1100, `nextInt(3) counts ${hits.join(",")}`);
		throws(() => p.nextInt(0), RangeError);
	});

	it("fill is a detachable RandomFill, four bytes per draw, little-endian", () => {
		const p = new Prng(9);
		const q = new Prng(9);
		const fill = p.fill; // detached on purpose
		const out = new Uint8Array(7);
		fill(out);
		const w0 = q.nextUint32();
		const w1 = q.nextUint32();
		deepEqual(out, new Uint8Array([w0 & 0xff, (w0 >>> 8) & 0xff, (w0 >>> 16) & 0xff, w0 >>> 24, w1 & 0xff, (w1 >>> 8) & 0xff, (w1 >>> 16) & 0xff]));
		fill(new Uint8Array(0)); // consumes nothing
		equal(p.nextUint32(), q.nextUint32());
	});
});

describe("sim/clock", () => {
	it("starts at 0 and fires timers in deadline order, at their deadlines", () => {
		const clock = new VirtualClock();
		equal(clock.now(), 0);
		equal(clock.nextTimerAt(), -1);
		const log: string[] = [];
		const make = (name: string) =>
			clock.createTimer(function (this: { name: string }) {
				log.push(`${this.name}@${clock.now()}`);
			}, { name });
		make("c").schedule(30);
		make("a").schedule(10);
		make("b").schedule(20);
		equal(clock.nextTimerAt(), 10);
		equal(clock.armedCount, 3);
		clock.advanceTo(25);
		deepEqual(log, ["a@10", "b@20"]);
		equal(clock.now(), 25);
		clock.advanceTo(100);
		deepEqual(log, ["a@10", "b@20", "c@30"]);
		equal(clock.now(), 100);
		equal(clock.armedCount, 0);
	});

	it("breaks deadline ties by arming order; re-arming moves a timer to the back", () => {
		const clock = new VirtualClock();
		const log: string[] = [];
		const t: Record<string, ReturnType<VirtualClock["createTimer"]>> = {};
		for (const name of ["x", "y", "z"]) t[name] = clock.createTimer(() => log.push(name), null);
		t.z!.schedule(5);
		t.x!.schedule(5);
		t.y!.schedule(5);
		t.z!.schedule(5); // re-armed: now last
		clock.advanceTo(5);
		deepEqual(log, ["x", "y", "z"]);
	});

	it("lets a callback arm timers, which fire in the same advance when due", () => {
		const clock = new VirtualClock();
		const log: string[] = [];
		const late = clock.createTimer(() => log.push(`late@${clock.now()}`), null);
		const again = clock.createTimer(function () {
			log.push(`again@${clock.now()}`);
		}, null);
		const first = clock.createTimer(() => {
			log.push(`first@${clock.now()}`);
			again.schedule(clock.now()); // due now: fires in this advance
			late.schedule(clock.now() + 100); // beyond: stays armed
			first.schedule(clock.now() + 3); // a timer may re-arm itself
		}, null);
		first.schedule(10);
		clock.advanceTo(14);
		deepEqual(log, ["first@10", "again@10", "first@13", "again@13"]);
		equal(clock.now(), 14);
		equal(clock.nextTimerAt(), 16);
		first.unschedule();
		equal(clock.nextTimerAt(), 113, "late was re-armed at 13");
	});

	it("fires a deadline in the past at the current time", () => {
		const clock = new VirtualClock(50);
		const log: number[] = [];
		const timer = clock.createTimer(() => log.push(clock.now()), null);
		timer.schedule(10);
		equal(clock.nextTimerAt(), 50);
		ok(clock.fireNext());
		deepEqual(log, [50]);
		ok(!clock.fireNext());
	});

	it("unschedules, closes, and never lets a stale handle control a reused slot", () => {
		const clock = new VirtualClock();
		let fired = 0;
		const t1 = clock.createTimer(() => fired++, null);
		t1.schedule(5);
		t1.unschedule();
		t1.unschedule(); // harmless
		clock.advanceTo(10);
		equal(fired, 0);
		t1.close();
		t1.close(); // harmless
		throws(() => t1.schedule(20), TypeError);
		const t2 = clock.createTimer(() => fired++, null); // reuses t1's slot
		t2.schedule(20);
		throws(() => t1.unschedule(), TypeError);
		t1.close(); // stale: must not disarm t2
		clock.advanceTo(30);
		equal(fired, 1);
	});

	it("refuses to go backwards or to skip a due timer", () => {
		const clock = new VirtualClock();
		clock.advanceTo(10);
		throws(() => clock.advanceTo(9), RangeError);
		throws(() => clock.advanceTo(Number.NaN), RangeError);
		const timer = clock.createTimer(() => undefined, null);
		throws(() => timer.schedule(Number.POSITIVE_INFINITY), RangeError);
		timer.schedule(20);
		clock.jumpTo(20); // a timer due exactly then stays armed
		equal(clock.nextTimerAt(), 20);
		throws(() => clock.jumpTo(21), RangeError);
		throws(() => clock.createTimer(undefined as unknown as () => void, null), TypeError);
	});
});

describe("sim/network", () => {
	it("delivers after the link delay, with the sender's address and port", async () => {
		const net = new VirtualNetwork({ delayMs: 5 });
		const { socket: server, sink } = openSink(net, B, 5683);
		const { socket: client } = openSink(net, A);
		equal(client.port, 49152);
		let self: unknown;
		const Udp = net.udpClass(A);
		equal(net.udpClass(A), Udp, "one class per host");
		const probe = new Udp({
			port: 6000,
			onReadable(this: UdpSocket) {
				self = this;
				this.read();
			},
		});
		client.write(new Uint8Array([1, 2, 3]), B, 5683);
		server.write(new Uint8Array([9]), A, 6000);
		equal(net.inFlight, 2);
		equal(net.nextEventAt(), 5);
		ok(await net.step());
		equal(net.clock.now(), 5);
		deepEqual(sink.seen, [{ time: 5, bytes: [1, 2, 3], address: A, port: 49152 }]);
		deepEqual(sink.counts, [1]);
		ok(await net.step());
		equal(self, probe, "onReadable is called with this = the socket");
		ok(!(await net.step()), "nothing left");
		equal(await net.runUntilIdle(), 0);
		deepEqual(net.stats, { sent: 2, delivered: 2, duplicated: 0, reordered: 0, droppedLoss: 0, droppedMtu: 0, droppedUnbound: 0 });
	});

	it("copies the bytes on write, and hands each receiver its own buffer", async () => {
		const net = new VirtualNetwork({ duplicate: 1 });
		const events = trace(net);
		const received: ArrayBuffer[] = [];
		const Udp = net.udpClass(B);
		new Udp({
			port: 5683,
			onReadable(this: UdpSocket) {
				for (let d = this.read(); d !== undefined; d = this.read()) received.push(d);
			},
		});
		const { socket } = openSink(net, A);
		const buffer = new Uint8Array([10, 11, 12, 13, 14, 15]);
		socket.write(buffer, B, 5683);
		buffer.fill(0xee); // reusable at once
		socket.write(buffer.subarray(2, 5), B, 5683); // a view: only its bytes
		socket.write(new DataView(buffer.buffer, 1, 2), B, 5683);
		socket.write(new Uint8Array([7, 8]).buffer, B, 5683);
		buffer.fill(0);
		await net.runUntilIdle();
		equal(received.length, 8, "each datagram twice (duplicate: 1)");
		const views = received.map((d) => Array.from(new Uint8Array(d)));
		deepEqual(views, [[10, 11, 12, 13, 14, 15], [10, 11, 12, 13, 14, 15], [0xee, 0xee, 0xee], [0xee, 0xee, 0xee], [0xee, 0xee], [0xee, 0xee], [7, 8], [7, 8]]);
		ok(received[0] !== received[1], "duplicates are distinct buffers");
		new Uint8Array(received[0]!).fill(1); // the receiver owns it
		deepEqual(Array.from(new Uint8Array(received[1]!)), [10, 11, 12, 13, 14, 15]);
		deepEqual(Array.from(events[0]!.bytes), [10, 11, 12, 13, 14, 15], "trace bytes are copies");
		throws(() => socket.write("x" as unknown as Uint8Array, B, 5683), TypeError);
		throws(() => socket.write(buffer, B, 0), RangeError);
	});

	it("reports the queue length to onReadable and reads in arrival order", async () => {
		const net = new VirtualNetwork();
		const counts: number[] = [];
		const Udp = net.udpClass(B);
		const lazy = new Udp({ port: 1, onReadable: (count) => counts.push(count) });
		const { socket } = openSink(net, A);
		for (let i = 0; i < 3; i++) socket.write(new Uint8Array([i]), B, 1);
		await net.runUntilIdle();
		deepEqual(counts, [1, 2, 3]);
		deepEqual([0, 1, 2].map(() => new Uint8Array(lazy.read()!)[0]), [0, 1, 2]);
		equal(lazy.read(), undefined);
	});

	it("drops datagrams larger than the mtu, also per link", async () => {
		const net = new VirtualNetwork({ mtu: 100 });
		const events = trace(net);
		const { sink } = openSink(net, B, 5683);
		const { socket } = openSink(net, A);
		socket.write(new Uint8Array(100), B, 5683);
		socket.write(new Uint8Array(101), B, 5683);
		net.setLink(A, B, { mtu: 50 });
		socket.write(new Uint8Array(51), B, 5683);
		socket.write(new Uint8Array(50), B, 5683);
		net.setLink(A, B, null);
		socket.write(new Uint8Array(51), B, 5683);
		await net.runUntilIdle();
		deepEqual(sink.seen.map((s) => s.bytes.length), [100, 50, 51]);
		equal(net.stats.droppedMtu, 2);
		const drops = events.filter((e) => e.kind === "drop");
		deepEqual(drops.map((e) => [e.id, e.length, e.reason, e.time]), [[1, 101, "mtu", 0], [2, 51, "mtu", 0]]);
	});

	it("drops datagrams to unbound ports, unknown hosts and closed sockets", async () => {
		const net = new VirtualNetwork({ delayMs: 10 });
		const events = trace(net);
		const { socket: server, sink } = openSink(net, B, 5683);
		const { socket } = openSink(net, A);
		socket.write(new Uint8Array([1]), B, 9999);
		socket.write(new Uint8Array([2]), "10.0.0.99", 5683);
		socket.write(new Uint8Array([3]), B, 5683); // in flight when the server closes
		server.close();
		server.close(); // harmless
		await net.runUntilIdle();
		equal(sink.seen.length, 0);
		equal(net.stats.droppedUnbound, 3);
		equal(net.stats.delivered, 0);
		deepEqual(
			events.filter((e) => e.kind === "drop").map((e) => [e.toAddress, e.toPort, e.reason, e.time]),
			[[B, 9999, "unbound", 10], ["10.0.0.99", 5683, "unbound", 10], [B, 5683, "unbound", 10]],
		);
		throws(() => server.write(new Uint8Array(1), A, 1), TypeError);
		equal(server.read(), undefined);
	});

	it("binds ports per host: ephemeral from 49152, no double binding, close unbinds", () => {
		const net = new VirtualNetwork();
		const { socket: s1 } = openSink(net, A);
		const { socket: s2 } = openSink(net, A);
		const { socket: other } = openSink(net, B);
		deepEqual([s1.port, s2.port, other.port], [49152, 49153, 49152]);
		openSink(net, A, 5683);
		throws(() => openSink(net, A, 5683), "already bound");
		const { socket: v6 } = openSink(net, "fd00::1", 5683); // another host: fine
		equal(v6.port, 5683);
		s1.close();
		equal(openSink(net, A).socket.port, 49154, "ephemeral ports advance");
		equal(openSink(net, A, 49152).socket.port, 49152, "a closed port can be bound again");
		const Udp = net.udpClass(A);
		const onReadable = (): void => undefined;
		throws(() => new Udp({ port: 70000, onReadable }), RangeError);
		throws(() => new Udp({ port: 1.5, onReadable }), RangeError);
		throws(() => new Udp({ port: 7, address: B, onReadable }), RangeError);
		throws(() => new Udp({ port: 7 } as unknown as ConstructorParameters<typeof Udp>[0]), TypeError);
		equal(new Udp({ port: 7, address: "0.0.0.0", onReadable }).port, 7);
		equal(new Udp({ port: 8, address: A, onReadable }).port, 8);
		throws(() => net.udpClass(""), TypeError);
	});

	it("gives the same trace for the same seed, with plausible loss and duplication", async () => {
		const options = { seed: 42, loss: 0.1, duplicate: 0.05, jitterMs: 3 };
		const first = await pump(options, 2000, 10);
		const second = await pump(options, 2000, 10);
		const other = await pump({ ...options, seed: 43 }, 2000, 10);
		deepEqual(second.events, first.events, "same seed, same trace");
		deepEqual(second.net.stats, first.net.stats);
		deepEqual(second.sink.seen, first.sink.seen);
		ok(first.events.length > 4000);
		// Pinned: the same on every engine (Node and XS), and a change here means runs recorded
		// with an older sim/ no longer replay.
		equal(digest(first.events), 2866358707);
		let differs = false;
		for (let i = 0; i < first.events.length && !differs; i++) {
			const a = first.events[i]!;
			const b = other.events[i];
			differs = b === undefined || a.kind !== b.kind || a.id !== b.id || a.time !== b.time;
		}
		ok(differs, "another seed, another trace");
		const s = first.net.stats;
		equal(s.sent, 2000);
		ok(s.droppedLoss > 140 && s.droppedLoss < 260, `droppedLoss ${s.droppedLoss}`);
		ok(s.duplicated > 55 && s.duplicated < 125, `duplicated ${s.duplicated}`);
		equal(s.delivered, s.sent - s.droppedLoss + s.duplicated);
		equal(s.droppedMtu + s.droppedUnbound, 0);
		equal(first.sink.seen.length, s.delivered);
		// Every delivered copy matches what was sent under its id.
		const sent = new Map<number, number[]>();
		for (const e of first.events) if (e.kind === "send") sent.set(e.id, Array.from(e.bytes));
		for (const e of first.events) {
			if (e.kind !== "deliver") continue;
			deepEqual(Array.from(e.bytes), sent.get(e.id));
			ok(e.time >= Math.floor(e.id / 10) + 1 && e.time <= Math.floor(e.id / 10) + 1 + 3, `delay of ${e.id}: ${e.time}`);
		}
	});

	it("keeps datagrams in order unless reordering is configured", async () => {
		const inversions = (seen: Seen[]): number => {
			let n = 0;
			for (let i = 1; i < seen.length; i++) if (seen[i]!.bytes[0]! + 256 * seen[i]!.bytes[1]! < seen[i - 1]!.bytes[0]! + 256 * seen[i - 1]!.bytes[1]!) n++;
			return n;
		};
		const ordered = await pump({ seed: 5, jitterMs: 5 }, 300, 1);
		equal(ordered.sink.seen.length, 300);
		equal(inversions(ordered.sink.seen), 0, "jitter alone keeps order");
		equal(ordered.net.stats.reordered, 0);
		const shuffled = await pump({ seed: 5, jitterMs: 5, reorder: 0.2, reorderDelayMs: 10 }, 300, 1);
		equal(shuffled.sink.seen.length, 300, "reordering loses nothing");
		ok(shuffled.net.stats.reordered > 30, `reordered ${shuffled.net.stats.reordered}`);
		ok(inversions(shuffled.sink.seen) > 20, `inversions ${inversions(shuffled.sink.seen)}`);
	});

	it("interleaves timers and deliveries in time order, a delivery first on a tie", async () => {
		const net = new VirtualNetwork({ delayMs: 5 });
		const log: string[] = [];
		const Udp = net.udpClass(B);
		new Udp({
			port: 1,
			onReadable(this: UdpSocket) {
				log.push(`rx ${new Uint8Array(this.read()!)[0]}@${net.clock.now()}`);
			},
		});
		const { socket } = openSink(net, A);
		const timer = net.clock.createTimer(() => log.push(`timer@${net.clock.now()}`), null);
		timer.schedule(5);
		const early = net.clock.createTimer(() => {
			log.push(`early@${net.clock.now()}`);
			socket.write(new Uint8Array([2]), B, 1); // arrives at 8
		}, null);
		early.schedule(3);
		socket.write(new Uint8Array([1]), B, 1); // arrives at 5, with the timer
		equal(await net.runUntilIdle(), 4);
		deepEqual(log, ["early@3", "rx 1@5", "timer@5", "rx 2@8"]);
	});

	it("lets promise jobs run between events, so async code under test makes progress", async () => {
		const net = new VirtualNetwork({ delayMs: 2 });
		// An echo server that answers after a chain of awaits.
		const Server = net.udpClass(B);
		new Server({
			port: 5683,
			onReadable(this: UdpSocket) {
				const d = this.read()!;
				const socket = this;
				void (async () => {
					for (let i = 0; i < 10; i++) await Promise.resolve();
					socket.write(d, d.address, d.port);
				})();
			},
		});
		// A client whose requests each wait for the previous response through a promise.
		let wake: ((d: ArrayBuffer) => void) | undefined;
		const Client = net.udpClass(A);
		const client = new Client({
			onReadable(this: UdpSocket) {
				const d = this.read()!;
				const w = wake;
				wake = undefined;
				w?.(d);
			},
		});
		const answers: number[] = [];
		const conversation = (async () => {
			for (let i = 0; i < 5; i++) {
				const reply = new Promise<ArrayBuffer>((resolve) => (wake = resolve));
				client.write(new Uint8Array([i]), B, 5683);
				answers.push(new Uint8Array(await reply)[0]!);
			}
		})();
		const steps = await net.runUntilIdle();
		equal(steps, 10);
		deepEqual(answers, [0, 1, 2, 3, 4]);
		equal(net.clock.now(), 20);
		await conversation;
	});

	it("runUntilIdle throws on a ping-pong that never ends", async () => {
		const net = new VirtualNetwork();
		const bounce = function (this: UdpSocket): void {
			const d = this.read()!;
			this.write(d, d.address, d.port);
		};
		new (net.udpClass(A))({ port: 1, onReadable: bounce }).write(new Uint8Array([0]), B, 2);
		new (net.udpClass(B))({ port: 2, onReadable: bounce });
		await rejects(net.runUntilIdle(500), /not idle after 500 steps/);
		equal(net.stats.delivered, 500);
		equal(net.clock.now(), 500);
		// The driver is usable again after the failure.
		await rejects(net.runUntilIdle(10), /not idle after 10 steps/);
	});

	it("runFor stops at the given time; runUntil stops at a predicate or a time limit", async () => {
		const net = new VirtualNetwork();
		const fired: number[] = [];
		const timer = net.clock.createTimer(() => {
			fired.push(net.clock.now());
			timer.schedule(net.clock.now() + 10);
		}, null);
		timer.schedule(10);
		equal(await net.runFor(35), 3);
		deepEqual(fired, [10, 20, 30]);
		equal(net.clock.now(), 35);
		ok(await net.runUntil(() => fired.length >= 5, 1000));
		equal(net.clock.now(), 50);
		ok(!(await net.runUntil(() => false, 25)));
		equal(net.clock.now(), 75);
		deepEqual(fired, [10, 20, 30, 40, 50, 60, 70]);
		timer.close();
		ok(!(await net.runUntil(() => false, 100)), "idle: time still passes");
		equal(net.clock.now(), 175);
		await rejects(net.runFor(-1), RangeError);
	});

	it("refuses to run twice at once", async () => {
		const net = new VirtualNetwork();
		const first = net.runFor(10);
		await rejects(net.runUntilIdle(), /already running/);
		await first;
		equal(net.clock.now(), 10);
	});

	it("gives each host its own reproducible random stream", () => {
		const draw = (net: VirtualNetwork, host: string): number[] => {
			const out = new Uint8Array(16);
			net.random(host)(out);
			return Array.from(out);
		};
		const n1 = new VirtualNetwork({ seed: 3 });
		const n2 = new VirtualNetwork({ seed: 3 });
		const a1 = draw(n1, A);
		const b1 = draw(n1, B);
		const b2 = draw(n2, B); // other creation order: same streams
		const a2 = draw(n2, A);
		deepEqual(a2, a1);
		deepEqual(b2, b1);
		ok(a1.join() !== b1.join());
		equal(n1.random(A), n1.random(A));
		ok(draw(new VirtualNetwork({ seed: 4 }), A).join() !== a1.join());
	});

	it("validates its options", () => {
		throws(() => new VirtualNetwork({ loss: 1.5 }), RangeError);
		throws(() => new VirtualNetwork({ duplicate: -0.1 }), RangeError);
		throws(() => new VirtualNetwork({ reorder: Number.NaN }), RangeError);
		throws(() => new VirtualNetwork({ delayMs: -1 }), RangeError);
		throws(() => new VirtualNetwork({ jitterMs: 0.5 }), RangeError);
		throws(() => new VirtualNetwork({ reorderDelayMs: 0 }), RangeError);
		throws(() => new VirtualNetwork({ seed: 0.5 }), RangeError);
		throws(() => new VirtualNetwork({ settleTicks: 0 }), RangeError);
		const net = new VirtualNetwork({ loss: 0.25 });
		net.setLink(A, B, { delayMs: 7 });
		deepEqual(net.linkConditions(A, B), { loss: 0.25, duplicate: 0, delayMs: 7, jitterMs: 0, reorder: 0, reorderDelayMs: 10, mtu: 1232 });
		equal(net.linkConditions(B, A).delayMs, 1, "overrides are one-way");
		throws(() => net.setLink(A, B, { loss: 2 }), RangeError);
	});
});
