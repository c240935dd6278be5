/**
 * The sensor device's application: its CoAP resources and its sampling, host-neutral. The same
 * module runs in the ESP32 firmware and the Moddable simulator (main.ts wires it to the board
 * and Moddable's clock), on the Node host (`xscoap device examples/sensor`) and on the virtual
 * network of the tests (virtual clock).
 *
 *   /sensors/temperature  GET: degrees Celsius as text (ct 0), observable: observers hear each
 *                         change of at least `step` and at least once per Max-Age (sampler.ts)
 *   /sensors/humidity     GET: % relative humidity as text (ct 0)
 *   /actuators/led        GET: "1" or "0"; PUT "1"/"on" or "0"/"off" (anything else: 4.00);
 *                         OSCORE only when the device holds a security context (4.01 otherwise)
 *   /device               GET: the device's self-description, JSON (ct 50), larger than one
 *                         block: read with Block2 (RFC 7959)
 *   /device/note          GET/PUT: a free-text note (location, installer's remarks), text/plain,
 *                         up to `noteBytes` bytes, kept in RAM: a longer one arrives with Block1
 *   /.well-known/core     generated from the above (RFC 6690)
 *
 * Hardware comes in as a `SensorBoard`, time as the host's `Clock` port; this module imports no
 * host API. State (LED, note, samples) lives in the SensorApp instance, never at module level
 * (the module is preloaded into flash on Moddable).
 *
 * Features that need the endpoint or their own state plug in beside the app, as modules of
 * their own that main.ts (Moddable) and the Node host start after the endpoint is open, each
 * with its part of the settings: resource-directory registration (`config.sensor.rd`,
 * RFC 9176) and OSCORE (`config.sensor.oscore`, RFC 8613, oscore.ts). SensorApp exposes what
 * they need (`router`, `clock`, `config`, `settings`) and knows nothing of them, except that
 * with a security context the LED is to be switched only under OSCORE (`requireOscore`).
 */
import { CODE_BAD_REQUEST, CODE_CHANGED, CODE_CONTENT, CODE_REQUEST_ENTITY_TOO_LARGE, CODE_SERVICE_UNAVAILABLE, FORMAT_JSON, FORMAT_TEXT } from "../../modules/coap/constants.js";
import { deviceSettings, type CoapDeviceConfig, type DeviceSettings } from "../../modules/coap/device.js";
import type { Clock } from "../../modules/coap/host.js";
import { OPT_SIZE1 } from "../../modules/coap/options.js";
import type { CoapRequest } from "../../modules/coap/server/request.js";
import type { ResponseBuilder } from "../../modules/coap/server/response.js";
import { Router, type Resource } from "../../modules/coap/server/router.js";
import { describeDevice } from "./description.js";
import { SensorSampler } from "./sampler.js";

/** The hardware the application needs. Reads are synchronous; the sampler calls them once per period. */
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
 * `config.sensor` (numbers, or text when given on the mcconfig command line); the Node host
 * from the example's manifest too. Unknown keys are kept and ignored, so features that plug in
 * beside the app (OSCORE contexts, resource-directory registration) add theirs here.
 */
export interface SensorDeviceConfig {
	/** Device name (the endpoint name a resource directory will know it by). */
	readonly name?: string;
	/** Digits after the decimal point in sensor readings (0..6, default 2). */
	readonly decimals?: number | string;
	/** Max-Age of sensor readings in seconds (RFC 7252 §5.10.5), default 5. */
	readonly maxAge?: number | string;
	/** Milliseconds between samples (10..3,600,000), default 1000. */
	readonly sampleMs?: number | string;
	/** Temperature change (°C) that observers hear of at once (0..100; 0: any change), default 0.1. */
	readonly step?: number | string;
	/** Longest note /device/note keeps, in bytes (0..4096), default 256. */
	readonly noteBytes?: number | string;
	/** CoAP settings: port and limits, as the root manifest's `config.coap`. */
	readonly coap?: CoapDeviceConfig;
	/** OSCORE (RFC 8613) settings, for the module that adds OSCORE. */
	readonly oscore?: unknown;
	/** Resource-directory registration (RFC 9176) settings, for the module that registers. */
	readonly rd?: unknown;
	readonly [extension: string]: unknown;
}

/** The settings above, checked and converted. */
export interface SensorSettings {
	readonly name: string;
	readonly decimals: number;
	readonly maxAge: number;
	readonly sampleMs: number;
	readonly step: number;
	readonly noteBytes: number;
}

