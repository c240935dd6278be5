// The sensor example's application (examples/sensor/app.ts) on the virtual network: a client
// endpoint reads the sensors, drives the LED, reads the device description (Block2) and writes
// the note (Block1) on a device endpoint built with the ESP32 limits of config.coap, while the
// app samples its board on the virtual clock. Portable: also runs inside XS (tests/xs/run.mjs).
// The sampling and notification rules themselves: sampler.test.ts.
import * as assert from "../../support/assert.js";
import { VirtualNetwork } from "../../../sim/index.js";
import { CODE_BAD_REQUEST, CODE_CHANGED, CODE_CONTENT, CODE_METHOD_NOT_ALLOWED, CODE_NOT_FOUND, CODE_REQUEST_ENTITY_TOO_LARGE, CODE_SERVICE_UNAVAILABLE, FORMAT_JSON, FORMAT_LINK_FORMAT, FORMAT_TEXT } from "../../../modules/coap/constants.js";
import { OPT_SIZE1 } from "../../../modules/coap/options.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import { SensorApp, parseLed, sensorSettings, type SensorBoard, type SensorDeviceConfig } from "../../../examples/sensor/app.js";
import { sensorRig } from "./rig.js";
import { TEMPERATURE_PERIOD_MS } from "../../../examples/sensor/simulated.js";

const DEVICE = "10.0.0.2";

