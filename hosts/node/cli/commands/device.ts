/**
 * `xscoap device DIR`: a firmware example's host-neutral application (e.g. examples/sensor) on
 * the Node host, with simulated hardware and the limits of the example's manifest
 * (`config.coap`, merged over its includes as mcconfig merges them), until SIGINT or SIGTERM.
 * The device's Preference store is a directory here (`--state DIR`, a FileStore): the sensor's
 * `config.sensor.oscore` is provisioned into it as on the device (examples/sensor/oscore.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { deviceSettings, type CoapDeviceConfig, type DeviceSettings } from "../../../../modules/coap/device.js";
import type { Clock } from "../../../../modules/coap/host.js";
import type { SecurityContext } from "../../../../modules/coap/oscore/context.js";
import type { Router } from "../../../../modules/coap/server/router.js";
import type { Store } from "../../../../modules/coap/store.js";
import { SensorApp, type SensorDeviceConfig } from "../../../../examples/sensor/app.js";
import { provisionSensorOscore, sensorOscoreContext } from "../../../../examples/sensor/oscore.js";
import { SimulatedSensors } from "../../../../examples/sensor/simulated.js";
import { NodeClock } from "../../clock.js";
import { type Args, type Command, EXIT_NO_RESPONSE, UsageError } from "../command.js";
import { PLUGTEST_CRYPTO, stateStore } from "../plugtest.js";
import { SERVER_OPTIONS, bindOf, listeningUri, openServer, runUntilSignal } from "../server.js";

/** A firmware example the Node host can run: its host-neutral app over simulated hardware. */
interface DeviceApp {
	/** Key of the app's settings in the manifest's `config` (mc/config on the device). */
	readonly configKey: string;
	/**
	 * The app over simulated hardware, its timers on `clock`; `start()` runs once the endpoint
	 * is open (the sensor app's sampling), `close()` at exit. `store` is the device's store
	 * (`--state`), or null when the app needs none (`needsStore`). A security context it returns
	 * is the endpoint's.
	 * @throws RangeError for bad settings in the manifest's config.
	 */
	build(config: Record<string, unknown>, out: NodeJS.WritableStream, clock: Clock, device: DeviceSettings, store: Store | null): { router: Router; hardware: string; start(): void; close(): void; context: SecurityContext | null };
	/** Whether the app keeps state in the device's store with this config (opened then even without --state). */
	needsStore(config: Record<string, unknown>): boolean;
}

/** Examples by directory name. */
const DEVICE_APPS: Readonly<Record<string, DeviceApp>> = Object.freeze({
	sensor: Object.freeze({
		configKey: "sensor",
		build(config: Record<string, unknown>, out: NodeJS.WritableStream, clock: Clock, device: DeviceSettings, store: Store | null) {
			const board = new SimulatedSensors({ now: () => clock.now(), onLed: (on: boolean) => out.write("LED " + (on ? "on" : "off") + "\n") });
			// As main.ts on the device: config.sensor.oscore provisioned into the store, a stored context used.
			const oscore = store === null ? null : provisionSensorOscore(store, config.oscore);
			const context = oscore === null || store === null ? null : sensorOscoreContext(oscore, PLUGTEST_CRYPTO, store);
			const hardware = "simulated temperature and humidity, LED on the console" + (context === null ? "" : "; OSCORE: /actuators/led requires it");
			const app = new SensorApp(board, clock, config as SensorDeviceConfig, { host: "Node.js", boardDescription: hardware, device, requireOscore: context !== null });
			return { router: app.router, hardware, start: () => app.start(), close: () => app.close(), context };
		},
		needsStore: (config: Record<string, unknown>) => config.oscore !== undefined,
	}),
});

const DEVICE_STATE_OPTION = Object.freeze({
	names: ["--state"],
	value: "DIR",
	help: "the device's store (its Preference store on Moddable): OSCORE context and sequence number (default $XDG_STATE_HOME/xscoap/device-NAME, else ~/.local/state/xscoap/device-NAME)",
});

/** The device's store: `--state DIR`, or the default directory when the app needs one; else null. */
function deviceStore(args: Args, needed: boolean, name: string): Store | null {
	if (args.value("--state") === undefined && !needed) return null;
	return stateStore(args, "device-" + name);
}

/** The package's own examples/ directory (beside build/ in a checkout and in the installed package). */
const PACKAGE_EXAMPLES = fileURLToPath(new URL("../../../../../examples/", import.meta.url));

/**
 * The `config` a Moddable build of manifest `path` would see: the manifest's and its local
 * includes' `config` objects merged as mcconfig merges them (included first, nested objects
 * merged key by key). Includes under $(MODDABLE) are skipped: they carry no xscoap settings.
 */
