// The sensor example's application (examples/sensor/app.ts) on the virtual network: a client
// endpoint reads the sensors, drives the LED and fetches /.well-known/core from a device
// endpoint built with the ESP32 limits of config.coap. Portable: also runs inside XS
// (tests/xs/run.mjs), so the example device answers requests on the XS engine.
import * as assert from "../../support/assert.js";
import { VirtualNetwork } from "../../../sim/index.js";
import { CODE_BAD_REQUEST, CODE_CHANGED, CODE_CONTENT, CODE_METHOD_NOT_ALLOWED, CODE_NOT_FOUND, CODE_SERVICE_UNAVAILABLE, FORMAT_JSON, FORMAT_LINK_FORMAT, FORMAT_TEXT } from "../../../modules/coap/constants.js";
import { ESP32_DEVICE_CONFIG, deviceSettings } from "../../../modules/coap/device.js";
import { Endpoint } from "../../../modules/coap/endpoint.js";
import type { Ports } from "../../../modules/coap/host.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { RequestOptions } from "../../../modules/coap/client/options.js";
import { SENSOR_PORT, parseLed, sensorRouter, type SensorBoard, type SensorDeviceConfig } from "../../../examples/sensor/app.js";
import { SimulatedSensors, TEMPERATURE_PERIOD_MS } from "../../../examples/sensor/simulated.js";

const DEVICE = "10.0.0.2";
const CLIENT = "10.0.0.1";

function ports(net: VirtualNetwork, host: string): Ports {
	return { udp: net.udpClass(host), clock: net.clock, random: net.random(host) };
}

interface Rig {
	net: VirtualNetwork;
	device: Endpoint;
	client: Endpoint;
	board: SimulatedSensors;
	leds: boolean[];
	get(path: string, extra?: Partial<RequestOptions>): Promise<ClientResponse>;
	put(path: string, payload: string, extra?: Partial<RequestOptions>): Promise<ClientResponse>;
	close(): void;
}

function rig(config: SensorDeviceConfig = {}, board?: SensorBoard): Rig {
	const net = new VirtualNetwork({ seed: 4 });
	const leds: boolean[] = [];
	const sim = new SimulatedSensors({ now: () => net.clock.now(), onLed: (on) => leds.push(on) });
	const settings = deviceSettings(ESP32_DEVICE_CONFIG);
	const device = new Endpoint({ ports: ports(net, DEVICE), port: SENSOR_PORT, limits: settings.limits, router: sensorRouter(board ?? sim, config) });
	const client = new Endpoint({ ports: ports(net, CLIENT) });
	const send = async (o: RequestOptions): Promise<ClientResponse> => {
		const pending = client.request(o);
		await net.runUntilIdle();
		return pending;
	};
	return {
		net,
		device,
		client,
		board: sim,
		leds,
		get: (path, extra = {}) => send({ uri: "coap://" + DEVICE + path, ...extra }),
		put: (path, payload, extra = {}) => send({ method: "PUT", uri: "coap://" + DEVICE + path, payload, ...extra }),
		close() {
			client.close();
			device.close();
		},
	};
}

