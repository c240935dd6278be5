/**
 * A shard of the simulated fleet: a range of devices in one thread (the main one, or a
 * worker of `xscoap sim --workers W`) and the observer that watches them.
 *
 * Each device is the sensor example (example.ts) on the Node host: its own Endpoint on its own
 * loopback UDP port with the example's ESP32 limits (config.coap), simulated sensors whose
 * means and phase come from the fleet seed, its link impaired by the simulator's model when
 * asked (impaired-udp.ts), and registration with the directory through the example's RD module
 * (examples/sensor/rd.ts). The observer is one client Endpoint that observes every device's
 * temperature (RFC 7641) and passes the values on in batches.
 *
 * With OSCORE (`config.oscore`, keys from oscore.ts): each device holds the client's context
 * (provisioned the firmware's way, example.ts) and the observer's, and the observer observes
 * inside OSCORE (RFC 8613 §4.1.3.5: Observe, protected notifications), so the live view shows
 * values only when protected notifications work. Registration with the directory stays plain:
 * the device's contexts name no URI, so its own requests go out unprotected.
 *
 * Start-up fails as a whole: if any socket cannot be bound, everything bound so far is closed
 * and the error names the port. `stop()` removes every registration (bounded in time), then
 * closes everything; nothing is left running.
 */
import { webcrypto } from "node:crypto";
import { Endpoint } from "../../modules/coap/endpoint.js";
import type { Ports, UdpConstructor } from "../../modules/coap/host.js";
import { deviceSettings } from "../../modules/coap/device.js";
import type { Observation } from "../../modules/coap/client/observation.js";
import type { RdClient, RdEvent } from "../../modules/coap/rd/client.js";
import { nobleCrypto } from "../../modules/coap/oscore/noble.js";
import type { SecurityContext } from "../../modules/coap/oscore/context.js";
import { NodeClock } from "../../hosts/node/clock.js";
import { NodeUdp } from "../../hosts/node/udp.js";
import { SimulatedSensors, TEMPERATURE_PERIOD_MS } from "../../examples/sensor/simulated.js";
import { sensorRdSettings, startSensorRd } from "../../examples/sensor/rd.js";
import type { LinkConditions } from "../impairment.js";
import { Prng, deriveSeed } from "../prng.js";
import { buildSensorApp, sensorExampleConfig, sensorOscore, type SensorDeviceApp } from "./example.js";
import { impairedUdpClass } from "./impaired-udp.js";
import { deviceOscoreConfig, memoryContext, type DeviceOscoreKeys } from "./oscore.js";

/** What a shard runs (plain data: it crosses to worker threads). */
export interface ShardConfig {
	/** Index of the shard's first device in the fleet, and how many it runs. */
	readonly first: number;
	readonly count: number;
	/** Devices in the whole fleet (for name widths). */
	readonly total: number;
	/** Loopback address the devices bind. */
	readonly address: string;
	/** Device i (0-based in the fleet) listens on basePort + 1 + i. */
	readonly basePort: number;
	/** The directory to register with (a numeric coap:// URI), or null for none. */
	readonly rd: string | null;
	/** Registration lifetime, s. */
	readonly lifetime: number;
	/** Link impairment, or null for a clean link. */
	readonly conditions: LinkConditions | null;
	readonly seed: number;
	/** Observe every device's temperature. */
	readonly observe: boolean;
	/** Milliseconds between a device's notifications. */
	readonly sampleMs: number;
	/** How long values are collected before a batch goes out, ms. */
	readonly batchMs: number;
	/** OSCORE keys of the shard's devices, in order (oscore.ts), or null for plain CoAP. */
	readonly oscore?: readonly DeviceOscoreKeys[] | null;
}

/** A device as the fleet lists it. */
export interface DeviceInfo {
	readonly index: number;
	readonly name: string;
	readonly port: number;
	readonly uri: string;
	readonly resources: readonly string[];
}

