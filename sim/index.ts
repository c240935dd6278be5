/**
 * The deterministic simulator's public pieces: a virtual network of ECMA-419-shaped UDP
 * sockets, its virtual clock and a seeded PRNG. Only tests (and sim tools) import this;
 * `modules/` never does.
 */

export { Prng, deriveSeed } from "./prng.js";
export { VirtualClock } from "./clock.js";
export {
	DEFAULT_CONDITIONS,
	VirtualNetwork,
	VirtualUdpSocket,
	type DatagramEvent,
	type DropReason,
	type LinkConditions,
	type NetworkOptions,
	type NetworkStats,
	type VirtualUdpConstructor,
} from "./network.js";