describe("examples/sensor on the virtual network", () => {
	it("GET /sensors/temperature: degrees Celsius as text/plain with Max-Age, following the simulated clock", async () => {
		const r = sensorRig();
		const first = await r.get("/sensors/temperature");
		assert.equal(first.code, CODE_CONTENT);
		assert.equal(first.contentFormat, FORMAT_TEXT);
		assert.equal(first.maxAge, 5);
		assert.match(first.text(), /^\d+\.\d\d$/);
		assert.equal(first.text(), "21.50", "the sine starts at its mean");
		// A quarter period later the simulated temperature peaks at mean + 1.5 (sampled on the grid).
		await r.net.runFor(TEMPERATURE_PERIOD_MS / 4);
		assert.equal((await r.get("/sensors/temperature")).text(), "23.00");
		r.close();
	});

	it("GET /sensors/humidity: % RH as text/plain; decimals come from the config", async () => {
		const r = sensorRig({ decimals: 1 });
		const res = await r.get("/sensors/humidity");
		assert.equal(res.code, CODE_CONTENT);
		assert.equal(res.contentFormat, FORMAT_TEXT);
		assert.match(res.text(), /^\d+\.\d$/);
		const value = Number(res.text());
		assert.ok(value >= 40 && value <= 50, "humidity " + value + " within 45 ± 5");
		r.close();
	});

	it("LED: GET 0, PUT on/1/off/0 → 2.04 and the board follows, GET reflects it", async () => {
		const r = sensorRig();
		assert.equal((await r.get("/actuators/led")).text(), "0");
		const on = await r.put("/actuators/led", "on");
		assert.equal(on.code, CODE_CHANGED);
		assert.equal(on.payload.length, 0);
		assert.equal(r.board.led, true);
		assert.equal(r.app.led, true);
		assert.equal((await r.get("/actuators/led")).text(), "1");
		assert.equal((await r.put("/actuators/led", "1", { contentFormat: FORMAT_TEXT })).code, CODE_CHANGED, "explicit text/plain");
		assert.equal((await r.put("/actuators/led", "off")).code, CODE_CHANGED);
		assert.equal((await r.get("/actuators/led")).text(), "0");
		assert.equal((await r.put("/actuators/led", "0\n")).code, CODE_CHANGED, "a trailing newline (echo 0 | ...) is accepted");
		assert.deepEqual(r.leds, [true, false], "the board sees each change once");
		r.close();
	});

	it("LED: anything else is 4.00 Bad Request with a diagnostic, and the LED stays", async () => {
		const r = sensorRig();
		await r.put("/actuators/led", "on");
		for (const bad of ["2", "ON!", "", "true", "0 1"]) {
			const res = await r.put("/actuators/led", bad);
			assert.equal(res.code, CODE_BAD_REQUEST, JSON.stringify(bad));
			assert.match(res.text(), /0, 1, on or off/);
		}
		const json = await r.put("/actuators/led", "1", { contentFormat: FORMAT_JSON });
		assert.equal(json.code, CODE_BAD_REQUEST, "a JSON body is not text/plain");
		assert.equal((await r.get("/actuators/led")).text(), "1");
		assert.deepEqual(r.leds, [true]);
		r.close();
	});

	it("GET /.well-known/core lists the five resources with rt, if, ct and obs; rt filtering works", async () => {
		const r = sensorRig();
		const res = await r.get("/.well-known/core");
		assert.equal(res.code, CODE_CONTENT);
		assert.equal(res.contentFormat, FORMAT_LINK_FORMAT);
		const links = res.text().split(",");
		assert.equal(links.length, 5);
		assert.match(links[0]!, /^<\/sensors\/temperature>;rt="temperature-c";if="core\.s";ct=0;obs;/);
		assert.match(links[1]!, /^<\/sensors\/humidity>;rt="humidity-rh";if="core\.s";ct=0;/);
		assert.ok(links[1]!.indexOf(";obs") < 0, "humidity is not observable");
		assert.match(links[2]!, /^<\/actuators\/led>;rt="light-switch";if="core\.a";ct=0;/);
		assert.match(links[3]!, /^<\/device>;rt="xscoap\.device";ct=50;/);
		assert.match(links[4]!, /^<\/device\/note>;rt="xscoap\.note";ct=0;/);
		const filtered = await r.get("/.well-known/core?rt=temperature-c");
		assert.equal(filtered.text().split(",").length, 1);
		assert.match(filtered.text(), /^<\/sensors\/temperature>/);
		r.close();
	});

	it("GET /device: a JSON description larger than one block, read with Block2 (RFC 7959) at the default and at 64-byte blocks", async () => {
		const r = sensorRig();
		const res = await r.get("/device");
		assert.equal(res.code, CODE_CONTENT);
		assert.equal(res.contentFormat, FORMAT_JSON);
		const text = res.text();
		assert.equal(text, r.app.description);
		assert.ok(text.length > 1024, "larger than a 1024-byte block: " + text.length + " bytes");
		const d = JSON.parse(text) as { name: string; sampling: { periodMs: number; notifyStep: number; maxAgeSeconds: number }; coap: { maxMessageSize: number }; resources: { path: string; methods: string[]; unit?: string; observable?: boolean }[] };
		assert.equal(d.name, "xscoap-sensor");
		assert.equal(d.sampling.periodMs, 1000);
		assert.equal(d.sampling.notifyStep, 0.1);
		assert.equal(d.sampling.maxAgeSeconds, 5);
		assert.equal(d.coap.maxMessageSize, 1152);
		assert.deepEqual(d.resources.map((x) => x.path), ["/sensors/temperature", "/sensors/humidity", "/actuators/led", "/device", "/device/note"]);
		assert.equal(d.resources[0]!.unit, "Cel");
		assert.equal(d.resources[0]!.observable, true);
		assert.deepEqual(d.resources[4]!.methods, ["GET", "PUT"]);
		const small = await r.get("/device", { blockSize: 64 });
		assert.equal(small.text(), text, "the same body in 64-byte blocks");
		r.close();
	});

	it("PUT /device/note: Block1 (RFC 7959) for a note larger than a block, GET returns it; too long → 4.13 with Size1; non-text → 4.00", async () => {
		const r = sensorRig({ noteBytes: 300 });
		assert.equal((await r.get("/device/note")).payload.length, 0, "empty at start");
		let note = "";
		while (note.length < 250) note += "Room 3.14, north wall, 1.8 m above the floor. ";
		note = note.slice(0, 250);
		const put = await r.put("/device/note", note, { blockSize: 64, contentFormat: FORMAT_TEXT });
		assert.equal(put.code, CODE_CHANGED);
		const got = await r.get("/device/note", { blockSize: 64 });
		assert.equal(got.code, CODE_CONTENT);
		assert.equal(got.contentFormat, FORMAT_TEXT);
		assert.equal(got.text(), note);
		const long = await r.put("/device/note", note + note, { blockSize: 64 });
		assert.equal(long.code, CODE_REQUEST_ENTITY_TOO_LARGE);
		assert.equal(long.optionUint(OPT_SIZE1), 300, "Size1 tells the largest note");
		assert.equal((await r.get("/device/note")).text(), note, "the note stays");
		assert.equal((await r.put("/device/note", "{}", { contentFormat: FORMAT_JSON })).code, CODE_BAD_REQUEST);
		assert.equal((await r.put("/device/note", "")).code, CODE_CHANGED, "an empty PUT clears it");
		assert.equal((await r.get("/device/note")).payload.length, 0);
		r.close();
	});

	it("unknown paths are 4.04, methods a resource lacks are 4.05", async () => {
		const r = sensorRig();
		assert.equal((await r.get("/sensors/pressure")).code, CODE_NOT_FOUND);
		assert.equal((await r.put("/sensors/temperature", "30")).code, CODE_METHOD_NOT_ALLOWED);
		assert.equal((await r.get("/actuators/led", { method: "POST" })).code, CODE_METHOD_NOT_ALLOWED);
		assert.equal((await r.put("/device", "{}")).code, CODE_METHOD_NOT_ALLOWED);
		r.close();
	});

	it("a sensor that cannot be read (NaN) is answered 5.03 with Max-Age 1", async () => {
		const board: SensorBoard = { readTemperature: () => NaN, readHumidity: () => 50, writeLed() {} };
		const r = sensorRig({}, board);
		const res = await r.get("/sensors/temperature");
		assert.equal(res.code, CODE_SERVICE_UNAVAILABLE);
		assert.equal(res.maxAge, 1);
		assert.equal((await r.get("/sensors/humidity")).text(), "50.00");
		r.close();
	});

	it("serves several clients' requests at once within the ESP32 limits", async () => {
		const r = sensorRig();
		const pending: Promise<ClientResponse>[] = [];
		for (const path of ["/sensors/temperature", "/sensors/humidity", "/actuators/led", "/device"]) pending.push(r.client.request({ uri: "coap://" + DEVICE + path }));
		await r.net.runFor(5000);
		const codes: number[] = [];
		for (const p of pending) codes.push((await p).code);
		assert.deepEqual(codes, [CODE_CONTENT, CODE_CONTENT, CODE_CONTENT, CODE_CONTENT]);
		assert.equal(r.device.stats.capacityRejected, 0);
		r.close();
	});

	it("config: bad values are local misuse (RangeError naming the field); text values convert; unknown keys are kept for later features", () => {
		const board: SensorBoard = { readTemperature: () => 20, readHumidity: () => 50, writeLed() {} };
		const net = new VirtualNetwork({ seed: 1 });
		const bad: [SensorDeviceConfig, RegExp][] = [
			[{ decimals: 7 }, /decimals/],
			[{ decimals: "x" }, /decimals/],
			[{ maxAge: -1 }, /maxAge/],
			[{ sampleMs: 0 }, /sampleMs/],
			[{ sampleMs: "fast" }, /sampleMs/],
			[{ sampleMs: 1.5 }, /sampleMs/],
			[{ step: -0.1 }, /step/],
			[{ step: "x" }, /step/],
			[{ noteBytes: 5000 }, /noteBytes/],
			[{ coap: { maxMesageSize: 512 } }, /maxMesageSize/],
		];
		for (const [config, re] of bad) assert.throws(() => new SensorApp(board, net.clock, config), re, JSON.stringify(config));
		const s = sensorSettings({ decimals: "3", maxAge: "60", sampleMs: "250", step: "0.5", noteBytes: "0" });
		assert.deepEqual({ ...s }, { name: "xscoap-sensor", decimals: 3, maxAge: 60, sampleMs: 250, step: 0.5, noteBytes: 0 });
		const app = new SensorApp(board, net.clock, { name: "node-1", oscore: { contexts: [] }, rd: { ep: "node-1" } });
		assert.equal(app.router.resources.length, 5);
		assert.equal(app.settings.name, "node-1");
		assert.equal(app.sampler.running, false, "sampling starts with start()");
		assert.equal(net.clock.armedCount, 0, "no timer before start()");
	});

	it("parseLed accepts 0, 1, on, off (case-insensitive, trimmed) and nothing else", () => {
		assert.deepEqual(["1", "on", "ON", " On\n", "0", "off", "OFF\r\n"].map(parseLed), [1, 1, 1, 1, 0, 0, 0]);
		assert.deepEqual(["", "2", "onn", "of", "yes", "0x1", "1 "].map(parseLed), [-1, -1, -1, -1, -1, -1, 1]);
	});
});