/** What a shard reports. */
export interface ShardEvents {
	/** A device's registration was accepted (first time or again), or failed/was lost (location ""). */
	registration(index: number, location: string, registered: boolean, detail: string): void;
	/** Values observed since the last batch, in order: [device index, text] pairs flattened. */
	values(batch: (number | string)[]): void;
}

/** A start-up failure (a busy port, ...), with the port when one is to blame. */
export class ShardStartError extends Error {
	readonly port: number;
	readonly code: string;
	constructor(message: string, port: number, code: string) {
		super(message);
		this.port = port;
		this.code = code;
	}
	override get name(): string {
		return "ShardStartError";
	}
}

/** Devices one observer endpoint watches. */
const OBSERVER_SHARE = 500;
/** ... with OSCORE: one security context per device, and an endpoint holds at most 256 (tuning.ts). */
const OSCORE_OBSERVER_SHARE = 250;

/** Devices started together, and the pause between groups (see Shard.start). */
const START_GROUP = 25;
const START_GAP_MS = 20;

/** Name of device `index` of a fleet of `total`: sensor-001 ... */
export function deviceName(index: number, total: number): string {
	return "sensor-" + String(index + 1).padStart(Math.max(3, String(total).length), "0");
}

interface Device {
	readonly info: DeviceInfo;
	readonly endpoint: Endpoint;
	readonly app: SensorDeviceApp;
	rd: RdClient | null;
	observation: Observation | null;
	/** The device's side of the observer's security context (OSCORE), else null. */
	readonly observerContext: SecurityContext | null;
}

export class Shard {
	readonly config: ShardConfig;
	readonly devices: DeviceInfo[] = [];
	readonly #events: ShardEvents;
	readonly #devices: Device[] = [];
	readonly #clock = new NodeClock();
	/** Observer endpoints, each watching up to #share devices (device k: observers[k / #share]). */
	readonly #observers: Endpoint[] = [];
	readonly #share: number;
	#batch: (number | string)[] = [];
	#batchTimer: ReturnType<typeof setTimeout> | undefined;
	#stopped = false;

	constructor(config: ShardConfig, events: ShardEvents) {
		this.config = config;
		this.#events = events;
		const keys = config.oscore ?? null;
		if (keys !== null && keys.length !== config.count) throw new RangeError("OSCORE keys for " + keys.length + " devices, the shard runs " + config.count);
		this.#share = keys !== null ? OSCORE_OBSERVER_SHARE : OBSERVER_SHARE;
	}

