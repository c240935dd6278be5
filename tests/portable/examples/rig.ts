// The sensor example's device on the virtual network, for the example's tests: the app
// (sampling started) served by an endpoint with the ESP32 limits of config.coap, and a client.
import { VirtualNetwork } from "../../../sim/index.js";
import type { PreferenceBackend } from "../../../modules/coap/store.js";
import { ESP32_DEVICE_CONFIG, deviceSettings } from "../../../modules/coap/device.js";
import { Endpoint } from "../../../modules/coap/endpoint.js";
import type { Ports } from "../../../modules/coap/host.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import type { RequestOptions } from "../../../modules/coap/client/options.js";
import { SENSOR_PORT, SensorApp, type SensorBoard, type SensorDeviceConfig } from "../../../examples/sensor/app.js";
import { SimulatedSensors } from "../../../examples/sensor/simulated.js";

export const DEVICE = "10.0.0.2";
export const CLIENT = "10.0.0.1";

export function ports(net: VirtualNetwork, host: string): Ports {
	return { udp: net.udpClass(host), clock: net.clock, random: net.random(host) };
}

export interface SensorRig {
	net: VirtualNetwork;
	app: SensorApp;
	device: Endpoint;
	client: Endpoint;
	board: SimulatedSensors;
	leds: boolean[];
	/** Sends a request and runs the network (sampling timer included) until it is answered. */
	send(o: RequestOptions): Promise<ClientResponse>;
	get(path: string, extra?: Partial<RequestOptions>): Promise<ClientResponse>;
	put(path: string, payload: string | Uint8Array, extra?: Partial<RequestOptions>): Promise<ClientResponse>;
	close(): void;
}

/** A device running the sensor app (sampling started) and a client, on one virtual network. */
export function sensorRig(config: SensorDeviceConfig = {}, board?: SensorBoard): SensorRig {
	const net = new VirtualNetwork({ seed: 4 });
	const leds: boolean[] = [];
	const sim = new SimulatedSensors({ now: () => net.clock.now(), onLed: (on) => leds.push(on) });
	const settings = deviceSettings(ESP32_DEVICE_CONFIG);
	const app = new SensorApp(board ?? sim, net.clock, config, { host: "virtual network", boardDescription: "simulated" });
	const device = new Endpoint({ ports: ports(net, DEVICE), port: SENSOR_PORT, limits: settings.limits, router: app.router });
	app.start();
	const client = new Endpoint({ ports: ports(net, CLIENT) });
	const send = (o: RequestOptions): Promise<ClientResponse> => settle(net, client, o);
	return {
		net,
		app,
		device,
		client,
		board: sim,
		leds,
		send,
		get: (path, extra = {}) => send({ uri: "coap://" + DEVICE + path, ...extra }),
		put: (path, payload, extra = {}) => send({ method: "PUT", uri: "coap://" + DEVICE + path, payload, ...extra }),
		close() {
			client.close();
			device.close();
			app.close();
		},
	};
}

/**
 * Sends `o` from `client` and runs the network until the request is settled (the example's
 * sampling timer never lets the network go idle). Rejects as the request does, or after 300 s
 * of virtual time without an answer.
 */
export async function settle(net: VirtualNetwork, client: Endpoint, o: RequestOptions): Promise<ClientResponse> {
	let done = false;
	let result: ClientResponse | undefined;
	let error: unknown;
	client.request(o).then(
		(r) => {
			done = true;
			result = r;
		},
		(e) => {
			done = true;
			error = e;
		},
	);
	await net.runUntil(() => done, 300000);
	if (!done) throw new Error("no answer within 300 s of virtual time");
	if (error !== undefined) throw error;
	return result!;
}

/** Moddable's Preference as far as PreferenceStore uses it: keeps what it is given, as the SDK's does (NVS copies it). */
export class FakePreference implements PreferenceBackend {
	readonly values: Record<string, string | boolean | number | ArrayBuffer> = {};
	writes = 0;
	get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined {
		return this.values[domain + "/" + key];
	}
	set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void {
		this.writes++;
		this.values[domain + "/" + key] = value;
	}
}