/** Default UDP port of the example (RFC 7252 §6.1). */
export const SENSOR_PORT = 5683;

/** SenML units (RFC 8428 §12.1) of the readings, for the description. */
const UNITS = Object.freeze({ "/sensors/temperature": "Cel", "/sensors/humidity": "%RH" });

/**
 * Checks and converts `config` (absent fields take the defaults).
 * @throws RangeError naming the first bad field (local misuse).
 */
export function sensorSettings(config: SensorDeviceConfig = {}): SensorSettings {
	const decimals = number(config.decimals, 2);
	if (!(Number.isInteger(decimals) && decimals >= 0 && decimals <= 6)) throw new RangeError("decimals must be 0..6, got " + String(config.decimals));
	const maxAge = number(config.maxAge, 5);
	if (!(Number.isInteger(maxAge) && maxAge >= 0)) throw new RangeError("maxAge must be a whole number of seconds, got " + String(config.maxAge));
	const sampleMs = number(config.sampleMs, 1000);
	if (!(Number.isInteger(sampleMs) && sampleMs >= 10 && sampleMs <= 3600000)) throw new RangeError("sampleMs must be a whole number of milliseconds in 10..3600000, got " + String(config.sampleMs));
	const step = number(config.step, 0.1);
	if (!(step >= 0 && step <= 100)) throw new RangeError("step must be 0..100 (degrees Celsius), got " + String(config.step));
	const noteBytes = number(config.noteBytes, 256);
	if (!(Number.isInteger(noteBytes) && noteBytes >= 0 && noteBytes <= 4096)) throw new RangeError("noteBytes must be 0..4096, got " + String(config.noteBytes));
	const name = config.name === undefined ? "xscoap-sensor" : String(config.name);
	return { name, decimals, maxAge, sampleMs, step, noteBytes };
}

function number(value: unknown, fallback: number): number {
	if (value === undefined || value === "") return fallback;
	return typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
}

/** Parses an LED PUT payload: 1 for "1"/"on", 0 for "0"/"off" (ASCII case-insensitive, surrounding whitespace ignored), -1 otherwise. */
export function parseLed(text: string): number {
	const t = text.trim().toLowerCase();
	if (t === "1" || t === "on") return 1;
	if (t === "0" || t === "off") return 0;
	return -1;
}

export interface SensorAppOptions {
	/** Where the app runs, for the description ("Moddable XS", "Node.js", ...). */
	readonly host?: string;
	/** What the board is, for the description. */
	readonly boardDescription?: string;
	/** The endpoint's port and limits, for the description; by default read from `config.coap`. */
	readonly device?: DeviceSettings;
	/**
	 * `/actuators/led` answers only requests protected with OSCORE (RFC 8613; unprotected ones
	 * get 4.01) — set when the endpoint holds a security context (oscore.ts, `config.sensor.oscore`).
	 * The sensors, /device and /.well-known/core stay readable without it. Default false.
	 */
	readonly requireOscore?: boolean;
}

/** The sensor application: resources over a board, sampled on the host's clock. */
export class SensorApp {
	readonly router: Router;
	readonly sampler: SensorSampler;
	readonly temperature: Resource;
	readonly clock: Clock;
	readonly config: SensorDeviceConfig;
	readonly settings: SensorSettings;
	/** The /device text (constant while the app runs). */
	readonly description: string;
	readonly #board: SensorBoard;
	#led = false;
	readonly #note: Uint8Array;
	#noteLength = 0;

