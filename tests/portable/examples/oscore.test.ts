// OSCORE on the sensor example (examples/sensor/oscore.ts): config.sensor.oscore read as the
// firmware sees it, provisioned into a Preference store (a fake backend here; the Moddable
// Preference module on the device), and the device on the virtual network wired as main.ts
// wires it: with a context the LED answers only protected requests, the sensors stay readable
// without, and after a reboot the stored context is used again, its replay window recovered
// with Echo (RFC 8613 Appendix B.1.2). Portable: also runs on XS.
import * as assert from "../../support/assert.js";
import { hex } from "../../support/bytes.js";
import { VirtualNetwork } from "../../../sim/index.js";
import { ESP32_DEVICE_CONFIG, deviceSettings } from "../../../modules/coap/device.js";
import { Endpoint } from "../../../modules/coap/endpoint.js";
import { CoapError } from "../../../modules/coap/errors.js";
import { SecurityContext } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import { PreferenceStore } from "../../../modules/coap/store.js";
import { SENSOR_PORT, SensorApp } from "../../../examples/sensor/app.js";
import { SimulatedSensors } from "../../../examples/sensor/simulated.js";
import { OSCORE_SEQUENCE_KEY, OSCORE_STORE_KEY, provisionSensorOscore, sensorOscoreContext, sensorOscoreSettings } from "../../../examples/sensor/oscore.js";
import { FakePreference, ports, settle } from "./rig.js";

const DEVICE = "10.0.0.2";
const CLIENT = "10.0.0.1";
/** The device's side, as in a manifest's config.sensor.oscore. */
const CONFIG = { "secret_hex": "0102030405060708090a0b0c0d0e0f10", "salt_hex": "9e7ca92223786340", "sender-id_hex": "01", "recipient-id_ascii": "" };

/** The client's side of CONFIG (or of another secret). */
function clientContext(secret = CONFIG.secret_hex): SecurityContext {
	return new SecurityContext({ masterSecret: hex(secret), masterSalt: hex(CONFIG.salt_hex), senderId: hex(""), recipientId: hex("01") }, nobleCrypto);
}

/** One boot of the device as main.ts starts it: provision, derive, serve. */
function boot(net: VirtualNetwork, pref: FakePreference, config: unknown) {
	const store = new PreferenceStore(pref, "xscoap");
	const settings = provisionSensorOscore(store, config);
	const context = settings === null ? null : sensorOscoreContext(settings, nobleCrypto, store);
	const sim = new SimulatedSensors({ now: () => net.clock.now() });
	const app = new SensorApp(sim, net.clock, { oscore: config }, { host: "virtual network", boardDescription: "simulated", requireOscore: context !== null });
	const device = new Endpoint({ ports: ports(net, DEVICE), port: SENSOR_PORT, limits: deviceSettings(ESP32_DEVICE_CONFIG).limits, router: app.router, oscore: context === null ? undefined : { contexts: [context] } });
	app.start();
	return {
		context,
		stop(): void {
			device.close();
			app.close();
		},
	};
}

/** Sends and runs the network (the sampling timer keeps it busy) until settled. */
const send = settle;

function u(path: string): string {
	return "coap://" + DEVICE + path;
}

function storedText(pref: FakePreference, key: string): string {
	const v = pref.values["xscoap/" + key];
	return v instanceof ArrayBuffer ? String.fromCharCode(...new Uint8Array(v)) : "";
}

