/**
 * The device's endpoint, sized by the build: reads `config.coap` (the manifest's `config`,
 * frozen into the `mc/config` module by mcconfig) and opens one Endpoint with those limits,
 * so the memory the stack takes is fixed when the firmware is built.
 *
 * `mcconfig ... coapPort=5684` overrides the port from the command line (mcconfig sets
 * top-level config entries, as text). Multicast: `config.coap.multicast` (an array of IPv4
 * groups) or `coapMulticast=224.0.1.187` on the command line.
 */
import config from "mc/config";
import type { Endpoint, EndpointOptions } from "../../modules/coap/endpoint.js";
import { deviceSettings, type CoapDeviceConfig, type DeviceSettings } from "../../modules/coap/device.js";
import type { Ports } from "../../modules/coap/host.js";
import { moddablePorts, openEndpoint } from "./driver.js";

/** `config.coap` of this build, read into limits and reservations (ESP32 profile for absent fields). */
export function buildSettings(): DeviceSettings {
	const coap = config.coap as CoapDeviceConfig | undefined;
	const override = config.coapPort as string | number | undefined;
	return deviceSettings(override === undefined ? coap : { ...coap, port: override });
}

export interface DeviceEndpointOptions extends Omit<EndpointOptions, "ports" | "limits" | "port"> {
	/** Overrides config.coap.port. */
	readonly port?: number;
	/** The ports to use (from `devicePorts()`, shared with the app's own timers); new ones by default. */
	readonly ports?: Ports;
}

/**
 * The device's ports: the SDK's UDP class joining this build's multicast groups, the
 * wrap-safe clock (the app may create its own timers on it, e.g. a sampler) and the device RNG.
 */
export function devicePorts(): Ports {
	const groups: string[] = [];
	const m = (config.coap as { multicast?: unknown } | undefined)?.multicast;
	if (Array.isArray(m)) for (const g of m) groups.push(String(g));
	if (typeof config.coapMulticast === "string" && config.coapMulticast.length > 0) groups.push(config.coapMulticast);
	return moddablePorts({ udp: { multicast: groups } });
}

/** Opens the device's endpoint with this build's limits. */
export function deviceEndpoint(options: DeviceEndpointOptions = {}): Endpoint {
	const settings = buildSettings();
	return openEndpoint({
		...options,
		port: options.port ?? settings.port,
		limits: settings.limits,
		ports: options.ports ?? devicePorts(),
	});
}
