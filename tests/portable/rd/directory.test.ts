// The resource directory (hosts/node/rd/directory.ts, RFC 9176) on the virtual network:
// discovery, registration, update, removal, lifetime expiry on the virtual clock, lookups with
// filters and paging, sectors, simple registration, malformed requests, snapshot/restore.
// Portable: also runs on XS.
import * as assert from "../../support/assert.js";
import { linkParam } from "../../../modules/coap/rd/links.js";
import { Router } from "../../../modules/coap/server/router.js";
import { ResourceDirectory } from "../../../hosts/node/rd/directory.js";
import { RdWorld, RD_HOST } from "./rig.js";

const LINKS = '</sensors/temp>;rt="temperature-c";if="core.s";ct=0;obs,</sensors/hum>;rt="humidity-rh";ct=0,</led>;rt="light-switch";if="core.a"';

describe("resource directory (RFC 9176) on the virtual network", function () {
	this.timeout(60000);

	it("§4.3: /.well-known/core?rt=core.rd* lists the registration and lookup interfaces", async () => {
		const w = new RdWorld();
		const links = await w.links("/.well-known/core", ["rt=core.rd*"]);
		const byRt = new Map(links.map((l) => [linkParam(l, "rt"), l]));
		assert.equal(byRt.get("core.rd")?.href, "/rd");
		assert.equal(byRt.get("core.rd-lookup-ep")?.href, "/rd-lookup/ep");
		assert.equal(byRt.get("core.rd-lookup-res")?.href, "/rd-lookup/res");
		for (const l of links) assert.equal(linkParam(l, "ct"), "40");
		assert.equal(links.length, 3, "only the three interfaces (registration resources are not listed)");
		w.close();
	});

	it("§5: registration gives 2.01 with a registration resource; base defaults to the source address; GET reads the links back", async () => {
		const w = new RdWorld();
		const res = await w.post("/rd", ["ep=node1", "lt=120", "et=sensor"], LINKS);
		assert.equal(res.codeText, "2.01");
		assert.equal(res.locationPath, "/reg/1");
		const reg = w.reg("node1")!;
		assert.equal(reg.base, "coap://10.0.0.1:" + w.client.port);
		assert.equal(reg.lt, 120);
		assert.equal(reg.attribute("et"), "sensor");
		assert.equal(reg.links.length, 3);
		const back = await w.get("/reg/1");
		assert.equal(back.codeText, "2.05");
		assert.equal(back.contentFormat, 40);
		assert.equal(back.text(), LINKS);
		assert.deepEqual(w.events, [["registered", "node1"]]);
		w.close();
	});

	it("§5: the same ep and d register again in place (same resource, new links); another sector is another endpoint", async () => {
		const w = new RdWorld();
		assert.equal((await w.post("/rd", ["ep=node1"], "</a>")).locationPath, "/reg/1");
		assert.equal((await w.post("/rd", ["ep=node2"], "</b>")).locationPath, "/reg/2");
		const again = await w.post("/rd", ["ep=node1", "lt=99"], "</c>,</d>");
		assert.equal(again.codeText, "2.01");
		assert.equal(again.locationPath, "/reg/1");
		assert.equal(w.reg("node1")!.linksText, "</c>,</d>");
		assert.equal(w.reg("node1")!.lt, 99);
		const other = await w.post("/rd", ["ep=node1", "d=floor2"], "</e>");
		assert.equal(other.locationPath, "/reg/3");
		assert.equal(w.directory.size, 3);
		assert.equal(w.reg("node1", "floor2")!.linksText, "</e>");
		// The endpoint lookup tells them apart by d.
		const eps = await w.links("/rd-lookup/ep", ["ep=node1"]);
		assert.deepEqual(
			eps.map((l) => [l.href, linkParam(l, "d")]),
			[
				["/reg/1", undefined],
				["/reg/3", "floor2"],
			],
		);
		assert.equal((await w.links("/rd-lookup/ep", ["d=floor2"])).length, 1);
		w.close();
	});

	it("§5: the default lifetime is 90000 s", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=n"], "</a>");
		assert.equal(w.reg("n")!.lt, 90000);
		assert.ok(w.reg("n")!.expiresAt - w.net.clock.now() > 89990 * 1000);
		w.close();
	});

	it("§5.3.1: payload-less updates renew the lifetime; without updates the registration expires on the virtual clock", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1", "lt=60"], "</a>");
		await w.post("/rd", ["ep=node2", "lt=60"], "</b>");
		for (let i = 0; i < 5; i++) {
			await w.net.runFor(50000);
			const up = await w.post("/reg/1", []);
			assert.equal(up.codeText, "2.04", "update " + i);
		}
		// node2 was never updated: gone after 60 s; node1 (updated every 50 s) is still there.
		assert.equal(w.reg("node2"), undefined);
		assert.ok(w.reg("node1") !== undefined);
		assert.ok(w.events.some(([k, ep]) => k === "expired" && ep === "node2"));
		await w.net.runFor(61000);
		assert.equal(w.reg("node1"), undefined, "expired 60 s after its last update");
		const late = await w.post("/reg/1", []);
		assert.equal(late.codeText, "4.04", "an update after expiry: the registrant must register again");
		assert.equal((await w.get("/reg/1")).codeText, "4.04");
		w.close();
	});

	it("§5.3.1: an update changes lt, an explicit base, attributes; a non-explicit base follows the source address", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1", "lt=60"], "</a>");
		const other = w.endpoint("10.0.0.7", { port: 6000 });
		const up = await w.request({ method: "POST", path: "/reg/1", query: ["lt=300", "et=thing"] }, other);
		assert.equal(up.codeText, "2.04");
		const reg = w.reg("node1")!;
		assert.equal(reg.lt, 300);
		assert.equal(reg.attribute("et"), "thing");
		assert.equal(reg.base, "coap://10.0.0.7:6000", "§5.3.1: the base follows the update's source");
		await w.post("/reg/1", ["base=coap://[2001:db8::1]:5683"]);
		assert.equal(reg.base, "coap://[2001:db8::1]:5683");
		await w.post("/reg/1", []);
		assert.equal(reg.base, "coap://[2001:db8::1]:5683", "an explicit base stays");
		const res = await w.links("/rd-lookup/res");
		assert.equal(res[0]!.href, "coap://[2001:db8::1]:5683/a");
		w.close();
	});

	it("changed-links update: a link-format payload in the update replaces the links", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1"], "</a>,</b>");
		const up = await w.post("/reg/1", [], '</c>;rt="new"');
		assert.equal(up.codeText, "2.04");
		assert.equal(w.reg("node1")!.linksText, '</c>;rt="new"');
		assert.equal((await w.links("/rd-lookup/res", ["rt=new"])).length, 1);
		w.close();
	});

	it("§5.3.2: DELETE removes (2.02); a second DELETE and later requests get 4.04", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1"], "</a>");
		const del = await w.request({ method: "DELETE", path: "/reg/1" });
		assert.equal(del.codeText, "2.02");
		assert.equal(w.directory.size, 0);
		assert.equal((await w.request({ method: "DELETE", path: "/reg/1" })).codeText, "4.04");
		assert.equal((await w.post("/reg/1", [])).codeText, "4.04");
		assert.equal((await w.links("/rd-lookup/ep")).length, 0);
		// Ids are not reused.
		assert.equal((await w.post("/rd", ["ep=node1"], "</a>")).locationPath, "/reg/2");
		w.close();
	});

	it("/reg paths that name no registration are 4.04; methods it lacks are 4.05", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1"], "</a>");
		for (const p of ["/reg", "/reg/2", "/reg/01", "/reg/1/x", "/reg/abc"]) assert.equal((await w.get(p)).codeText, "4.04", p);
		assert.equal((await w.request({ method: "PUT", path: "/reg/1", payload: "</x>", contentFormat: 40 })).codeText, "4.05");
		assert.equal((await w.request({ method: "DELETE", path: "/rd" })).codeText, "4.05");
		w.close();
	});

	it("§6 resource lookup: absolute targets, anchors, attribute and endpoint filters, href prefixes", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1", "et=sensor"], LINKS);
		await w.post("/rd", ["ep=node2", "base=coap://192.0.2.5:7000"], '</sensors/temp>;rt="temperature-c";ct=0,<coap://198.51.100.1/x>;anchor="/sensors/temp";rel="describedby"');
		const all = await w.links("/rd-lookup/res");
		assert.equal(all.length, 5);
		const base1 = "coap://10.0.0.1:" + w.client.port;
		assert.equal(all[0]!.href, base1 + "/sensors/temp");
		assert.equal(linkParam(all[0]!, "anchor"), base1);
		assert.equal(linkParam(all[0]!, "rt"), "temperature-c");
		assert.equal(linkParam(all[0]!, "obs"), "");
		assert.equal(all[4]!.href, "coap://198.51.100.1/x", "an absolute target stays");
		assert.equal(linkParam(all[4]!, "anchor"), "coap://192.0.2.5:7000/sensors/temp", "the anchor is resolved against the base");
		const temps = await w.links("/rd-lookup/res", ["rt=temperature-c"]);
		assert.deepEqual(
			temps.map((l) => l.href),
			[base1 + "/sensors/temp", "coap://192.0.2.5:7000/sensors/temp"],
		);
		assert.equal((await w.links("/rd-lookup/res", ["rt=temp*"])).length, 2);
		assert.equal((await w.links("/rd-lookup/res", ["rt=temperature-c", "ep=node2"])).length, 1);
		assert.equal((await w.links("/rd-lookup/res", ["et=sensor"])).length, 3, "endpoint attributes filter resources");
		assert.equal((await w.links("/rd-lookup/res", ["if=core.a"])).length, 1);
		assert.equal((await w.links("/rd-lookup/res", ["obs"])).length, 1, "a bare filter: the attribute is present");
		assert.equal((await w.links("/rd-lookup/res", ["href=/sensors/*"])).length, 3, "href prefix on the registered reference");
		assert.equal((await w.links("/rd-lookup/res", ["href=coap://192.0.2.5:7000/*"])).length, 1, "href prefix on the resolved target");
		assert.equal((await w.links("/rd-lookup/res", ["rt=nothing"])).length, 0);
		const empty = await w.get("/rd-lookup/res", ["rt=nothing"]);
		assert.equal(empty.codeText, "2.05");
		assert.equal(empty.payload.length, 0);
		w.close();
	});

	it("§6 endpoint lookup: registration resources with ep, d, base and extra attributes; filters on them or on any of their links", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=node1", "et=sensor"], LINKS);
		await w.post("/rd", ["ep=node2", "d=lab"], "</a>");
		const eps = await w.links("/rd-lookup/ep");
		assert.equal(eps.length, 2);
		assert.equal(eps[0]!.href, "/reg/1");
		assert.equal(linkParam(eps[0]!, "ep"), "node1");
		assert.equal(linkParam(eps[0]!, "base"), "coap://10.0.0.1:" + w.client.port);
		assert.equal(linkParam(eps[0]!, "et"), "sensor");
		assert.equal(linkParam(eps[0]!, "rt"), "core.rd-ep");
		assert.equal(linkParam(eps[1]!, "d"), "lab");
		assert.deepEqual(
			(await w.links("/rd-lookup/ep", ["rt=light-switch"])).map((l) => linkParam(l, "ep")),
			["node1"],
		);
		assert.deepEqual(
			(await w.links("/rd-lookup/ep", ["ep=node*"])).map((l) => linkParam(l, "ep")),
			["node1", "node2"],
		);
		assert.deepEqual(
			(await w.links("/rd-lookup/ep", ["href=/reg/2"])).map((l) => linkParam(l, "ep")),
			["node2"],
		);
		assert.equal((await w.links("/rd-lookup/ep", ["et=sensor", "d=lab"])).length, 0, "all filters must match");
		w.close();
	});

	it("§6 paging: count limits, page (with count) skips page*count links; malformed paging is 4.00", async () => {
		const w = new RdWorld();
		for (let i = 0; i < 7; i++) await w.post("/rd", ["ep=n" + i], "</a" + i + ">,</b" + i + ">");
		const names = async (q: string[]) => (await w.links("/rd-lookup/ep", q)).map((l) => linkParam(l, "ep"));
		assert.deepEqual(await names(["count=3"]), ["n0", "n1", "n2"]);
		assert.deepEqual(await names(["count=3", "page=1"]), ["n3", "n4", "n5"]);
		assert.deepEqual(await names(["page=2", "count=3"]), ["n6"]);
		assert.deepEqual(await names(["page=3", "count=3"]), []);
		assert.deepEqual(await names(["count=0"]), []);
		const res = await w.links("/rd-lookup/res", ["page=2", "count=4"]);
		assert.deepEqual(
			res.map((l) => l.href.slice(l.href.lastIndexOf("/"))),
			["/a4", "/b4", "/a5", "/b5"],
		);
		for (const [q, re] of [
			[["page=1"], /page needs count/],
			[["count=x"], /count must be a whole number/],
			[["count=-1"], /count must be a whole number/],
			[["count=1", "count=2"], /count given twice/],
		] as [string[], RegExp][]) {
			const bad = await w.get("/rd-lookup/ep", q);
			assert.equal(bad.codeText, "4.00", q.join("&"));
			assert.match(bad.text(), re);
		}
		w.close();
	});

	it("a lookup larger than one block is read block-wise (RFC 7959) and is the same as the pages put together", async () => {
		const w = new RdWorld();
		for (let i = 0; i < 60; i++) await w.post("/rd", ["ep=device-" + String(i).padStart(3, "0")], LINKS);
		const res = await w.get("/rd-lookup/res");
		assert.ok(res.payload.length > 5000, "body " + res.payload.length + " bytes");
		const all = await w.links("/rd-lookup/res");
		assert.equal(all.length, 180);
		const paged: string[] = [];
		for (let page = 0; ; page++) {
			const part = await w.links("/rd-lookup/res", ["count=50", "page=" + page]);
			if (part.length === 0) break;
			for (const l of part) paged.push(l.href);
		}
		assert.deepEqual(
			paged,
			all.map((l) => l.href),
		);
		w.close();
	});

	it("malformed registrations get 4.00 with a diagnostic; a payload in another format 4.15; nothing is stored", async () => {
		const w = new RdWorld();
		const cases: [string[], string | undefined, RegExp][] = [
			[[], "</a>", /ep \(endpoint name\) is required/],
			[["ep="], "</a>", /non-empty/],
			[["ep"], "</a>", /needs a value/],
			[["ep=" + "x".repeat(64)], "</a>", /at most 63 bytes/],
			[["ep=a\u0007b"], "</a>", /control characters/],
			[["ep=a", "ep=b"], "</a>", /given twice/],
			[["ep=a", "lt=0"], "</a>", /lt must be a lifetime/],
			[["ep=a", "lt=4294967296"], "</a>", /lt must be a lifetime/],
			[["ep=a", "lt=ten"], "</a>", /lt must be a lifetime/],
			[["ep=a", "base=/relative"], "</a>", /base must be an absolute URI/],
			[["ep=a", "base=coap://h/?q"], "</a>", /base must be/],
			[["ep=a", "d=" + "\u0085"], "</a>", /control characters/],
			[["ep=a", "page=1"], "</a>", /not a registration parameter/],
			[["ep=a"], "</a", /not link-format.*unterminated/],
			[["ep=a"], "/a", /not link-format.*expected '<'/],
		];
		for (const [query, payload, re] of cases) {
			const res = await w.post("/rd", query, payload);
			assert.equal(res.codeText, "4.00", query.join("&") + " " + payload);
			assert.equal(res.contentFormat, 0);
			assert.match(res.text(), re, query.join("&"));
		}
		const binary = await w.request({ method: "POST", path: "/rd", query: ["ep=a"], payload: Uint8Array.of(0x3c, 0xff, 0x3e), contentFormat: 40 });
		assert.equal(binary.codeText, "4.00");
		assert.match(binary.text(), /not UTF-8/);
		const json = await w.post("/rd", ["ep=a"], '{"a":1}', { contentFormat: 50 });
		assert.equal(json.codeText, "4.15");
		assert.match(json.text(), /link-format/);
		assert.equal(w.directory.size, 0);
		// An update may not change ep or d, and is checked like a registration.
		await w.post("/rd", ["ep=a"], "</a>");
		for (const q of [["ep=b"], ["d=x"], ["lt=0"], ["base=x"]]) {
			const res = await w.post("/reg/1", q);
			assert.equal(res.codeText, "4.00", q[0]);
		}
		assert.equal((await w.post("/reg/1", [], "<bad")).codeText, "4.00");
		assert.equal(w.reg("a")!.linksText, "</a>", "a refused update changes nothing");
		w.close();
	});

	it("§5: a registration without a payload has no links (and still answers lookups)", async () => {
		const w = new RdWorld();
		const res = await w.post("/rd", ["ep=bare"]);
		assert.equal(res.codeText, "2.01");
		assert.equal(w.reg("bare")!.links.length, 0);
		assert.equal((await w.links("/rd-lookup/ep")).length, 1);
		assert.equal((await w.links("/rd-lookup/res")).length, 0);
		w.close();
	});

	it("§5.1 simple registration: the directory reads the registrant's /.well-known/core, then answers 2.04", async () => {
		const w = new RdWorld();
		const router = new Router();
		router.add("/sensors/temp", { rt: "temperature-c", ct: 0, obs: true, get(_q, r) {
			r.send(0x45, "21");
		} });
		const device = w.endpoint("10.0.0.5", { port: 5683, router });
		const res = await w.request({ method: "POST", path: "/.well-known/rd", query: ["ep=simple1", "lt=300"] }, device);
		assert.equal(res.codeText, "2.04");
		const reg = w.reg("simple1")!;
		assert.equal(reg.base, "coap://10.0.0.5:5683");
		assert.equal(reg.lt, 300);
		const found = await w.links("/rd-lookup/res", ["rt=temperature-c"]);
		assert.equal(found[0]!.href, "coap://10.0.0.5:5683/sensors/temp");
		// Simple registrations replace like full ones, and refuse base and payloads.
		assert.equal((await w.request({ method: "POST", path: "/.well-known/rd", query: ["ep=simple1"] }, device)).codeText, "2.04");
		assert.equal(w.directory.size, 1);
		const withBase = await w.request({ method: "POST", path: "/.well-known/rd", query: ["ep=s2", "base=coap://h"] }, device);
		assert.equal(withBase.codeText, "4.00");
		const withPayload = await w.request({ method: "POST", path: "/.well-known/rd", query: ["ep=s2"], payload: "</a>", contentFormat: 40 }, device);
		assert.equal(withPayload.codeText, "4.00");
		w.close();
	});

	it("§5.1: a registrant whose /.well-known/core does not answer gets 5.04 and is not registered", async () => {
		const w = new RdWorld();
		// The client endpoint has no router: its /.well-known/core is 4.04.
		const res = await w.request({ method: "POST", path: "/.well-known/rd", query: ["ep=nobody"] });
		assert.equal(res.codeText, "4.00");
		assert.match(res.text(), /answered 4\.04/);
		assert.equal(w.directory.size, 0);
		w.close();
	});

	it("registers and reads lookups over a lossy, duplicating network (CON retransmission, deduplication)", async () => {
		const w = new RdWorld({ loss: 0.2, duplicate: 0.2, seed: 21 });
		for (let i = 0; i < 10; i++) {
			const res = await w.post("/rd", ["ep=lossy" + i, "lt=3600"], LINKS);
			assert.equal(res.codeText, "2.01");
		}
		assert.equal(w.directory.size, 10);
		assert.equal((await w.links("/rd-lookup/ep")).length, 10);
		assert.equal((await w.links("/rd-lookup/res", ["rt=temperature-c"])).length, 10);
		w.close();
	});

	it("snapshot/restore: registrations survive with their ids and remaining lifetime; those whose time ran out are dropped", async () => {
		const w = new RdWorld();
		await w.post("/rd", ["ep=long", "lt=3600", "et=x"], LINKS);
		await w.post("/rd", ["ep=short", "lt=30", "d=s"], "</a>");
		await w.post("/rd", ["ep=gone", "lt=1000"], "</a>");
		await w.request({ method: "DELETE", path: "/reg/3" });
		await w.net.runFor(10000);
		const snap = JSON.parse(JSON.stringify(w.directory.snapshot()));
		assert.equal(snap.nextId, 4);
		assert.equal(snap.registrations.length, 2);
		w.restartDirectory();
		w.directory.restore(snap, 25000); // 25 s later: "short" had 20 s left
		assert.equal(w.directory.size, 1);
		const reg = w.reg("long")!;
		assert.equal(reg.id, 1);
		assert.equal(reg.attribute("et"), "x");
		assert.equal(reg.linksText, LINKS);
		const left = reg.expiresAt - w.net.clock.now();
		assert.ok(left <= 3600000 - 10000 - 25000 && left > 3600000 - 10000 - 25000 - 100, "lifetime left " + left);
		// New registrations continue the ids; the expiry timer runs for restored ones.
		assert.equal((await w.post("/rd", ["ep=new"], "</n>")).locationPath, "/reg/4");
		await w.net.runFor(3600000);
		assert.equal(w.reg("long"), undefined);
		w.close();
	});

	it("restore refuses a malformed snapshot with a message naming the record", () => {
		const w = new RdWorld();
		const good = { id: 1, ep: "a", d: null, lt: 60, base: "coap://h:1", baseExplicit: false, attributes: [], links: "</a>", remainingMs: 1000 };
		const bad: [unknown, RegExp][] = [
			[null, /not a directory snapshot/],
			[{ nextId: 2 }, /not a directory snapshot/],
			[{ nextId: 2, registrations: [{ ...good, ep: "" }] }, /registration 0: ep/],
			[{ nextId: 2, registrations: [{ ...good, links: "<oops" }] }, /registration 0: links: unterminated/],
			[{ nextId: 2, registrations: [{ ...good, lt: 0 }] }, /registration 0: lt/],
			[{ nextId: 2, registrations: [{ ...good, base: "nope" }] }, /registration 0: base/],
			[{ nextId: 1, registrations: [good] }, /registration 0: bad or repeated id/],
			[{ nextId: 3, registrations: [good, { ...good, id: 2 }] }, /registration 1: endpoint a is registered twice/],
			[{ nextId: 2, registrations: [{ ...good, attributes: [["x"]] }] }, /attributes/],
		];
		for (const [snap, re] of bad) {
			const e = assert.throws(() => w.directory.restore(snap as never), TypeError);
			assert.match(String((e as Error).message), re);
			assert.equal(w.directory.size, 0, "nothing half-restored");
		}
		w.close();
	});

	it("a full directory answers 5.03 with Max-Age; re-registrations of known endpoints still work", async () => {
		const w = new RdWorld();
		w.rdEndpoint.close();
		w.directory.close();
		w.directory = new ResourceDirectory({ clock: w.net.clock, maxRegistrations: 2 });
		w.rdEndpoint = w.endpoint(RD_HOST, { port: 5683, router: w.directory.router });
		await w.post("/rd", ["ep=a"], "</a>");
		await w.post("/rd", ["ep=b"], "</b>");
		const full = await w.post("/rd", ["ep=c"], "</c>");
		assert.equal(full.codeText, "5.03");
		assert.equal(full.maxAge, 60);
		assert.equal((await w.post("/rd", ["ep=a"], "</a2>")).codeText, "2.01");
		w.close();
	});
});
