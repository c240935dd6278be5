/**
 * The sensor device's application: its CoAP resources, host-neutral. The same module runs in
 * the ESP32 firmware and the Moddable simulator (main.ts wires it to the board), on the Node
 * host (`xscoap device examples/sensor`) and in the virtual network of the tests.
 *
 *   /sensors/temperature  GET: degrees Celsius as text (ct 0), observable (`obs`)
 *   /sensors/humidity     GET: % relative humidity as text (ct 0)
 *   /actuators/led        GET: "1" or "0"; PUT "1"/"on" or "0"/"off" (anything else: 4.00)
 *   /.well-known/core     generated from the above (RFC 6690)
 *
 * Hardware comes in as a `SensorBoard`; this module imports no host API. State (the LED)
 * lives in the router built by `sensorRouter`, never at module level (the module is
 * preloaded into flash on Moddable).
 * Leaves out: Observe notifications (the `obs` attribute is advertised; notifications come
 * with Observe support, issue 3), OSCORE and resource-directory registration (later work:
 * SensorDeviceConfig keeps room for their settings).
 */
import { CODE_BAD_REQUEST, CODE_CHANGED, CODE_CONTENT, CODE_SERVICE_UNAVAILABLE, FORMAT_TEXT } from "../../modules/coap/constants.js";
import type { CoapDeviceConfig } from "../../modules/coap/device.js";
import type { CoapRequest } from "../../modules/coap/server/request.js";
import type { ResponseBuilder } from "../../modules/coap/server/response.js";
import { Router } from "../../modules/coap/server/router.js";

/** The hardware the application needs. Reads are synchronous and cheap (cached by the board if slow). */
export interface SensorBoard {
	/** Temperature in °C, or NaN when the sensor cannot be read now. */
	readTemperature(): number;
	/** Relative humidity in %, or NaN when the sensor cannot be read now. */
	readHumidity(): number;
	/** Lights (true) or darkens (false) the LED. */
	writeLed(on: boolean): void;
}

/**
 * Settings of the sensor device. The Moddable build takes them from the manifest's
 * `config.sensor`; the Node host from the command line. Unknown keys are kept and ignored,
 * so later features (OSCORE contexts, resource-directory registration) add theirs here.
 */
export interface SensorDeviceConfig {
	/** Device name (the endpoint name a resource directory will know it by). */
	readonly name?: string;
	/** Digits after the decimal point in sensor readings (0..6, default 2). */
	readonly decimals?: number | string;
	/** Max-Age of sensor readings in seconds (RFC 7252 §5.10.5), default 5. */
	readonly maxAge?: number | string;
	/** CoAP settings: port and limits, as the root manifest's `config.coap`. */
	readonly coap?: CoapDeviceConfig;
	/** Reserved for OSCORE (RFC 8613) settings. */
	readonly oscore?: unknown;
	/** Reserved for resource-directory registration (RFC 9176). */
	readonly rd?: unknown;
	readonly [extension: string]: unknown;
}

/** Default UDP port of the example (RFC 7252 §6.1). */
export const SENSOR_PORT = 5683;

/** Parses an LED PUT payload: 1 for "1"/"on", 0 for "0"/"off" (ASCII case-insensitive, surrounding whitespace ignored), -1 otherwise. */
export function parseLed(text: string): number {
	const t = text.trim().toLowerCase();
	if (t === "1" || t === "on") return 1;
	if (t === "0" || t === "off") return 0;
	return -1;
}

/**
 * Builds the device's Router over `board`. The LED starts off (and is driven off once, so the
 * board and the resource agree from the start).
 * @throws RangeError for decimals outside 0..6 or a negative maxAge (local misuse).
 */
export function sensorRouter(board: SensorBoard, config: SensorDeviceConfig = {}): Router {
	const decimals = config.decimals === undefined ? 2 : Number(config.decimals);
	if (!(Number.isInteger(decimals) && decimals >= 0 && decimals <= 6)) throw new RangeError("decimals must be 0..6, got " + String(config.decimals));
	const maxAge = config.maxAge === undefined ? 5 : Number(config.maxAge);
	if (!(Number.isInteger(maxAge) && maxAge >= 0)) throw new RangeError("maxAge must be a whole number of seconds, got " + String(config.maxAge));
	const router = new Router();
	let led = false;
	board.writeLed(false);

	const reading = (value: number, res: ResponseBuilder): void => {
		if (value !== value) {
			// NaN: the sensor did not answer. RFC 7252 §5.9.3.4: 5.03 with Max-Age says when to retry.
			res.send(CODE_SERVICE_UNAVAILABLE, "sensor not ready", FORMAT_TEXT);
			res.maxAge = 1;
			return;
		}
		res.send(CODE_CONTENT, value.toFixed(decimals), FORMAT_TEXT);
		res.maxAge = maxAge;
	};
	router.add("/sensors/temperature", {
		rt: "temperature-c",
		if: "core.s",
		ct: FORMAT_TEXT,
		obs: true,
		title: "Temperature (degrees Celsius)",
		get(_req, res) {
			reading(board.readTemperature(), res);
		},
	});
	router.add("/sensors/humidity", {
		rt: "humidity-rh",
		if: "core.s",
		ct: FORMAT_TEXT,
		title: "Relative humidity (%)",
		get(_req, res) {
			reading(board.readHumidity(), res);
		},
	});
	router.add("/actuators/led", {
		rt: "light-switch",
		if: "core.a",
		ct: FORMAT_TEXT,
		title: "LED: 1 (on) or 0 (off)",
		get(_req, res) {
			res.send(CODE_CONTENT, led ? "1" : "0", FORMAT_TEXT);
		},
		put(req: CoapRequest, res: ResponseBuilder) {
			const cf = req.contentFormat;
			const value = cf === -1 || cf === FORMAT_TEXT ? parseLed(req.text()) : -1;
			if (value < 0) {
				// RFC 7252 §5.9.2.1: 4.00 Bad Request, with a diagnostic payload (§5.5.2).
				res.send(CODE_BAD_REQUEST, "send 0, 1, on or off as text/plain", FORMAT_TEXT);
				return;
			}
			led = value === 1;
			board.writeLed(led);
			res.send(CODE_CHANGED); // §5.8.3: 2.04 Changed
		},
	});
	return router;
}
