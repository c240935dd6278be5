// The sensor example's sampling (examples/sensor/sampler.ts): samples on the host clock's
// timer every sampleMs, and notifies the temperature's observers on a change of at least
// `step` and at least once per Max-Age (RFC 7641 §4.2). First the rules on a bare sampler and
// the virtual clock, then what an observing client sees over the virtual network, the
// `coap-client -s 6` case included. Portable: also runs inside XS (tests/xs/run.mjs).
import * as assert from "../../support/assert.js";
import { VirtualClock } from "../../../sim/index.js";
import { CODE_CONTENT, CODE_SERVICE_UNAVAILABLE } from "../../../modules/coap/constants.js";
import type { Clock, Timer } from "../../../modules/coap/host.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { SensorBoard, SensorDeviceConfig } from "../../../examples/sensor/app.js";
import { SensorSampler } from "../../../examples/sensor/sampler.js";
import { CLIENT, sensorRig } from "./rig.js";

/** A board whose readings the test sets. */
class ScriptedBoard implements SensorBoard {
	t = 20;
	h = 50;
	reads = 0;
	readTemperature(): number {
		this.reads++;
		return this.t;
	}
	readHumidity(): number {
		return this.h;
	}
	writeLed(): void {}
}

/** A bare sampler on the virtual clock, counting onChange calls with their times. */
function bare(settings: { sampleMs?: number; step?: number; maxAge?: number } = {}) {
	const clock = new VirtualClock();
	const board = new ScriptedBoard();
	const changes: number[] = [];
	const sampler = new SensorSampler(board, clock, { sampleMs: settings.sampleMs ?? 1000, step: settings.step ?? 0.1, maxAge: settings.maxAge ?? 60 }, () => changes.push(clock.now()));
	return { clock, board, changes, sampler };
}

