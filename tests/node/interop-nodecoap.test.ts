/**
 * Interoperability with node-coap (npm "coap" 1.5.0) over real UDP loopback:
 *
 * - xscoap's client (hosts/node openEndpoint) against a `coap.createServer` server, including a
 *   slow handler that makes node-coap answer with an empty ACK and a separate response;
 * - node-coap's client (`coap.request`) against `xscoap serve`.
 *
 * Both directions run CON and NON.
 */
import assert from "node:assert/strict";
import coap from "coap";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import { CoapError } from "../../modules/coap/errors.js";
import { openEndpoint } from "../../hosts/node/ports.js";
import { ACK, CON, NON, freeUdpPort, haveIpv6Loopback, killAll, startXscoapServer, type XscoapServer } from "./helpers.js";

type NodeCoapServer = ReturnType<typeof coap.createServer>;
type NodeCoapIncoming = InstanceType<typeof coap.IncomingMessage>;
type NodeCoapOutgoing = InstanceType<typeof coap.OutgoingMessage>;

/** Starts a node-coap server on 127.0.0.1 at a free port (retrying if the port was taken meanwhile). */
async function listenNodeCoap(handler: (req: NodeCoapIncoming, res: NodeCoapOutgoing) => void): Promise<{ server: NodeCoapServer; port: number }> {
	let lastError: unknown;
	for (let attempt = 0; attempt < 5; attempt++) {
		const port = await freeUdpPort("127.0.0.1");
		const server = coap.createServer({ type: "udp4" }, handler);
		try {
			await new Promise<void>((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error("node-coap server did not start listening")), 5000);
				server.once("error", (e: Error) => {
					clearTimeout(timer);
					reject(e);
				});
				server.listen(port, "127.0.0.1", (err?: Error) => {
					clearTimeout(timer);
					if (err) reject(err);
					else resolve();
				});
			});
			return { server, port };
		} catch (e) {
			lastError = e;
			try {
				server.close();
			} catch {
				// not listening
			}
		}
	}
	throw new Error("could not start a node-coap server: " + String(lastError));
}

interface NodeCoapResponse {
	code: string;
	payload: string;
	headers: Record<string, unknown>;
	/** The response's message type: ACK (piggybacked), CON or NON. */
	type: number;
	token: Buffer;
}

/** One node-coap client request, bounded by `timeoutMs`. */
function nodeCoapRequest(
	agent: InstanceType<typeof coap.Agent>,
	params: { hostname: string; port: number; pathname: string; method?: "GET" | "POST" | "PUT" | "DELETE"; confirmable: boolean; query?: string; contentFormat?: string | number; accept?: string | number },
	payload?: string,
	timeoutMs = 8000,
): Promise<NodeCoapResponse> {
	return new Promise((resolve, reject) => {
		const req = coap.request({ ...params, agent });
		const timer = setTimeout(() => reject(new Error("node-coap request timed out: " + JSON.stringify(params))), timeoutMs);
		req.on("response", (res: NodeCoapIncoming) => {
			clearTimeout(timer);
			const p = res._packet;
			resolve({
				code: res.code,
				payload: res.payload.toString("utf8"),
				headers: res.headers as Record<string, unknown>,
				type: p.ack ? ACK : p.confirmable ? CON : p.reset ? 3 : NON,
				token: Buffer.from(p.token ?? Buffer.alloc(0)),
			});
		});
		req.on("error", (e: Error) => {
			clearTimeout(timer);
			reject(e);
		});
		req.on("timeout", (e: Error) => {
			clearTimeout(timer);
			reject(e ?? new Error("timeout"));
		});
		req.end(payload);
	});
}

