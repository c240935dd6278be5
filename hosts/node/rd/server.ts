/**
 * A resource directory on the Node host: the directory (directory.ts) served by one Endpoint
 * on a real UDP socket, optionally kept in a store file (store.ts). Used by `xscoap rd` and by
 * `xscoap sim`, which starts one for its devices.
 *
 * Saving: every change schedules a save a moment later (changes that come together, such as a
 * fleet registering at start, are written once); `close()` writes what is pending. A failed
 * save is reported and tried again at the next change; the registrations stay in memory.
 */
import type { Endpoint, TraceFn } from "../../../modules/coap/endpoint.js";
import type { Ports } from "../../../modules/coap/host.js";
import type { Limits } from "../../../modules/coap/tuning.js";
import { nodePorts, openEndpoint } from "../ports.js";
import { ResourceDirectory, type DirectoryEventKind } from "./directory.js";
import type { Registration } from "./registration.js";
import { DirectoryStore, StoreError } from "./store.js";

export interface DirectoryServerOptions {
	readonly address: string;
	readonly port: number;
	/** Store file; none: registrations live in memory only. */
	readonly store?: string;
	readonly ports?: Ports;
	readonly trace?: TraceFn;
	readonly onEvent?: (kind: DirectoryEventKind, registration: Registration) => void;
	/** A save failed (the message names the file). */
	readonly onStoreError?: (message: string) => void;
	/** Delay between a change and its save, ms (default 200). */
	readonly saveDelayMs?: number;
	readonly limits?: Partial<Limits>;
}

/**
 * Desktop capacities of the directory's endpoint: room for a fleet's registrations arriving
 * together (one server slot per simple registration waiting on its GET), registration bodies
 * up to 256 KiB block-wise. Lookup results of any size are sliced (RFC 7959 Block2).
 */
export const DIRECTORY_LIMITS: Partial<Limits> = Object.freeze({
	maxMessageSize: 1152,
	clientExchanges: 64,
	serverExchanges: 256,
	dedupEntries: 8192,
	dedupCacheBytes: 1024 * 1024,
	maxOptions: 64,
	blockTransfers: 16,
	maxBodySize: 256 * 1024,
	observers: 16,
});

export class DirectoryServer {
	readonly directory: ResourceDirectory;
	readonly endpoint: Endpoint;
	readonly store: DirectoryStore | undefined;
	/** Registrations read from the store at start. */
	readonly restored: number;
	readonly #saveDelayMs: number;
	readonly #onStoreError: ((message: string) => void) | undefined;
	#saveTimer: ReturnType<typeof setTimeout> | undefined;
	#closed = false;

	private constructor(directory: ResourceDirectory, endpoint: Endpoint, store: DirectoryStore | undefined, restored: number, options: DirectoryServerOptions) {
		this.directory = directory;
		this.endpoint = endpoint;
		this.store = store;
		this.restored = restored;
		this.#saveDelayMs = options.saveDelayMs ?? 200;
		this.#onStoreError = options.onStoreError;
	}

	/**
	 * Loads the store (if any), then binds the socket.
	 * @throws StoreError for an unusable store file (before anything is bound); the socket's
	 * error (EADDRINUSE...) when it cannot bind.
	 */
	static async start(options: DirectoryServerOptions): Promise<DirectoryServer> {
		const store = options.store !== undefined ? new DirectoryStore(options.store) : undefined;
		const loaded = store?.load() ?? null;
		let server: DirectoryServer | undefined;
		const ports = options.ports ?? nodePorts();
		const directory = new ResourceDirectory({
			clock: ports.clock,
			onEvent: options.onEvent,
			onChange: () => {
				if (server !== undefined) server.#scheduleSave();
			},
		});
		if (loaded !== null) {
			try {
				directory.restore(loaded.snapshot, loaded.elapsedMs);
			} catch (e) {
				directory.close();
				throw new StoreError("--store " + store!.path + " is not a usable resource-directory store: " + (e as Error).message + ". The file was left as it is: move it away (or fix it) to start with an empty directory");
			}
		}
		let endpoint: Endpoint;
		try {
			endpoint = await openEndpoint({
				ports,
				address: options.address,
				port: options.port,
				router: directory.router,
				limits: { ...DIRECTORY_LIMITS, ...options.limits },
				trace: options.trace,
			});
		} catch (e) {
			directory.close();
			throw e;
		}
		directory.attach(endpoint);
		server = new DirectoryServer(directory, endpoint, store, directory.size, options);
		return server;
	}

	get port(): number {
		return this.endpoint.port;
	}

	#scheduleSave(): void {
		if (this.store === undefined || this.#closed || this.#saveTimer !== undefined) return;
		this.#saveTimer = setTimeout(() => {
			this.#saveTimer = undefined;
			this.#save();
		}, this.#saveDelayMs);
	}

	#save(): void {
		if (this.store === undefined) return;
		try {
			this.store.save(this.directory.snapshot());
		} catch (e) {
			this.#onStoreError?.("cannot write --store " + this.store.path + ": " + (e as Error).message + " (registrations are kept in memory; trying again at the next change)");
		}
	}

	/** Writes pending changes, stops the directory and closes the socket. Safe to call twice. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		if (this.#saveTimer !== undefined) {
			clearTimeout(this.#saveTimer);
			this.#saveTimer = undefined;
			this.#save();
		}
		this.directory.close();
		this.endpoint.close();
	}
}
