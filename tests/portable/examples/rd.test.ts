// The sensor example's resource-directory module (examples/sensor/rd.ts): config.sensor.rd
// read as the firmware sees it (text from the mcconfig command line included), and the
// example device registering its resources with the directory on the virtual network.
// Portable: also runs on XS.
import * as assert from "../../support/assert.js";
import { deviceSettings, ESP32_DEVICE_CONFIG } from "../../../modules/coap/device.js";
import { SensorApp } from "../../../examples/sensor/app.js";
import { SimulatedSensors } from "../../../examples/sensor/simulated.js";
import { sensorRdSettings, startSensorRd } from "../../../examples/sensor/rd.js";
import type { RdEvent } from "../../../modules/coap/rd/client.js";
import { RdWorld, RD_URI } from "../rd/rig.js";
import { track } from "../endpoint/harness.js";

describe("examples/sensor: registration with a resource directory (config.sensor.rd)", function () {
	this.timeout(60000);

	it("reads config.sensor.rd: a URI, an object, text values; absent or empty means no registration", () => {
		assert.equal(sensorRdSettings(undefined, "s1"), null);
		assert.equal(sensorRdSettings("", "s1"), null);
		assert.deepEqual(sensorRdSettings("coap://192.0.2.1", "s1"), { directory: "coap://192.0.2.1", ep: "s1", sector: undefined, lifetime: undefined, endpointType: undefined, simple: false });
		assert.deepEqual(sensorRdSettings({ uri: "coap://192.0.2.1/rd", ep: "kitchen", d: "home", lt: "3600", et: "sensor", simple: "true" }, "s1"), {
			directory: "coap://192.0.2.1/rd",
			ep: "kitchen",
			sector: "home",
			lifetime: 3600,
			endpointType: "sensor",
			simple: true,
		});
		// The command line's rd= (top-level config.rd) wins over the manifest's.
		assert.equal(sensorRdSettings({ uri: "coap://192.0.2.1" }, "s1", "coap://198.51.100.7")!.directory, "coap://198.51.100.7");
		assert.throws(() => sensorRdSettings({ lt: 60 }, "s1"), RangeError);
		assert.throws(() => sensorRdSettings({ uri: "coap://192.0.2.1", lt: "soon" }, "s1"), RangeError);
		assert.throws(() => sensorRdSettings({ uri: "coap://192.0.2.1", simple: "maybe" }, "s1"), RangeError);
		assert.throws(() => sensorRdSettings({ uri: "coap://192.0.2.1", port: 1 }, "s1"), RangeError);
		assert.throws(() => sensorRdSettings(42, "s1"), RangeError);
	});

	it("the example device registers its five resources, renews, and removes them at stop", async () => {
		const w = new RdWorld();
		const board = new SimulatedSensors({ now: () => w.net.clock.now() });
		const router = new SensorApp(board, w.net.clock).router; // not started: no sampling timer
		const endpoint = w.endpoint("10.0.3.1", { port: 5683, router, limits: deviceSettings(ESP32_DEVICE_CONFIG).limits });
		const settings = sensorRdSettings({ uri: RD_URI, lt: 120, et: "xscoap-sensor" }, "sensor-a")!;
		const events: RdEvent[] = [];
		const rd = startSensorRd({ endpoint, clock: w.net.clock, router, settings, random: w.net.random("10.0.3.1"), onEvent: (e) => events.push(e) });
		await w.net.runUntil(() => rd.registered, 30000);
		const reg = w.reg("sensor-a")!;
		assert.equal(reg.base, "coap://10.0.3.1:5683");
		assert.equal(reg.attribute("et"), "xscoap-sensor");
		assert.deepEqual(
			reg.links.map((l) => l.href),
			["/sensors/temperature", "/sensors/humidity", "/actuators/led", "/device", "/device/note"],
		);
		await w.net.runFor(600000);
		assert.ok(w.reg("sensor-a") !== undefined, "renewed for 10 minutes at lt 120 s");
		assert.ok(events.filter((e) => e.kind === "updated").length >= 6);
		const [temp] = await w.links("/rd-lookup/res", ["rt=temperature-c", "ep=sensor-a"]);
		const reading = await w.request({ uri: temp!.href });
		assert.equal(reading.codeText, "2.05");
		const stopped = track(w.net, rd.stop());
		await w.net.runUntil(() => stopped.settled, 30000);
		assert.equal(stopped.value, true);
		assert.equal(w.directory.size, 0);
		w.close();
	});
});