describe("examples/sensor on the virtual network", () => {
	it("GET /sensors/temperature: degrees Celsius as text/plain with Max-Age, following the simulated clock", async () => {
		const r = rig();
		const first = await r.get("/sensors/temperature");
		assert.equal(first.code, CODE_CONTENT);
		assert.equal(first.contentFormat, FORMAT_TEXT);
		assert.equal(first.maxAge, 5);
		assert.match(first.text(), /^\d+\.\d\d$/);
		assert.equal(first.text(), "21.50", "the sine starts at its mean");
		// A quarter period later the simulated temperature peaks at mean + 1.5.
		await r.net.runFor(TEMPERATURE_PERIOD_MS / 4);
		assert.equal((await r.get("/sensors/temperature")).text(), "23.00");
		r.close();
	});

	it("GET /sensors/humidity: % RH as text/plain; decimals come from the config", async () => {
		const r = rig({ decimals: 1 });
		const res = await r.get("/sensors/humidity");
		assert.equal(res.code, CODE_CONTENT);
		assert.equal(res.contentFormat, FORMAT_TEXT);
		assert.match(res.text(), /^\d+\.\d$/);
		const value = Number(res.text());
		assert.ok(value >= 40 && value <= 50, "humidity " + value + " within 45 ± 5");
		r.close();
	});

	it("LED: GET 0, PUT on/1/off/0 → 2.04 and the board follows, GET reflects it", async () => {
		const r = rig();
		assert.equal((await r.get("/actuators/led")).text(), "0");
		const on = await r.put("/actuators/led", "on");
		assert.equal(on.code, CODE_CHANGED);
		assert.equal(on.payload.length, 0);
		assert.equal(r.board.led, true);
		assert.equal((await r.get("/actuators/led")).text(), "1");
		assert.equal((await r.put("/actuators/led", "1", { contentFormat: FORMAT_TEXT })).code, CODE_CHANGED, "explicit text/plain");
		assert.equal((await r.put("/actuators/led", "off")).code, CODE_CHANGED);
		assert.equal((await r.get("/actuators/led")).text(), "0");
		assert.equal((await r.put("/actuators/led", "0\n")).code, CODE_CHANGED, "a trailing newline (echo 0 | ...) is accepted");
		assert.deepEqual(r.leds, [true, false], "the board sees each change once");
		r.close();
	});

	it("LED: anything else is 4.00 Bad Request with a diagnostic, and the LED stays", async () => {
		const r = rig();
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

	it("GET /.well-known/core lists the three resources with rt, if, ct and obs; rt filtering works", async () => {
		const r = rig();
		const res = await r.get("/.well-known/core");
		assert.equal(res.code, CODE_CONTENT);
		assert.equal(res.contentFormat, FORMAT_LINK_FORMAT);
		const links = res.text().split(",");
		assert.equal(links.length, 3);
		assert.match(links[0]!, /^<\/sensors\/temperature>;rt="temperature-c";if="core\.s";ct=0;obs;/);
		assert.match(links[1]!, /^<\/sensors\/humidity>;rt="humidity-rh";if="core\.s";ct=0;/);
		assert.ok(links[1]!.indexOf(";obs") < 0, "humidity is not observable");
		assert.match(links[2]!, /^<\/actuators\/led>;rt="light-switch";if="core\.a";ct=0;/);
		const filtered = await r.get("/.well-known/core?rt=temperature-c");
		assert.equal(filtered.text().split(",").length, 1);
		assert.match(filtered.text(), /^<\/sensors\/temperature>/);
		r.close();
	});

	it("unknown paths are 4.04, methods a resource lacks are 4.05", async () => {
		const r = rig();
		assert.equal((await r.get("/sensors/pressure")).code, CODE_NOT_FOUND);
		assert.equal((await r.put("/sensors/temperature", "30")).code, CODE_METHOD_NOT_ALLOWED);
		assert.equal((await r.get("/actuators/led", { method: "POST" })).code, CODE_METHOD_NOT_ALLOWED);
		r.close();
	});

	it("a sensor that cannot be read (NaN) is answered 5.03 with Max-Age 1", async () => {
		const board: SensorBoard = { readTemperature: () => NaN, readHumidity: () => 50, writeLed() {} };
		const r = rig({}, board);
		const res = await r.get("/sensors/temperature");
		assert.equal(res.code, CODE_SERVICE_UNAVAILABLE);
		assert.equal(res.maxAge, 1);
		assert.equal((await r.get("/sensors/humidity")).text(), "50.00");
		r.close();
	});

	it("serves several clients' requests at once within the ESP32 limits", async () => {
		const r = rig();
		const pending: Promise<ClientResponse>[] = [];
		for (const path of ["/sensors/temperature", "/sensors/humidity", "/actuators/led", "/.well-known/core"]) pending.push(r.client.request({ uri: "coap://" + DEVICE + path }));
		await r.net.runUntilIdle();
		const codes: number[] = [];
		for (const p of pending) codes.push((await p).code);
		assert.deepEqual(codes, [CODE_CONTENT, CODE_CONTENT, CODE_CONTENT, CODE_CONTENT]);
		assert.equal(r.device.stats.capacityRejected, 0);
		r.close();
	});

	it("config: bad decimals or maxAge are local misuse (RangeError); unknown keys are kept for later features", () => {
		const board: SensorBoard = { readTemperature: () => 20, readHumidity: () => 50, writeLed() {} };
		assert.throws(() => sensorRouter(board, { decimals: 7 }), RangeError);
		assert.throws(() => sensorRouter(board, { decimals: "x" }), RangeError);
		assert.throws(() => sensorRouter(board, { maxAge: -1 }), RangeError);
		const router = sensorRouter(board, { decimals: "3", maxAge: "60", oscore: { contexts: [] }, rd: { ep: "node-1" } });
		assert.equal(router.resources.length, 3);
	});

	it("parseLed accepts 0, 1, on, off (case-insensitive, trimmed) and nothing else", () => {
		assert.deepEqual(["1", "on", "ON", " On\n", "0", "off", "OFF\r\n"].map(parseLed), [1, 1, 1, 1, 0, 0, 0]);
		assert.deepEqual(["", "2", "onn", "of", "yes", "0x1", "1 "].map(parseLed), [-1, -1, -1, -1, -1, -1, 1]);
	});
});
