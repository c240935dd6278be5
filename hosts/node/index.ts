/**
 * The Node host's public API (package subpath `xscoap/node`): `openEndpoint` and the ports it
 * builds (ECMA-419-shaped UDP over node:dgram, clock, randomness), the file server of
 * `xscoap fileserver`, and the resource directory of `xscoap rd` (RFC 9176).
 */
export { nodePorts, openEndpoint, type NodeEndpointOptions } from "./ports.js";
export { NodeUdp, type NodeUdpSettings } from "./udp.js";
export { NodeClock } from "./clock.js";
export { FileServer, checkSegments, formatOfName, type FileServerOptions } from "./fileserver.js";
export { nodeCrypto } from "./oscore-crypto.js";
export { nobleCrypto } from "../../modules/coap/oscore/noble.js";
export { FileStore } from "./file-store.js";
export { CredentialsError, loadContextDirectory, loadCredentials, type Credentials } from "./credentials.js";
export { DirectoryServer, DIRECTORY_LIMITS, type DirectoryServerOptions } from "./rd/server.js";
export { ResourceDirectory, type DirectoryOptions, type DirectoryEventKind, type DirectorySnapshot } from "./rd/directory.js";
export { Registration } from "./rd/registration.js";
export { DirectoryStore, StoreError } from "./rd/store.js";