function manifestConfig(path: string, seen: Set<string> = new Set()): Record<string, unknown> {
	const config: Record<string, unknown> = {};
	if (seen.has(path)) return config;
	seen.add(path);
	let manifest: { include?: string | string[]; config?: Record<string, unknown> };
	try {
		manifest = JSON.parse(readFileSync(path, "utf8")) as typeof manifest;
	} catch (e) {
		throw new UsageError("cannot read " + path + ": " + (e as Error).message);
	}
	const includes = manifest.include === undefined ? [] : typeof manifest.include === "string" ? [manifest.include] : manifest.include;
	for (const inc of includes) if (!inc.startsWith("$(")) mergeConfig(config, manifestConfig(resolvePath(dirname(path), inc), seen));
	mergeConfig(config, manifest.config ?? {});
	return config;
}

function mergeConfig(target: Record<string, unknown>, source: Record<string, unknown>): void {
	for (const k of Object.keys(source)) {
		const t = target[k];
		const v = source[k];
		if (t && v && typeof t === "object" && typeof v === "object" && !Array.isArray(t) && !Array.isArray(v)) mergeConfig(t as Record<string, unknown>, v as Record<string, unknown>);
		else target[k] = v;
	}
}

/**
 * The example directory `dir` names: a directory holding a manifest.json, or else the package's
 * own examples/NAME (so `npx xscoap device examples/sensor` works from any project).
 */
function exampleDir(dir: string): string {
	const own = resolvePath(dir);
	if (existsSync(resolvePath(own, "manifest.json"))) return own;
	const packaged = resolvePath(PACKAGE_EXAMPLES, basename(own));
	if (existsSync(resolvePath(packaged, "manifest.json"))) return packaged;
	return own;
}

export const deviceCommand: Command = Object.freeze<Command>({
	names: ["device"],
	synopsis: "DIR [--bind HOST:PORT] [--state DIR]",
	summary: "run a firmware example (e.g. examples/sensor) on this host with simulated hardware",
	description:
		"Runs the firmware example in DIR (examples/sensor: also found in the installed package when DIR does not exist here) with simulated sensors and the LED on the console, with the limits of the example's manifest config.coap, so it behaves like the ESP32 build. Known examples: " +
		Object.keys(DEVICE_APPS).map((n) => "examples/" + n).join(", ") +
		". Stops on Ctrl-C (SIGINT) or SIGTERM with exit status 0.\n\n" +
		"--state DIR stands for the device's Preference store: examples/sensor provisions config.sensor.oscore (OSCORE, RFC 8613) into it and keeps its sequence number there, as the firmware does; a context found there protects /actuators/led (4.01 without OSCORE). Opened when given, or when the manifest has config.sensor.oscore.",
	options: [...SERVER_OPTIONS, DEVICE_STATE_OPTION],
	helpSections: ["exit"],
	async run(args) {
		const dir = args.positional[0];
		if (dir === undefined || args.positional.length > 1) throw new UsageError("device takes one example directory, e.g. examples/sensor");
		const where = exampleDir(dir);
		const name = basename(where);
		const app = DEVICE_APPS[name];
		const manifestPath = resolvePath(where, "manifest.json");
		if (app === undefined || !existsSync(manifestPath)) {
			throw new UsageError("no device example in " + dir + " (known: " + Object.keys(DEVICE_APPS).map((n) => "examples/" + n).join(", ") + ")");
		}
		const config = manifestConfig(manifestPath);
		let settings;
		try {
			settings = deviceSettings(config.coap as CoapDeviceConfig | undefined);
		} catch (e) {
			throw new UsageError(manifestPath + ": " + (e as Error).message);
		}
		const { address, port } = bindOf(args, settings.port);
		const appConfig = (config[app.configKey] ?? {}) as Record<string, unknown>;
		const store = deviceStore(args, app.needsStore(appConfig), name);
		let built;
		try {
			built = app.build(appConfig, process.stdout, new NodeClock(), { ...settings, port }, store);
		} catch (e) {
			throw new UsageError(manifestPath + ": " + (e as Error).message);
		}
		// The firmware's limits (config.coap), so the desktop device behaves like the ESP32 one.
		const ep = await openServer(address, port, args, { router: built.router, limits: settings.limits, oscore: built.context === null ? undefined : { contexts: [built.context] } });
		if (ep === undefined) return EXIT_NO_RESPONSE;
		built.start(); // the app's own timers (the sensor's sampling) once it can be reached
		const paths = built.router.resources.map((r) => r.path).join(" ");
		process.stdout.write("xscoap device " + name + " listening on " + listeningUri(address, ep) + " (" + built.hardware + "; resources: " + paths + " /.well-known/core)\n");
		return runUntilSignal(() => {
			built.close();
			ep.close();
		});
	},
});
