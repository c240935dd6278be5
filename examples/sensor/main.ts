/**
 * Firmware entry of the sensor example (manifest.json sets `creation.main` to this module):
 * the app's router over the board, served by one endpoint sized by `config.coap`.
 * Not preloaded: this body runs when the device starts (after Wi-Fi is up when the build
 * was given `ssid=`; see manifest_net.json's setup/network in the Moddable SDK).
 * With `config.sensor.rd` (or `rd=coap://...` on the mcconfig command line) the device keeps
 * itself registered with a resource directory (rd.ts, RFC 9176).
 */
import config from "mc/config";
import { buildSettings, deviceEndpoint } from "../../hosts/moddable/device.js";
import { sensorRouter, type SensorDeviceConfig } from "./app.js";
import { createBoard } from "./board.js";
import { ModdableClock } from "../../hosts/moddable/clock.js";
import { deviceRandom } from "../../hosts/moddable/random.js";
import { sensorRdSettings, startSensorRd } from "./rd.js";

const settings = (config.sensor ?? {}) as SensorDeviceConfig;
const { board, description } = createBoard();
const router = sensorRouter(board, settings);
const endpoint = deviceEndpoint({
	router,
	onError: (e: unknown) => trace("xscoap sensor: socket error " + String(e) + "\n"),
});
trace("xscoap sensor " + (settings.name ?? "") + ": coap on UDP port " + buildSettings().port + ", " + description + ", " + endpoint.limits.maxMessageSize + "-byte messages\n");
const rd = sensorRdSettings(settings.rd, String(settings.name ?? "xscoap-sensor"), (config as { rd?: unknown }).rd);
if (rd !== null) {
	startSensorRd({ endpoint, clock: new ModdableClock(), router, settings: rd, random: deviceRandom, onEvent: (e) => trace("xscoap sensor: rd " + e.kind + " " + e.location + " " + e.detail + "\n") });
}
