/**
 * The Node host's public API (package subpath `xscoap/node`): `openEndpoint` and the ports it
 * builds (ECMA-419-shaped UDP over node:dgram, clock, randomness), and the file server of
 * `xscoap fileserver`.
 */
export { nodePorts, openEndpoint, type NodeEndpointOptions } from "./ports.js";
export { NodeUdp, type NodeUdpSettings } from "./udp.js";
export { NodeClock } from "./clock.js";
export { FileServer, checkSegments, formatOfName, type FileServerOptions } from "./fileserver.js";