	/**
	 * Binds every device (and the observer), starts them, their registrations and the
	 * observations. @throws ShardStartError after closing whatever was bound.
	 */
	async start(): Promise<void> {
		const c = this.config;
		const example = sensorExampleConfig();
		const settings = deviceSettings(example.coap);
		const startedAt = this.#clock.now();
		try {
			// Every device's socket binds at once; the first failure (in device order) is reported.
			const opening: Promise<Endpoint>[] = [];
			const apps: SensorDeviceApp[] = [];
			const observerContexts: (SecurityContext | null)[] = [];
			for (let k = 0; k < c.count; k++) {
				const index = c.first + k;
				const name = deviceName(index, c.total);
				const port = c.basePort + 1 + index;
				// Reproducible per device: its sensors' means and phase, and its link's fate.
				const rng = new Prng(deriveSeed(c.seed, name));
				const temperature = 19 + 5 * rng.nextFloat();
				const humidity = 35 + 25 * rng.nextFloat();
				const phase = Math.floor(rng.nextFloat() * TEMPERATURE_PERIOD_MS);
				const clock = this.#clock;
				const board = new SimulatedSensors({ now: () => clock.now() - startedAt + phase, temperature, humidity });
				// OSCORE: the client's context as config.sensor.oscore (the firmware's path), and the observer's.
				const keys = c.oscore?.[k];
				const contexts: SecurityContext[] = [];
				if (keys !== undefined) {
					contexts.push(sensorOscore(deviceOscoreConfig(keys.client), nobleCrypto)!);
					contexts.push(memoryContext(keys.observer, "device", nobleCrypto, "xscoap sim observer"));
				}
				observerContexts.push(contexts[1] ?? null);
				const app = buildSensorApp(board, clock, { ...example.sensor, name }, c.sampleMs, contexts.length > 0);
				const udp: UdpConstructor = c.conditions === null ? NodeUdp : impairedUdpClass(c.conditions, new Prng(deriveSeed(c.seed, name + "/link")));
				const ports: Ports = { udp, clock, random: fillRandom };
				apps.push(app);
				opening.push(open(ports, c.address, port, app, settings.limits, name, contexts));
			}
			const opened = await Promise.allSettled(opening);
			for (let k = 0; k < c.count; k++) {
				const r = opened[k]!;
				if (r.status === "rejected") continue;
				const index = c.first + k;
				const app = apps[k]!;
				const port = c.basePort + 1 + index;
				const resources = app.router.resources.filter((x) => !x.hidden).map((x) => x.path);
				const info: DeviceInfo = { index, name: deviceName(index, c.total), port, uri: "coap://" + c.address + ":" + port, resources };
				this.#devices.push({ info, endpoint: r.value, app, rd: null, observation: null, observerContext: observerContexts[k]! });
				this.devices.push(info);
			}
			const failed = opened.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
			if (failed !== undefined) throw failed.reason;
			// Several observer sockets for a large shard: one socket receiving thousands of
			// notifications a second loses some to its receive buffer whenever the thread pauses
			// (a garbage collection); and an endpoint's tables have a size limit.
			for (let k = 0; c.observe && k < c.count; k += this.#share) {
				const share = Math.min(this.#share, c.count - k);
				// OSCORE: the observer's side of each device's observer context, for that device's URIs.
				let credentials: Record<string, SecurityContext> | undefined;
				if (c.oscore) {
					credentials = {};
					for (let j = k; j < k + share; j++) credentials["coap://" + c.address + ":" + (c.basePort + 1 + c.first + j) + "/*"] = memoryContext(c.oscore[j]!.observer, "client", nobleCrypto, "");
				}
				const observer = new Endpoint({
					ports: { udp: NodeUdp, clock: this.#clock, random: fillRandom },
					address: c.address,
					// One client slot per observation (RFC 7641: each holds its exchange), a few more for its requests.
					limits: { clientExchanges: share + 4, serverExchanges: 0, dedupEntries: 4 * share + 16, observers: 0, blockTransfers: 2, oscoreContexts: credentials === undefined ? 0 : share },
					oscore: credentials === undefined ? undefined : { credentials },
				});
				this.#observers.push(observer);
				await (observer.socket as unknown as NodeUdp).ready();
			}
		} catch (e) {
			this.close();
			throw e;
		}
		// Devices start in small groups: a thousand registrations (and observations) sent in the
		// same instant overflow the receiving socket's buffer on loopback, and the datagrams the
		// kernel drops cost a CON retransmission (2 to 3 s, RFC 7252 §4.8) each.
		for (let k = 0; k < this.#devices.length; k += START_GROUP) {
			if (k > 0) await new Promise((resolve) => setTimeout(resolve, START_GAP_MS));
			if (this.#stopped) return;
			for (const d of this.#devices.slice(k, k + START_GROUP)) {
				d.app.start();
				if (c.rd !== null) d.rd = this.#register(d, c.rd);
				if (this.#observers.length > 0) d.observation = this.#observe(d);
			}
		}
	}

	#register(d: Device, directory: string): RdClient {
		const settings = sensorRdSettings({ uri: directory, lt: this.config.lifetime, et: "xscoap-sensor" }, d.info.name)!;
		const index = d.info.index;
		const events = this.#events;
		let client: RdClient | null = null;
		const onEvent = (e: RdEvent): void => {
			if (e.kind === "registered") events.registration(index, e.location, true, e.detail);
			else if (e.kind === "error" && client !== null && !client.registered) events.registration(index, "", false, e.detail);
		};
		client = startSensorRd({ endpoint: d.endpoint, clock: this.#clock, router: d.app.router, settings, random: fillRandom, onEvent });
		return client;
	}

	#observe(d: Device): Observation {
		const index = d.info.index;
		return this.#observers[Math.floor((index - this.config.first) / this.#share)]!.observe(
			{ uri: d.info.uri + "/sensors/temperature" },
			(n) => {
				if (n.ok) this.#value(index, n.text());
			},
			() => {
				// Ended (the device stopped answering the CON notifications, a loss burst...):
				// observe again while the fleet runs.
				if (!this.#stopped) d.observation = this.#observe(d);
			},
		);
	}

	/**
	 * Sequence numbers the devices have used under the observer's security contexts: the
	 * notifications they protected for the observer (RFC 8613 §8.3: each one after the first
	 * response takes its own Partial IV). 0 without OSCORE. For diagnostics and tests.
	 */
	protectedNotifications(): number {
		let n = 0;
		for (const d of this.#devices) n += d.observerContext?.sequence.peek ?? 0;
		return n;
	}

	#value(index: number, text: string): void {
		this.#batch.push(index, text);
		if (this.#batchTimer === undefined) {
			this.#batchTimer = setTimeout(() => {
				this.#batchTimer = undefined;
				const batch = this.#batch;
				this.#batch = [];
				this.#events.values(batch);
			}, this.config.batchMs);
		}
	}

	/**
	 * Stops observing, removes every registration (RFC 9176 §5.3.2) within `timeoutMs`, then
	 * closes everything. Resolves with how many removals the directory confirmed.
	 */
	async stop(timeoutMs: number): Promise<{ deregistered: number; failed: number }> {
		if (this.#stopped) return { deregistered: 0, failed: 0 };
		this.#stopped = true;
		for (const o of this.#observers) o.close(); // observations end; devices forget their observers by themselves
		this.#observers.length = 0;
		for (const d of this.#devices) d.app.close();
		let deregistered = 0;
		let failed = 0;
		const removals = this.#devices.filter((d) => d.rd !== null).map((d) => d.rd!.stop().then((ok) => (ok ? deregistered++ : failed++)));
		if (removals.length > 0) {
			let timer: ReturnType<typeof setTimeout> | undefined;
			await Promise.race([Promise.all(removals), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
			clearTimeout(timer);
		}
		const pending = removals.length - deregistered - failed;
		this.close();
		return { deregistered, failed: failed + pending };
	}

	/** Closes every socket and timer at once (no deregistration). Safe to call twice. */
	close(): void {
		this.#stopped = true;
		if (this.#batchTimer !== undefined) clearTimeout(this.#batchTimer);
		this.#batchTimer = undefined;
		for (const o of this.#observers) o.close();
		this.#observers.length = 0;
		for (const d of this.#devices) {
			d.app.close();
			d.endpoint.close();
		}
	}
}

/** Opens a device's endpoint and waits for its socket; on failure closes it and names the port. */
async function open(ports: Ports, address: string, port: number, app: SensorDeviceApp, limits: Endpoint["limits"], name: string, contexts: SecurityContext[]): Promise<Endpoint> {
	let endpoint: Endpoint;
	try {
		endpoint = new Endpoint({ ports, address, port, router: app.router, limits, oscore: contexts.length > 0 ? { contexts } : undefined });
	} catch (e) {
		throw new ShardStartError("cannot open " + name + " on " + address + ":" + port + ": " + (e as Error).message, port, (e as { code?: string }).code ?? "");
	}
	try {
		await (endpoint.socket as unknown as { ready(): Promise<void> }).ready();
	} catch (e) {
		endpoint.close();
		const code = (e as { code?: string }).code ?? "";
		const why = code === "EADDRINUSE" ? "the port is in use" : (e as Error).message;
		throw new ShardStartError("cannot bind " + name + " to " + address + ":" + port + ": " + why, port, code);
	}
	return endpoint;
}

function fillRandom(out: Uint8Array): void {
	webcrypto.getRandomValues(out);
}
