/**
 * Firmware entry of the sensor example (manifest.json sets `creation.main` to this module):
 * the app's router over the board, served by one endpoint sized by `config.coap`.
 * Not preloaded: this body runs when the device starts (after Wi-Fi is up when the build
 * was given `ssid=`; see manifest_net.json's setup/network in the Moddable SDK).
 */
import config from "mc/config";
import { buildSettings, deviceEndpoint } from "../../hosts/moddable/device.js";
import { sensorRouter, type SensorDeviceConfig } from "./app.js";
import { createBoard } from "./board.js";

const settings = (config.sensor ?? {}) as SensorDeviceConfig;
const { board, description } = createBoard();
const endpoint = deviceEndpoint({
	router: sensorRouter(board, settings),
	onError: (e: unknown) => trace("xscoap sensor: socket error " + String(e) + "\n"),
});
trace("xscoap sensor " + (settings.name ?? "") + ": coap on UDP port " + buildSettings().port + ", " + description + ", " + endpoint.limits.maxMessageSize + "-byte messages\n");
