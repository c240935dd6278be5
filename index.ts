/**
 * The package root, `import { Router, openEndpoint, CoapError } from "xscoap"`: the portable
 * stack's API (modules/coap/index.ts, also `xscoap/core`) and the Node host's `openEndpoint`
 * (hosts/node/index.ts, also `xscoap/node`), with the OSCORE crypto providers (`nodeCrypto`,
 * native; `nobleCrypto`, portable) and the FileStore that keeps sequence numbers. The virtual network is `xscoap/sim`, the demo
 * resources `xscoap/demo`.
 */
export * from "./modules/coap/index.js";
export { nodePorts, openEndpoint, type NodeEndpointOptions } from "./hosts/node/ports.js";
export { nodeCrypto } from "./hosts/node/oscore-crypto.js";
export { nobleCrypto } from "./modules/coap/oscore/noble.js";
export { FileStore } from "./hosts/node/file-store.js";
