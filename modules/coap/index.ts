/**
 * The portable stack's public API in one module (package subpath `xscoap/core`; the package
 * root `xscoap` adds the Node host's `openEndpoint`): endpoints, resources, requests and
 * responses, errors, the registries (codes, options, content formats), limits and the
 * device budget, the ports a host provides, OSCORE security contexts (the crypto provider is
 * the host's: `nodeCrypto` from xscoap/node, or the portable `nobleCrypto` of
 * modules/coap/oscore/noble.ts, which is kept out of this module so that a firmware build can
 * preload it without noble's module state), the resource-directory client and link-format
 * (RFC 9176, RFC 6690), and the codec for those who work on raw messages.
 * Nothing here touches Node or Moddable.
 */
export { Endpoint, type EndpointOptions, type EndpointStats, type TraceFn } from "./endpoint.js";
export { Router, Resource, pathEquals, pathStartsWith, type ChangeListener, type Handler, type ResourceOptions } from "./server/router.js";
export { CoapRequest } from "./server/request.js";
export { ResponseBuilder, MAX_EXTRA_OPTIONS } from "./server/response.js";
export { ClientResponse, type ResponseOption } from "./client/response.js";
export type { OptionValue, RequestOptions } from "./client/options.js";
export { Observation, type EndHandler, type NotificationHandler } from "./client/observation.js";
export { CoapError, E_FORMAT, E_TOO_MANY_OPTIONS, E_TRUNCATED, E_VERSION, type CoapErrorCode, type OscoreFailure } from "./errors.js";
export { SecurityContext, type SecurityContextParams } from "./oscore/context.js";
export { AES_CCM_16_64_128, type Aead, type OscoreCrypto } from "./oscore/aead.js";
export type { SequencePersistence } from "./oscore/sequence.js";
export { oscoreBudget } from "./oscore/budget.js";
export * from "./constants.js";
export * from "./options.js";
export { CONTENT_FORMATS, formatName, parseFormat } from "./formats.js";
export type { Clock, Datagram, PeerUnreachable, Ports, RandomFill, Timer, UdpConstructor, UdpOptions, UdpSocket } from "./host.js";
export { DEFAULT_LIMITS, DEFAULT_TUNING, checkLimits, checkTuning, exchangeLifetime, maxTransmitSpan, maxTransmitWait, memoryBudget, nonLifetime, type Limits, type Tuning } from "./tuning.js";
export { DEVICE_BUDGET_BYTES, ESP32_DEVICE_CONFIG, deviceBudget, deviceSettings, limitCosts, type BudgetPart, type CoapDeviceConfig, type DeviceBudget, type DeviceSettings, type LimitCost } from "./device.js";
export { PreferenceStore, type PreferenceBackend, type Store } from "./store.js";
export { composeCoapUri, parseCoapUri, percentDecode, percentEncode, type CoapUri } from "./uri/uri.js";
export { MessageView } from "./wire/view.js";
export { MessageWriter } from "./wire/writer.js";
export { describeMessage, describePayload } from "./wire/describe.js";
export { RdClient, checkName, DEFAULT_LIFETIME_S, MAX_LIFETIME_S, type RdClientOptions, type RdEvent, type RdState } from "./rd/client.js";
export { isBaseUri, linkParam, paramMatches, parseLinkFormat, resolveReference, serializeLink, serializeLinkFormat, valueMatches, type Link, type LinkParam } from "./rd/links.js";
