// A resource directory and its clients on the virtual network, for the RD tests (portable:
// they also run on XS). The directory is hosts/node/rd/directory.ts (free of Node APIs).
import * as assert from "../../support/assert.js";
import { VirtualNetwork, type NetworkOptions } from "../../../sim/index.js";
import { Endpoint, type EndpointOptions } from "../../../modules/coap/endpoint.js";
import type { Ports } from "../../../modules/coap/host.js";
import type { RequestOptions } from "../../../modules/coap/client/options.js";
import type { ClientResponse } from "../../../modules/coap/client/response.js";
import { parseLinkFormat, type Link } from "../../../modules/coap/rd/links.js";
import { ResourceDirectory, type DirectoryEventKind } from "../../../hosts/node/rd/directory.js";
import type { Registration } from "../../../hosts/node/rd/registration.js";
import { track } from "../endpoint/harness.js";

export const RD_HOST = "10.0.0.100";
export const RD_URI = "coap://" + RD_HOST;

export class RdWorld {
	readonly net: VirtualNetwork;
	directory: ResourceDirectory;
	rdEndpoint: Endpoint;
	readonly events: [DirectoryEventKind, string][] = [];
	readonly endpoints: Endpoint[] = [];
	readonly client: Endpoint;

	constructor(options: NetworkOptions = {}) {
		this.net = new VirtualNetwork({ seed: 9, ...options });
		this.directory = this.#directory();
		this.rdEndpoint = this.endpoint(RD_HOST, { port: 5683, router: this.directory.router, limits: { serverExchanges: 16, clientExchanges: 8, maxBodySize: 64 * 1024, blockTransfers: 4 } });
		this.directory.attach(this.rdEndpoint);
		this.client = this.endpoint("10.0.0.1", { limits: { maxBodySize: 256 * 1024, blockTransfers: 2, clientExchanges: 8 } });
	}

	#directory(): ResourceDirectory {
		return new ResourceDirectory({ clock: this.net.clock, onEvent: (kind, reg) => this.events.push([kind, reg.ep]) });
	}

	/** Replaces the directory by an empty one on the same address and port (a restart without a store). */
	restartDirectory(): void {
		this.rdEndpoint.close();
		this.directory.close();
		this.directory = this.#directory();
		this.rdEndpoint = this.endpoint(RD_HOST, { port: 5683, router: this.directory.router });
		this.directory.attach(this.rdEndpoint);
	}

	ports(host: string): Ports {
		return { udp: this.net.udpClass(host), clock: this.net.clock, random: this.net.random(host) };
	}

	endpoint(host: string, options: Partial<EndpointOptions> = {}): Endpoint {
		const ep = new Endpoint({ port: 5683, ...options, ports: this.ports(host) });
		this.endpoints.push(ep);
		return ep;
	}

	/** Sends a request from `from` (the test client by default) and runs the network until it settles. */
	async request(options: RequestOptions, from: Endpoint = this.client, maxMs = 200000): Promise<ClientResponse> {
		const o = track(this.net, from.request(options.uri === undefined ? { address: RD_HOST, ...options } : options));
		await this.net.runUntil(() => o.settled, maxMs);
		if (!o.settled) assert.fail("request did not settle within " + maxMs + " ms");
		if (o.rejected) throw o.error;
		return o.value!;
	}

	post(path: string, query: string[], payload?: string, extra: Partial<RequestOptions> = {}): Promise<ClientResponse> {
		return this.request({ method: "POST", path, query, payload, contentFormat: payload === undefined ? undefined : 40, ...extra });
	}

	get(path: string, query: string[] = []): Promise<ClientResponse> {
		return this.request({ method: "GET", path, query });
	}

	/** GET and parse link-format. */
	async links(path: string, query: string[] = []): Promise<Link[]> {
		const res = await this.get(path, query);
		assert.equal(res.codeText, "2.05", path + " " + query.join("&") + ": " + res.text());
		const links = parseLinkFormat(res.text());
		if (typeof links === "string") assert.fail("not link-format: " + links);
		return links;
	}

	/** Registration of `ep` in the directory, or undefined. */
	reg(ep: string, d?: string): Registration | undefined {
		return this.directory.find(ep, d);
	}

	close(): void {
		for (const ep of this.endpoints) ep.close();
		this.directory.close();
	}
}

/** Location-Path of a response as "/a/b". */
export function location(res: ClientResponse): string {
	return res.locationPath;
}
