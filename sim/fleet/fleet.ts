/**
 * The simulated fleet of `xscoap sim`: N sensor devices on loopback split into shards, run in
 * this thread (one shard) or in W worker threads (`--workers W`, one shard each, to use every
 * core), with what the fleet knows of them in one place: the device list, each device's
 * registration with the directory, the last observed temperature, notification counts.
 *
 * `Fleet.start()` resolves once every shard is bound and running, or rejects (after stopping
 * the shards that did start) with the first shard's error. `stop()` asks every shard to
 * remove its registrations within a time bound and close; worker threads end by themselves.
 */
import { Worker } from "node:worker_threads";
import { Shard, ShardStartError, type DeviceInfo, type ShardConfig, type ShardEvents } from "./shard.js";

/**
 * The fleet's settings: a shard's (shard.ts `ShardConfig`) for the whole fleet, which the fleet
 * splits into shards of `devices` over `workers`; `oscore` then holds the keys of every device.
 */
export interface FleetOptions extends Omit<ShardConfig, "first" | "count" | "total" | "batchMs"> {
	readonly devices: number;
	readonly workers: number;
	/** How long values are collected before a batch goes out, ms (default 100). */
	readonly batchMs?: number;
}

export interface FleetListener {
	/** A device's registration state changed (location "" when not registered). */
	registration?(index: number, location: string, registered: boolean, detail: string): void;
	/** Observed values, in order: [device index, text] pairs flattened. */
	values?(batch: readonly (number | string)[]): void;
}

/** One shard, in this thread or in a worker. */
interface ShardHandle {
	start(): Promise<DeviceInfo[]>;
	stop(timeoutMs: number): Promise<{ deregistered: number; failed: number }>;
}

class LocalShard implements ShardHandle {
	readonly #shard: Shard;
	constructor(config: ShardConfig, events: ShardEvents) {
		this.#shard = new Shard(config, events);
	}
	async start(): Promise<DeviceInfo[]> {
		await this.#shard.start();
		return this.#shard.devices;
	}
	stop(timeoutMs: number): Promise<{ deregistered: number; failed: number }> {
		return this.#shard.stop(timeoutMs);
	}
}

class WorkerShard implements ShardHandle {
	readonly #worker: Worker;
	readonly #ready: Promise<DeviceInfo[]>;
	#stopped: ((r: { deregistered: number; failed: number }) => void) | undefined;
	#exited = false;

	constructor(config: ShardConfig, events: ShardEvents) {
		const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: config });
		this.#worker = worker;
		this.#ready = new Promise<DeviceInfo[]>((resolve, reject) => {
			worker.on("message", (m: { type: string; [k: string]: unknown }) => {
				switch (m.type) {
					case "ready":
						resolve(m.devices as DeviceInfo[]);
						break;
					case "failed":
						reject(new ShardStartError(m.message as string, m.port as number, m.code as string));
						break;
					case "registration":
						events.registration(m.index as number, m.location as string, m.registered as boolean, m.detail as string);
						break;
					case "values":
						events.values(m.batch as (number | string)[]);
						break;
					case "stopped":
						this.#stopped?.({ deregistered: m.deregistered as number, failed: m.failed as number });
						break;
				}
			});
			worker.on("error", (e) => reject(e));
			worker.on("exit", () => {
				this.#exited = true;
				reject(new Error("worker thread ended before it was ready"));
				this.#stopped?.({ deregistered: 0, failed: 0 });
			});
		});
		this.#ready.catch(() => {});
	}

	start(): Promise<DeviceInfo[]> {
		return this.#ready;
	}

	stop(timeoutMs: number): Promise<{ deregistered: number; failed: number }> {
		if (this.#exited) return Promise.resolve({ deregistered: 0, failed: 0 });
		return new Promise((resolve) => {
			// The worker answers and ends; if it does not within the bound (and a margin), end it.
			const hard = setTimeout(() => {
				void this.#worker.terminate();
				resolve({ deregistered: 0, failed: 0 });
			}, timeoutMs + 2000);
			this.#stopped = (r) => {
				clearTimeout(hard);
				resolve(r);
			};
			this.#worker.postMessage({ type: "stop", timeoutMs });
		});
	}
}