describe("examples/sensor sampling (sampler.ts)", () => {
	it("samples once at construction, then every sampleMs on a fixed grid once started; close() stops it", () => {
		const { clock, board, sampler } = bare({ sampleMs: 250 });
		assert.equal(sampler.samples, 1);
		assert.equal(sampler.temperature, 20);
		assert.equal(sampler.humidity, 50);
		clock.advanceTo(5000);
		assert.equal(sampler.samples, 1, "nothing before start()");
		assert.equal(clock.armedCount, 0);
		sampler.start();
		sampler.start(); // twice is harmless
		assert.equal(clock.armedCount, 1, "one timer");
		board.t = 21;
		clock.advanceTo(5000 + 10 * 250);
		assert.equal(sampler.samples, 11);
		assert.equal(sampler.temperature, 21);
		clock.advanceTo(5000 + 10 * 250 + 249);
		assert.equal(sampler.samples, 11, "not before the next grid point");
		sampler.close();
		sampler.close();
		assert.equal(sampler.running, false);
		assert.equal(clock.armedCount, 0, "the timer is released");
		clock.advanceTo(20000);
		assert.equal(sampler.samples, 11);
		assert.equal(sampler.temperature, 21, "the last sample stays readable");
	});

	it("notifies a change of at least `step` from the value last notified; smaller drifts wait, and add up", () => {
		const { clock, board, changes, sampler } = bare({ step: 0.5, maxAge: 3600 });
		sampler.start();
		board.t = 20.3;
		clock.advanceTo(3000);
		assert.deepEqual(changes, [], "0.3 < step");
		board.t = 20.5; // exactly one step (20.5 - 20 is not below 0.5 in binary floating point either)
		clock.advanceTo(4000);
		assert.deepEqual(changes, [4000]);
		board.t = 20.1; // 0.4 from the notified 20.5
		clock.advanceTo(6000);
		assert.deepEqual(changes, [4000]);
		board.t = 19.9; // 0.6 below it
		clock.advanceTo(7000);
		assert.deepEqual(changes, [4000, 7000]);
		board.t = 19.5 + 0.1 + 0.2 + 0.1; // 19.900000000000002: no change worth telling
		clock.advanceTo(10000);
		assert.deepEqual(changes, [4000, 7000]);
		assert.equal(sampler.notifications, 2);
	});

	it("step 0: every change is notified, an unchanged value is not", () => {
		const { clock, board, changes, sampler } = bare({ step: 0, maxAge: 3600 });
		sampler.start();
		clock.advanceTo(5000);
		assert.deepEqual(changes, []);
		board.t = 20.001;
		clock.advanceTo(6000);
		assert.deepEqual(changes, [6000]);
	});

	it("a steady value is notified at least once per Max-Age: at the last sample before the previous notification would expire", () => {
		const { clock, changes, sampler } = bare({ sampleMs: 1000, maxAge: 5 });
		sampler.start();
		clock.advanceTo(20000);
		assert.deepEqual(changes, [4000, 8000, 12000, 16000, 20000]);
		for (let i = 1; i < changes.length; i++) assert.ok(changes[i]! - changes[i - 1]! <= 5000);
		const odd = bare({ sampleMs: 1500, maxAge: 5 });
		odd.sampler.start();
		odd.clock.advanceTo(15000);
		assert.deepEqual(odd.changes, [4500, 9000, 13500], "the sample after 4.5 s would be too late at 6 s");
		const zero = bare({ sampleMs: 1000, maxAge: 0 });
		zero.sampler.start();
		zero.clock.advanceTo(3000);
		assert.deepEqual(zero.changes, [1000, 2000, 3000], "Max-Age 0: every sample is fresh news");
	});

	it("a change resets the Max-Age countdown", () => {
		const { clock, board, changes, sampler } = bare({ sampleMs: 1000, maxAge: 5, step: 0.1 });
		sampler.start();
		clock.advanceTo(3000);
		board.t = 21;
		clock.advanceTo(10000);
		assert.deepEqual(changes, [4000, 8000], "21 at 4 s, then the refresh 4 s later");
	});

	it("the sensor failing (NaN) or recovering is notified at once; NaN to NaN is not a change", () => {
		const { clock, board, changes, sampler } = bare({ maxAge: 3600 });
		sampler.start();
		board.t = NaN;
		clock.advanceTo(1000);
		assert.deepEqual(changes, [1000]);
		clock.advanceTo(3000);
		assert.deepEqual(changes, [1000]);
		board.t = 20;
		clock.advanceTo(4000);
		assert.deepEqual(changes, [1000, 4000]);
	});

	it("a sampler woken late skips the periods it missed instead of sampling in a burst", () => {
		let now = 0;
		let timerAt = -1;
		let fire: (() => void) | undefined;
		const clock: Clock = {
			now: () => now,
			createTimer(callback, target): Timer {
				fire = () => callback.call(target);
				return {
					schedule: (at: number) => void (timerAt = at),
					unschedule: () => void (timerAt = -1),
					close: () => void (timerAt = -1),
				};
			},
		};
		const board = new ScriptedBoard();
		const s = new SensorSampler(board, clock, { sampleMs: 1000, step: 0.1, maxAge: 60 }, () => {});
		s.start();
		assert.equal(timerAt, 1000);
		now = 1000;
		fire!();
		assert.equal(timerAt, 2000, "on the grid");
		now = 5300; // a long blocking call elsewhere
		fire!();
		assert.equal(s.samples, 3, "one sample, not four");
		assert.equal(timerAt, 6300, "the next one a full period later");
	});

	it("local misuse: a missing board, clock or callback is a TypeError", () => {
		const clock = new VirtualClock();
		const settings = { sampleMs: 1000, step: 0.1, maxAge: 5 };
		assert.throws(() => new SensorSampler(undefined as unknown as SensorBoard, clock, settings, () => {}), TypeError);
		assert.throws(() => new SensorSampler(new ScriptedBoard(), {} as Clock, settings, () => {}), TypeError);
		assert.throws(() => new SensorSampler(new ScriptedBoard(), clock, settings, undefined as unknown as () => void), TypeError);
	});
});

/** Cancels an observation (Observe=1, RFC 7641 §3.6) while the network runs. */
async function cancel(r: ReturnType<typeof sensorRig>, obs: { cancel(): Promise<unknown>; readonly active: boolean }): Promise<void> {
	let done = false;
	const p = obs.cancel().then(() => void (done = true));
	await r.net.runUntil(() => done, 10000);
	await p;
	assert.equal(obs.active, false);
}

