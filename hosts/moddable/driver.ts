/**
 * The Moddable host's ports (modules/coap/host.ts `Ports`) in one place: the SDK's UDP class
 * (udp.ts), a wrap-safe clock with one re-armable Timer per endpoint (clock.ts) and the
 * device RNG (random.ts). Holds no protocol logic: the Endpoint in modules/ does it all.
 */
import { Endpoint, type EndpointOptions } from "../../modules/coap/endpoint.js";
import type { Ports } from "../../modules/coap/host.js";
import { ModdableClock } from "./clock.js";
import { deviceRandom } from "./random.js";
import { udpPort, type UdpSettings } from "./udp.js";
import type { ModdableUdpClass } from "./udp-io.js";

export interface ModdablePortOptions {
	readonly udp?: UdpSettings;
	/** The UDP class; the SDK's `embedded:io/socket/udp` by default. */
	readonly io?: ModdableUdpClass;
}

/** Ports for one or more endpoints on this device. */
export function moddablePorts(options: ModdablePortOptions = {}): Ports {
	return { udp: udpPort(options.udp, options.io), clock: new ModdableClock(), random: deviceRandom };
}

/** An Endpoint on the Moddable host. The socket is bound when this returns (lwip binds synchronously). */
export function openEndpoint(options: Omit<EndpointOptions, "ports"> & { ports?: Ports; udp?: UdpSettings }): Endpoint {
	const { udp, ports, ...rest } = options;
	return new Endpoint({ ...rest, ports: ports ?? moddablePorts({ udp }) });
}