export class Fleet {
	readonly options: FleetOptions;
	/** The devices, in fleet order (after start). */
	readonly devices: DeviceInfo[] = [];
	/** Registration resource per device ("" while not registered). */
	readonly locations: string[];
	readonly registeredFlags: boolean[];
	/** Last observed temperature text per device ("" before the first). */
	readonly values: string[];
	/** Notifications received per device. */
	readonly counts: number[];
	/** Last registration problem per device ("" when none). */
	readonly problems: string[];
	registered = 0;
	notifications = 0;
	readonly #shards: ShardHandle[] = [];
	readonly #listener: FleetListener;

	private constructor(options: FleetOptions, listener: FleetListener) {
		this.options = options;
		this.#listener = listener;
		const n = options.devices;
		this.locations = new Array<string>(n).fill("");
		this.registeredFlags = new Array<boolean>(n).fill(false);
		this.values = new Array<string>(n).fill("");
		this.counts = new Array<number>(n).fill(0);
		this.problems = new Array<string>(n).fill("");
	}

	/** Starts the fleet. @throws ShardStartError (or a worker's error) after stopping whatever started. */
	static async start(options: FleetOptions, listener: FleetListener = {}): Promise<Fleet> {
		const fleet = new Fleet(options, listener);
		const events: ShardEvents = {
			registration: (i, location, registered, detail) => fleet.#registration(i, location, registered, detail),
			values: (batch) => fleet.#values(batch),
		};
		const shards = Math.max(1, Math.min(options.workers, options.devices));
		const per = Math.ceil(options.devices / shards);
		for (let s = 0, first = 0; s < shards && first < options.devices; s++, first += per) {
			const count = Math.min(per, options.devices - first);
			const { devices: _devices, workers: _workers, ...shared } = options;
			const config: ShardConfig = {
				...shared,
				first,
				count,
				total: options.devices,
				batchMs: options.batchMs ?? 100,
				oscore: options.oscore ? options.oscore.slice(first, first + count) : null,
			};
			fleet.#shards.push(options.workers > 1 ? new WorkerShard(config, events) : new LocalShard(config, events));
		}
		const results = await Promise.allSettled(fleet.#shards.map((s) => s.start()));
		const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
		if (failure !== undefined) {
			await Promise.all(fleet.#shards.map((s, i) => (results[i]!.status === "fulfilled" ? s.stop(1000) : Promise.resolve())));
			throw failure.reason;
		}
		for (const r of results) fleet.devices.push(...(r as PromiseFulfilledResult<DeviceInfo[]>).value);
		fleet.devices.sort((a, b) => a.index - b.index);
		return fleet;
	}

	#registration(index: number, location: string, registered: boolean, detail: string): void {
		if (registered !== this.registeredFlags[index]) this.registered += registered ? 1 : -1;
		this.registeredFlags[index] = registered;
		this.locations[index] = location;
		this.problems[index] = registered ? "" : detail;
		this.#listener.registration?.(index, location, registered, detail);
	}

	#values(batch: (number | string)[]): void {
		for (let i = 0; i < batch.length; i += 2) {
			const index = batch[i] as number;
			this.values[index] = batch[i + 1] as string;
			this.counts[index]!++;
			this.notifications++;
		}
		this.#listener.values?.(batch);
	}

	/** Removes every registration (within `timeoutMs`) and closes every device. */
	async stop(timeoutMs: number): Promise<{ deregistered: number; failed: number }> {
		const results = await Promise.all(this.#shards.map((s) => s.stop(timeoutMs)));
		let deregistered = 0;
		let failed = 0;
		for (const r of results) {
			deregistered += r.deregistered;
			failed += r.failed;
		}
		return { deregistered, failed };
	}
}