describe("examples/sensor: what an observer of /sensors/temperature sees (virtual network)", () => {
	/** Observes the temperature; records each notification's virtual time and text. */
	function watch(r: ReturnType<typeof sensorRig>) {
		const notes: { time: number; code: number; text: string }[] = [];
		let ended = false;
		const obs = r.client.observe(
			{ uri: "coap://10.0.0.2/sensors/temperature" },
			(n: ClientResponse) => notes.push({ time: r.net.clock.now(), code: n.code, text: n.text() }),
			() => (ended = true),
		);
		return { notes, obs, ended: () => ended };
	}

	it("like `coap-client -s 6` against the example's settings: several values in 6 seconds, each a fresh sample", async () => {
		const r = sensorRig();
		const w = watch(r);
		const start = r.net.clock.now();
		await r.net.runFor(6000);
		// The simulated temperature rises ~0.08 °C/s at the start of its sine: a 0.1 °C step every 2 samples.
		assert.ok(w.notes.length >= 3, "notifications in 6 s: " + JSON.stringify(w.notes));
		for (const n of w.notes) assert.equal(n.code, CODE_CONTENT);
		for (let i = 1; i < w.notes.length; i++) {
			assert.ok(Math.abs(Number(w.notes[i]!.text) - Number(w.notes[i - 1]!.text)) >= 0.1 - 1e-9 || w.notes[i]!.time - w.notes[i - 1]!.time >= 3000, "each is a step or a refresh: " + JSON.stringify(w.notes));
		}
		assert.ok(w.notes[0]!.time - start < 100, "the registration is answered at once");
		await cancel(r, w.obs);
		r.close();
	});

	it("a steady temperature keeps the observation fresh: a notification at least once per Max-Age, and the client never re-registers", async () => {
		const board = new ScriptedBoard();
		const r = sensorRig({ maxAge: 5 }, board);
		let gets = 0;
		r.net.onDatagram = (e) => {
			if (e.kind === "send" && e.fromAddress === CLIENT && e.bytes[1] === 0x01) gets++;
		};
		const w = watch(r);
		await r.net.runFor(30000);
		assert.equal(gets, 1, "one GET (the registration): no renewal after Max-Age (RFC 7641 §3.3.1)");
		const times = w.notes.map((n) => n.time);
		assert.ok(times.length >= 7, "registration + a refresh every 4 s: " + JSON.stringify(times));
		for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! <= 5000, "no gap longer than Max-Age: " + JSON.stringify(times));
		assert.deepEqual([...new Set(w.notes.map((n) => n.text))], ["20.00"]);
		assert.equal(r.app.sampler.notifications, times.length - 1, "each sampler notification reached the observer");
		assert.ok(w.obs.active);
		await cancel(r, w.obs);
		r.close();
	});

	it("a change of a step reaches the observer within one sample period; config.sensor.step and sampleMs as text", async () => {
		const board = new ScriptedBoard();
		const config: SensorDeviceConfig = { step: "0.5", sampleMs: "200", maxAge: "60" };
		const r = sensorRig(config, board);
		const w = watch(r);
		await r.net.runFor(1000);
		assert.deepEqual(w.notes.map((n) => n.text), ["20.00"]);
		board.t = 20.4;
		await r.net.runFor(1000);
		assert.deepEqual(w.notes.map((n) => n.text), ["20.00"], "below the step");
		const changedAt = r.net.clock.now();
		board.t = 20.6;
		await r.net.runFor(1000);
		assert.deepEqual(w.notes.map((n) => n.text), ["20.00", "20.60"]);
		assert.ok(w.notes[1]!.time - changedAt <= 200 + 10, "within a sample period (+ network delay)");
		await cancel(r, w.obs);
		r.close();
	});

	it("a sensor that stops answering ends the observation with 5.03 (RFC 7641 §4.2: a non-2.xx notification ends it)", async () => {
		const board = new ScriptedBoard();
		const r = sensorRig({}, board);
		const w = watch(r);
		await r.net.runFor(500);
		board.t = NaN;
		await r.net.runFor(2000);
		assert.equal(w.notes.length, 2);
		assert.equal(w.notes[1]!.code, CODE_SERVICE_UNAVAILABLE);
		assert.ok(w.ended(), "the observation ended");
		board.t = 22;
		await r.net.runFor(1000);
		assert.equal((await r.get("/sensors/temperature")).text(), "22.00", "answers again once the sensor does");
		r.close();
	});
});