describe("examples/sensor: OSCORE (config.sensor.oscore, RFC 8613)", function () {
	this.timeout(60000);

	it("reads config.sensor.oscore: aiocoap's settings.json keys, _hex or _ascii; absent means none, false forgets", () => {
		assert.equal(sensorOscoreSettings(undefined), null);
		assert.equal(sensorOscoreSettings(""), null);
		assert.equal(sensorOscoreSettings(false), false);
		assert.equal(sensorOscoreSettings("false"), false);
		const s = sensorOscoreSettings(CONFIG);
		assert.ok(s !== null && s !== false);
		assert.deepEqual(Array.from(s.masterSecret), Array.from(hex(CONFIG.secret_hex)));
		assert.deepEqual(Array.from(s.senderId), [1]);
		assert.equal(s.recipientId.length, 0);
		assert.equal(s.idContext, null);
		const t = sensorOscoreSettings({ "secret_ascii": "hello", "sender-id_ascii": "dev", "recipient-id_ascii": "cli", "id-context_hex": "37cbf3210017a2d3" });
		assert.ok(t !== null && t !== false);
		assert.equal(t.masterSalt, null);
		assert.deepEqual(Array.from(t.idContext!), Array.from(hex("37cbf3210017a2d3")));
	});

	it("a broken config.sensor.oscore is a RangeError naming the key", () => {
		const bad: [unknown, RegExp][] = [
			[{ ...CONFIG, "secret-key_hex": "00" }, /secret-key_hex is not a known setting/],
			[{ "sender-id_hex": "01", "recipient-id_hex": "02" }, /needs secret_hex or secret_ascii/],
			[{ ...CONFIG, "secret_hex": "123" }, /secret_hex: an even number of hex digits/],
			[{ ...CONFIG, "salt_hex": "zz" }, /salt_hex: not hex/],
			[{ ...CONFIG, "secret_ascii": "x" }, /secret is given twice/],
			[{ ...CONFIG, "sender-id_hex": 1 }, /sender-id_hex must be a string/],
			[{ ...CONFIG, "sender-id_hex": "0102030405060708" }, /at most 7 bytes/],
			[{ "secret_hex": "00", "sender-id_hex": "01", "recipient-id_hex": "01" }, /must differ/],
			[[1, 2], /must be an object/],
			[42, /must be an object/],
		];
		for (const [config, message] of bad) {
			assert.throws(() => sensorOscoreSettings(config), RangeError);
			try {
				sensorOscoreSettings(config);
			} catch (e) {
				assert.match((e as Error).message, message);
			}
		}
	});

	it("provisions into the store once: the same config at the next boot writes nothing, an absent one keeps it, false forgets it", () => {
		const pref = new FakePreference();
		const store = new PreferenceStore(pref, "xscoap");
		const first = provisionSensorOscore(store, CONFIG);
		assert.equal(pref.writes, 1);
		assert.ok(pref.values["xscoap/" + OSCORE_STORE_KEY] instanceof ArrayBuffer);
		assert.deepEqual(provisionSensorOscore(store, CONFIG), first, "same config: same settings");
		assert.equal(pref.writes, 1, "no flash write for an unchanged config");
		const kept = provisionSensorOscore(store, undefined);
		assert.ok(kept !== null);
		assert.deepEqual(Array.from(kept.masterSecret), Array.from(first!.masterSecret));
		assert.deepEqual(Array.from(kept.masterSalt!), Array.from(first!.masterSalt!));
		assert.equal(kept.recipientId.length, 0, "an empty ID survives the round trip");
		assert.equal(kept.idContext, null, "an absent ID Context too");
		provisionSensorOscore(store, { ...CONFIG, "secret_hex": "00112233445566778899aabbccddeeff" });
		assert.equal(pref.writes, 2, "a changed config is written");
		assert.equal(provisionSensorOscore(store, false), null);
		assert.equal(provisionSensorOscore(store, undefined), null, "forgotten");
		assert.equal(provisionSensorOscore(new PreferenceStore(new FakePreference()), undefined), null, "nothing provisioned: no OSCORE");
	});

	it("with a context: the LED answers only protected requests (4.01 otherwise), the sensors and discovery stay readable without OSCORE, /device comes block-wise inside it", async () => {
		const net = new VirtualNetwork({ seed: 5 });
		const pref = new FakePreference();
		const dev = boot(net, pref, CONFIG);
		assert.ok(dev.context !== null);
		const plain = new Endpoint({ ports: ports(net, CLIENT) });
		const t = await send(net, plain, { uri: u("/sensors/temperature") });
		assert.equal(t.codeText, "2.05");
		assert.match(t.text(), /^\d+\.\d\d$/);
		assert.equal((await send(net, plain, { uri: u("/actuators/led"), method: "PUT", payload: "1" })).codeText, "4.01");
		assert.equal((await send(net, plain, { uri: u("/actuators/led") })).codeText, "4.01");
		assert.match((await send(net, plain, { uri: u("/.well-known/core") })).text(), /<\/actuators\/led>/);
		plain.close();
		const secure = new Endpoint({ ports: ports(net, CLIENT), oscore: { credentials: { ["coap://" + DEVICE + "/*"]: clientContext() } } });
		const put = await send(net, secure, { uri: u("/actuators/led"), method: "PUT", payload: "1" });
		assert.equal(put.codeText, "2.04");
		assert.equal((await send(net, secure, { uri: u("/actuators/led") })).text(), "1");
		assert.match((await send(net, secure, { uri: u("/sensors/humidity") })).text(), /^\d+\.\d\d$/, "a resource without requireOscore answers inside the protection too");
		const d = JSON.parse((await send(net, secure, { uri: u("/device") })).text()) as { name: string };
		assert.equal(typeof d.name, "string");
		secure.close();
		dev.stop();
	});

	it("a client with the wrong secret gets no answer it could take for the device's: the request fails as an OSCORE error", async () => {
		const net = new VirtualNetwork({ seed: 6 });
		const dev = boot(net, new FakePreference(), CONFIG);
		const wrong = new Endpoint({ ports: ports(net, CLIENT), oscore: { credentials: { ["coap://" + DEVICE + "/*"]: clientContext("00112233445566778899aabbccddeeff") } } });
		let error: unknown;
		try {
			await send(net, wrong, { uri: u("/actuators/led"), method: "PUT", payload: "1" });
		} catch (e) {
			error = e;
		}
		assert.ok(error instanceof CoapError, "rejected: " + String(error));
		assert.equal((error as CoapError).code, "COAP_OSCORE");
		wrong.close();
		dev.stop();
	});

	it("after a reboot without the config, the stored context is used: the sequence number continues above every one used, the first request is answered 4.01 + Echo and repeated by the client", async () => {
		const net = new VirtualNetwork({ seed: 7 });
		const pref = new FakePreference();
		let dev = boot(net, pref, CONFIG);
		const client = new Endpoint({ ports: ports(net, CLIENT), oscore: { credentials: { ["coap://" + DEVICE + "/*"]: clientContext() } } });
		assert.equal((await send(net, client, { uri: u("/actuators/led"), method: "PUT", payload: "on" })).codeText, "2.04");
		const before = Number(storedText(pref, OSCORE_SEQUENCE_KEY));
		assert.ok(before >= 0, "a sequence number is stored: " + storedText(pref, OSCORE_SEQUENCE_KEY));
		dev.stop();
		const writes = pref.writes;
		dev = boot(net, pref, undefined); // a firmware built without config.sensor.oscore
		assert.ok(dev.context !== null, "the provisioned context survived");
		assert.ok(dev.context.sequence.restored, "the device knows it rebooted");
		assert.ok(dev.context.sequence.peek > before, "continues above the stored mark: " + before + " → " + dev.context.sequence.peek);
		assert.equal(pref.writes, writes, "no flash write at boot (the context is not rewritten; the next mark is stored when a number is first used)");
		let sent = 0;
		net.onDatagram = (e) => {
			if (e.kind === "send" && e.fromAddress === CLIENT) sent++;
		};
		const led = await send(net, client, { uri: u("/actuators/led") });
		assert.equal(led.codeText, "2.05");
		assert.equal(led.text(), "0", "the LED starts off after a boot");
		assert.equal(sent, 2, "the GET, answered 4.01 + Echo, and its repeat with the Echo");
		net.onDatagram = undefined;
		assert.equal((await send(net, client, { uri: u("/actuators/led"), method: "PUT", payload: "off" })).codeText, "2.04");
		client.close();
		dev.stop();
		// Forgotten (config "oscore": false): the LED is open again.
		dev = boot(net, pref, false);
		assert.equal(dev.context, null);
		const plain = new Endpoint({ ports: ports(net, CLIENT) });
		assert.equal((await send(net, plain, { uri: u("/actuators/led"), method: "PUT", payload: "1" })).codeText, "2.04");
		plain.close();
		dev.stop();
	});
});