describe("interop: node-coap", function () {
	this.timeout(20000);

	after(() => killAll());

	describe("xscoap client → node-coap server", () => {
		let server: NodeCoapServer | undefined;
		let port = 0;
		let ep: Endpoint | undefined;
		const seen: { method: string; url: string; confirmable: boolean; payload: string; contentFormat: unknown }[] = [];

		before(async () => {
			({ server, port } = await listenNodeCoap((req, res) => {
				seen.push({ method: req.method, url: req.url, confirmable: req._packet.confirmable === true, payload: req.payload.toString("utf8"), contentFormat: req.headers["Content-Format"] });
				const path = req.url.split("?")[0];
				if (path === "/hello" && req.method === "GET") {
					res.setOption("Content-Format", "text/plain");
					res.end("hello from node-coap");
				} else if (path === "/data" && (req.method === "POST" || req.method === "PUT")) {
					res.code = "2.04";
					res.setOption("Content-Format", "application/json");
					res.end(JSON.stringify({ got: req.payload.toString("utf8"), method: req.method }));
				} else if (path === "/slow" && req.method === "GET") {
					// Longer than node-coap's piggybackReplyMs (50 ms): empty ACK, then a separate response.
					setTimeout(() => res.end("slow answer"), 400);
				} else if (path === "/query") {
					res.end(req.url);
				} else {
					res.code = "4.04";
					res.end();
				}
			}));
			ep = await openEndpoint({ address: "127.0.0.1" });
		});

		after(async () => {
			ep?.close();
			if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
		});

		const uri = (path: string) => "coap://127.0.0.1:" + port + path;

		for (const confirmable of [true, false]) {
			const mode = confirmable ? "CON" : "NON";

			it(mode + " GET /hello → 2.05 text/plain", async () => {
				seen.length = 0;
				const res = await ep!.request({ uri: uri("/hello"), confirmable });
				assert.equal(res.codeText, "2.05");
				assert.equal(res.text(), "hello from node-coap");
				assert.equal(res.contentFormat, 0);
				if (confirmable) assert.equal(res.type, ACK, "piggybacked response");
				assert.equal(seen.length, 1);
				assert.equal(seen[0]!.method, "GET");
				assert.equal(seen[0]!.confirmable, confirmable);
			});

			it(mode + " POST /data with a JSON payload → 2.04, the server saw payload and Content-Format", async () => {
				seen.length = 0;
				const body = JSON.stringify({ mode, n: 42, text: "héllo" });
				const res = await ep!.request({ method: "POST", uri: uri("/data"), payload: body, contentFormat: 50, confirmable });
				assert.equal(res.codeText, "2.04");
				assert.equal(res.contentFormat, 50);
				assert.deepEqual(JSON.parse(res.text()), { got: body, method: "POST" });
				assert.equal(seen[0]!.payload, body);
				assert.equal(seen[0]!.contentFormat, "application/json");
			});

			it(mode + " PUT /data with a binary payload → 2.04", async () => {
				const body = "binary-ish \u0001\u0002 payload";
				const res = await ep!.request({ method: "PUT", uri: uri("/data"), payload: new TextEncoder().encode(body), contentFormat: 42, confirmable });
				assert.equal(res.codeText, "2.04");
				assert.equal(JSON.parse(res.text()).got, body);
			});

			it(mode + " GET with Uri-Query arguments reaches node-coap as ?a=1&b=x", async () => {
				const res = await ep!.request({ uri: uri("/query?a=1&b=x"), confirmable });
				assert.equal(res.codeText, "2.05");
				assert.equal(res.text(), "/query?a=1&b=x");
			});

			it(mode + " GET /missing → 4.04 (a response, not an error)", async () => {
				const res = await ep!.request({ uri: uri("/missing"), confirmable });
				assert.equal(res.codeText, "4.04");
				assert.equal(res.ok, false);
			});
		}

		it("CON GET /slow: node-coap sends an empty ACK then a separate CON response; xscoap ACKs it (RFC 7252 §5.2.2)", async () => {
			const res = await ep!.request({ uri: uri("/slow"), confirmable: true, timeoutMs: 8000 });
			assert.equal(res.codeText, "2.05");
			assert.equal(res.text(), "slow answer");
			assert.equal(res.type, CON, "separate response comes as CON");
		});

		it("NON GET /slow: the (late) NON response is matched by token", async () => {
			const res = await ep!.request({ uri: uri("/slow"), confirmable: false, timeoutMs: 8000 });
			assert.equal(res.codeText, "2.05");
			assert.equal(res.text(), "slow answer");
		});

		it("several requests in flight at once all complete (NSTART queueing)", async () => {
			const many = await Promise.all([1, 2, 3, 4].map((i) => ep!.request({ method: "POST", uri: uri("/data"), payload: "n" + i })));
			assert.deepEqual(
				many.map((r) => JSON.parse(r.text()).got),
				["n1", "n2", "n3", "n4"],
			);
		});

		it("a request to a port where nothing listens rejects with COAP_UNREACHABLE (ICMP), not a timeout", async () => {
			const closed = await freeUdpPort("127.0.0.1");
			await assert.rejects(ep!.request({ uri: "coap://127.0.0.1:" + closed + "/hello", timeoutMs: 60000 }), (e: unknown) => e instanceof CoapError && e.code === "COAP_UNREACHABLE");
		});
	});

	describe("node-coap client → xscoap serve", () => {
		let server: XscoapServer | undefined;
		let agent: InstanceType<typeof coap.Agent> | undefined;

		before(async () => {
			server = await startXscoapServer("127.0.0.1");
			agent = new coap.Agent({ type: "udp4" });
		});

		after(async () => {
			agent?.close();
			await server?.child.stop();
		});

		const at = (pathname: string) => ({ hostname: "127.0.0.1", port: server!.port, pathname });

		for (const confirmable of [true, false]) {
			const mode = confirmable ? "CON" : "NON";
			const expectedType = confirmable ? ACK : NON;

			it(mode + " GET /hello → 2.05 \"Hello, world!\" text/plain", async () => {
				const res = await nodeCoapRequest(agent!, { ...at("/hello"), method: "GET", confirmable });
				assert.equal(res.code, "2.05");
				assert.equal(res.payload, "Hello, world!");
				assert.equal(res.headers["Content-Format"], "text/plain");
				assert.equal(res.type, expectedType);
			});

			it(mode + " POST /echo with a JSON payload → 2.04 echoed with its Content-Format", async () => {
				const body = JSON.stringify({ from: "node-coap", mode, ok: true });
				const res = await nodeCoapRequest(agent!, { ...at("/echo"), method: "POST", confirmable, contentFormat: "application/json" }, body);
				assert.equal(res.code, "2.04");
				assert.equal(res.payload, body);
				assert.equal(res.headers["Content-Format"], "application/json");
				assert.equal(res.type, expectedType);
			});

			it(mode + " PUT /echo with a text payload → 2.04 echoed", async () => {
				const body = "ünïcödé text " + mode;
				const res = await nodeCoapRequest(agent!, { ...at("/echo"), method: "PUT", confirmable, contentFormat: "text/plain" }, body);
				assert.equal(res.code, "2.04");
				assert.equal(res.payload, body);
			});

			it(mode + " POST /counter increments", async () => {
				const a = await nodeCoapRequest(agent!, { ...at("/counter"), method: "POST", confirmable });
				const b = await nodeCoapRequest(agent!, { ...at("/counter"), method: "POST", confirmable });
				assert.equal(a.code, "2.04");
				assert.equal(Number(b.payload), Number(a.payload) + 1);
			});

			it(mode + " GET /.well-known/core?rt=xscoap.time → link-format with </time> only", async () => {
				const all = await nodeCoapRequest(agent!, { ...at("/.well-known/core"), method: "GET", confirmable });
				assert.equal(all.code, "2.05");
				assert.equal(all.headers["Content-Format"], "application/link-format");
				assert.ok(all.payload.includes("</hello>"), all.payload);
				const filtered = await nodeCoapRequest(agent!, { ...at("/.well-known/core"), method: "GET", confirmable, query: "rt=xscoap.time" });
				assert.ok(filtered.payload.startsWith("</time>"), filtered.payload);
				assert.ok(!filtered.payload.includes("</hello>"), filtered.payload);
			});

			it(mode + " DELETE /hello → 4.05, GET /nope → 4.04", async () => {
				const d = await nodeCoapRequest(agent!, { ...at("/hello"), method: "DELETE", confirmable });
				assert.equal(d.code, "4.05");
				const g = await nodeCoapRequest(agent!, { ...at("/nope"), method: "GET", confirmable });
				assert.equal(g.code, "4.04");
			});

			it(mode + " GET /hello with Accept: application/json → 4.06 (RFC 7252 §5.10.4)", async () => {
				const res = await nodeCoapRequest(agent!, { ...at("/hello"), method: "GET", confirmable, accept: "application/json" });
				assert.equal(res.code, "4.06");
			});
		}

		it("20 concurrent node-coap requests are all answered", async () => {
			const results = await Promise.all(Array.from({ length: 20 }, (_, i) => nodeCoapRequest(agent!, { ...at("/echo"), method: "POST", confirmable: i % 2 === 0 }, "req " + i)));
			assert.deepEqual(
				results.map((r) => r.payload),
				Array.from({ length: 20 }, (_, i) => "req " + i),
			);
		});

		it("over [::1] with a udp6 agent (skipped without IPv6 loopback)", async function () {
			if (!(await haveIpv6Loopback())) {
				console.log("      (skipped: this machine has no IPv6 loopback ::1)");
				this.skip();
			}
			const v6 = await startXscoapServer("::1");
			const agent6 = new coap.Agent({ type: "udp6" });
			try {
				for (const confirmable of [true, false]) {
					const res = await nodeCoapRequest(agent6, { hostname: "::1", port: v6.port, pathname: "/hello", method: "GET", confirmable });
					assert.equal(res.code, "2.05");
					assert.equal(res.payload, "Hello, world!");
				}
			} finally {
				agent6.close();
				await v6.child.stop();
			}
		});
	});
});