	/**
	 * Builds the resources and takes a first sample; `start()` begins periodic sampling. The LED
	 * starts off (and is driven off once, so the board and the resource agree from the start).
	 * @throws RangeError for bad settings (see sensorSettings, and deviceSettings for config.coap).
	 */
	constructor(board: SensorBoard, clock: Clock, config: SensorDeviceConfig = {}, options: SensorAppOptions = {}) {
		if (!board || typeof board.readTemperature !== "function") throw new TypeError("SensorApp needs a SensorBoard");
		const s = sensorSettings(config);
		const coap = options.device ?? deviceSettings(config.coap);
		this.#board = board;
		this.clock = clock;
		this.config = config;
		this.settings = s;
		this.#note = new Uint8Array(s.noteBytes);
		board.writeLed(false);
		const router = (this.router = new Router());
		const app = this;
		this.temperature = router.add("/sensors/temperature", {
			rt: "temperature-c",
			if: "core.s",
			ct: FORMAT_TEXT,
			obs: true,
			title: "Temperature (degrees Celsius)",
			get(_req, res) {
				app.#reading(app.sampler.temperature, res);
			},
		});
		router.add("/sensors/humidity", {
			rt: "humidity-rh",
			if: "core.s",
			ct: FORMAT_TEXT,
			title: "Relative humidity (%)",
			get(_req, res) {
				app.#reading(app.sampler.humidity, res);
			},
		});
		router.add("/actuators/led", {
			rt: "light-switch",
			if: "core.a",
			ct: FORMAT_TEXT,
			title: "LED: 1 (on) or 0 (off)",
			requireOscore: options.requireOscore === true,
			get(_req, res) {
				res.send(CODE_CONTENT, app.#led ? "1" : "0", FORMAT_TEXT);
			},
			put(req: CoapRequest, res: ResponseBuilder) {
				app.#putLed(req, res);
			},
		});
		router.add("/device", {
			rt: "xscoap.device",
			ct: FORMAT_JSON,
			title: "Device description (JSON)",
			get(_req, res) {
				res.send(CODE_CONTENT, app.description, FORMAT_JSON);
			},
		});
		router.add("/device/note", {
			rt: "xscoap.note",
			ct: FORMAT_TEXT,
			title: "Note: text of up to " + s.noteBytes + " bytes",
			get(_req, res) {
				res.send(CODE_CONTENT, app.#note.subarray(0, app.#noteLength), FORMAT_TEXT);
			},
			put(req: CoapRequest, res: ResponseBuilder) {
				app.#putNote(req, res);
			},
		});
		// The resource's own changed() is the callback: observers are told with no extra frame.
		const temperature = this.temperature;
		this.sampler = new SensorSampler(board, clock, s, temperature.changed, temperature);
		this.description = describeDevice(router, {
			name: s.name,
			host: options.host ?? "an unnamed host",
			board: options.boardDescription ?? "unnamed board",
			sampleMs: s.sampleMs,
			step: s.step,
			maxAge: s.maxAge,
			decimals: s.decimals,
			noteBytes: s.noteBytes,
			port: coap.port,
			limits: coap.limits,
			units: UNITS,
		});
	}

	/** Starts periodic sampling (and so the notifications). */
	start(): void {
		this.sampler.start();
	}

	/** Stops sampling. The resources keep answering with the last sample. */
	close(): void {
		this.sampler.close();
	}

	/** The LED as the resource reports it. */
	get led(): boolean {
		return this.#led;
	}

	#reading(value: number, res: ResponseBuilder): void {
		if (value !== value) {
			// NaN: the sensor did not answer. RFC 7252 §5.9.3.4: 5.03 with Max-Age says when to retry.
			res.send(CODE_SERVICE_UNAVAILABLE, "sensor not ready", FORMAT_TEXT);
			res.maxAge = 1;
			return;
		}
		res.send(CODE_CONTENT, value.toFixed(this.settings.decimals), FORMAT_TEXT);
		res.maxAge = this.settings.maxAge;
	}

	#putLed(req: CoapRequest, res: ResponseBuilder): void {
		const cf = req.contentFormat;
		const value = cf === -1 || cf === FORMAT_TEXT ? parseLed(req.text()) : -1;
		if (value < 0) {
			// RFC 7252 §5.9.2.1: 4.00 Bad Request, with a diagnostic payload (§5.5.2).
			res.send(CODE_BAD_REQUEST, "send 0, 1, on or off as text/plain", FORMAT_TEXT);
			return;
		}
		this.#led = value === 1;
		this.#board.writeLed(this.#led);
		res.send(CODE_CHANGED); // §5.8.3: 2.04 Changed
	}

	#putNote(req: CoapRequest, res: ResponseBuilder): void {
		const cf = req.contentFormat;
		if (cf !== -1 && cf !== FORMAT_TEXT) {
			res.send(CODE_BAD_REQUEST, "send the note as text/plain", FORMAT_TEXT);
			return;
		}
		const body = req.payload;
		if (body.length > this.#note.length) {
			// RFC 7252 §5.9.2.9 and RFC 7959 §2.9.3: 4.13 with Size1, the largest size accepted.
			res.send(CODE_REQUEST_ENTITY_TOO_LARGE, "a note holds up to " + this.#note.length + " bytes", FORMAT_TEXT);
			res.option(OPT_SIZE1, this.#note.length);
			return;
		}
		this.#note.set(body);
		this.#noteLength = body.length;
		res.send(CODE_CHANGED);
	}
}
