/**
 * Firmware entry of the sensor example (manifest.json sets `creation.main` to this module):
 * the app over the board, sampled on the device clock, served by one endpoint sized by
 * `config.coap`. Not preloaded: this body runs when the device starts (after Wi-Fi is up when
 * the build was given `ssid=`; manifest_net.json's setup/network in the Moddable SDK).
 * With `config.sensor.rd` (or `rd=coap://...` on the mcconfig command line) the device keeps
 * itself registered with a resource directory (rd.ts, RFC 9176).
 *
 * `mcconfig ... startDelayMs=3000` (a debugging aid) starts the device that much later, so
 * that a debugger attached at boot (xsbug, xsbug-log) can set breakpoints in the start-up
 * below first; npm run firmware's heap census uses it.
 *
 * Features that need the open endpoint start below it, each from its own module and its own
 * part of `config.sensor` (resource-directory registration: `rd`). OSCORE (`oscore`, oscore.ts)
 * comes before it: `config.sensor.oscore` is provisioned into the Preference store (domain
 * "xscoap"), and a context found there is the endpoint's, with the crypto of the SDK's `crypt`
 * module (native AES and SHA-256) and its sequence number kept in the same store; the LED then
 * answers only protected requests.
 */
import config from "mc/config";
import Timer from "timer";
import { buildSettings, deviceEndpoint, devicePorts } from "../../hosts/moddable/device.js";
import { SensorApp, type SensorDeviceConfig } from "./app.js";
import { moddableCrypto } from "../../hosts/moddable/oscore-crypto.js";
import { preferenceStore } from "../../hosts/moddable/store.js";
import { createBoard } from "./board.js";
import { provisionSensorOscore, sensorOscoreContext } from "./oscore.js";
import { sensorRdSettings, startSensorRd } from "./rd.js";

function start(): void {
	const settings = (config.sensor ?? {}) as SensorDeviceConfig;
	const device = buildSettings();
	const ports = devicePorts();
	const { board, description } = createBoard(ports.clock);
	const store = preferenceStore();
	const oscore = provisionSensorOscore(store, settings.oscore);
	const context = oscore === null ? null : sensorOscoreContext(oscore, moddableCrypto, store);
	const app = new SensorApp(board, ports.clock, settings, { host: "Moddable XS", boardDescription: description, device, requireOscore: context !== null });
	const endpoint = deviceEndpoint({
		ports,
		router: app.router,
		onError: (e: unknown) => trace("xscoap sensor: socket error " + String(e) + "\n"),
		oscore: context === null ? undefined : { contexts: [context] },
	});
	app.start();
	trace("xscoap sensor " + app.settings.name + ": coap on UDP port " + device.port + ", " + description + ", " + endpoint.limits.maxMessageSize + "-byte messages, sampling every " + app.settings.sampleMs + " ms\n");
	if (context !== null) trace("xscoap sensor: OSCORE context from the store (" + (settings.oscore === undefined ? "provisioned earlier" : "config.sensor.oscore") + "), sender ID " + hex(context.senderId) + ", recipient ID " + hex(context.recipientId) + ", sequence number from " + context.sequence.peek + (context.sequence.restored ? " (restored: replay window recovered with Echo, RFC 8613 B.1.2)" : "") + "; /actuators/led requires OSCORE\n");
	const rd = sensorRdSettings(settings.rd, app.settings.name, (config as { rd?: unknown }).rd);
	if (rd !== null) {
		startSensorRd({ endpoint, clock: ports.clock, router: app.router, settings: rd, random: ports.random, onEvent: (e) => trace("xscoap sensor: rd " + e.kind + " " + e.location + " " + e.detail + "\n") });
	}
}

function hex(b: Uint8Array): string {
	let s = "";
	for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s === "" ? "(empty)" : s;
}

const delay = Number(config.startDelayMs ?? 0);
if (delay > 0) {
	trace("xscoap sensor: starting in " + delay + " ms\n");
	Timer.set(start, delay);
} else start();
