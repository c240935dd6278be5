// The RD client (modules/coap/rd/client.ts, RFC 9176 registrant) against the directory on the
// virtual network: discovery, registration, renewal before the lifetime ends (virtual clock),
// re-registration after 4.04 or a directory that cannot update, retries while the directory
// is away, removal, simple registration, changed links, and lossy links over hours of
// virtual time. Portable: also runs on XS.
import * as assert from "../../support/assert.js";
import { CODE_CREATED } from "../../../modules/coap/constants.js";
import { RdClient, type RdClientOptions, type RdEvent } from "../../../modules/coap/rd/client.js";
import { Router } from "../../../modules/coap/server/router.js";
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { RD_HOST, RD_URI, RdWorld } from "./rig.js";
import { track } from "../endpoint/harness.js";

function deviceRouter(): Router {
	const r = new Router();
	r.add("/sensors/temperature", { rt: "temperature-c", if: "core.s", ct: 0, obs: true, get(_q, res) {
		res.send(0x45, "21.5", 0);
	} });
	r.add("/actuators/led", { rt: "light-switch", if: "core.a", ct: 0, get(_q, res) {
		res.send(0x45, "0", 0);
	} });
	return r;
}

interface Device {
	endpoint: Endpoint;
	router: Router;
	rd: RdClient;
	events: RdEvent[];
}

function device(w: RdWorld, host: string, options: Partial<RdClientOptions> = {}): Device {
	const router = deviceRouter();
	const endpoint = w.endpoint(host, { port: 5683, router });
	const events: RdEvent[] = [];
	const rd = new RdClient({ endpoint, clock: w.net.clock, directory: RD_URI, ep: "dev-" + host, links: router, random: w.net.random(host), onEvent: (e) => events.push(e), ...options });
	return { endpoint, router, rd, events };
}

async function until(w: RdWorld, predicate: () => boolean, maxMs: number, what: string): Promise<void> {
	if (!(await w.net.runUntil(predicate, maxMs))) assert.fail(what + " within " + maxMs + " ms of virtual time");
}

describe("RD client (RFC 9176 registrant) on the virtual network", function () {
	this.timeout(120000);

	it("§4.3 + §5: discovers /rd, registers the router's links with ep, lt and et; the directory's base is the device's address", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.1", { lifetime: 600, attributes: { et: "xscoap-sensor" } });
		d.rd.start();
		await until(w, () => d.rd.registered, 30000, "registered");
		assert.equal(d.rd.state, "registered");
		assert.equal(d.rd.registrationInterface, "/rd");
		assert.equal(d.rd.location, "/reg/1");
		assert.deepEqual(
			d.events.map((e) => e.kind),
			["discovered", "registered"],
		);
		const reg = w.reg("dev-10.0.1.1")!;
		assert.equal(reg.base, "coap://10.0.1.1:5683");
		assert.equal(reg.lt, 600);
		assert.equal(reg.attribute("et"), "xscoap-sensor");
		assert.deepEqual(
			reg.links.map((l) => l.href),
			["/sensors/temperature", "/actuators/led"],
		);
		// A client finds the device through the resource lookup and reads it.
		const [link] = await w.links("/rd-lookup/res", ["rt=temperature-c"]);
		assert.equal(link!.href, "coap://10.0.1.1:5683/sensors/temperature");
		const reading = await w.request({ uri: link!.href });
		assert.equal(reading.text(), "21.5");
		w.close();
	});

	it("§5.3.1: renews before the lifetime ends, for hours of virtual time; the directory never drops it", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.2", { lifetime: 60 });
		d.rd.start();
		await until(w, () => d.rd.registered, 30000, "registered");
		await w.net.runFor(3 * 3600 * 1000);
		assert.ok(w.reg("dev-10.0.1.2") !== undefined, "still registered after 3 h");
		const updates = d.events.filter((e) => e.kind === "updated").length;
		// lt 60 s, renewed 15 s early (a quarter of it): every 45 s.
		assert.ok(updates >= 235 && updates <= 241, updates + " updates in 3 h");
		assert.ok(!w.events.some(([k]) => k === "expired"), "no expiry");
		assert.equal(d.events.filter((e) => e.kind === "error").length, 0);
		w.close();
	});

	it("a directory that forgot the registration (restart, 4.04 on update) gets a fresh registration", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.3", { lifetime: 120 });
		d.rd.start();
		await until(w, () => d.rd.registered, 30000, "registered");
		w.restartDirectory();
		assert.equal(w.directory.size, 0);
		await until(w, () => w.reg("dev-10.0.1.3") !== undefined && d.rd.registered, 120000, "registered again");
		assert.ok(d.events.some((e) => e.kind === "error" && /4\.04/.test(e.detail)));
		assert.equal(d.rd.location, "/reg/1", "the new directory's first registration");
		w.close();
	});

	it("a directory that refuses updates (4.05, as libcoap's coap-rd does) is renewed by registering again", async () => {
		const w = new RdWorld();
		w.rdEndpoint.close();
		// A minimal directory: POST /rd creates /rd/x; the registration resource has no POST.
		let registrations = 0;
		const router = new Router();
		router.add("/rd", { rt: "core.rd", ct: 40, post(_q, res) {
			registrations++;
			res.code = CODE_CREATED;
			res.locationPath = ["rd", "x"];
		} });
		router.add("/rd/x", { get(_q, res) {
			res.code = 0x45;
		} });
		w.endpoint(RD_HOST, { port: 5683, router });
		const d = device(w, "10.0.1.4", { lifetime: 100 });
		d.rd.start();
		await until(w, () => d.rd.registered, 30000, "registered");
		await w.net.runFor(1000 * 1000);
		assert.ok(registrations >= 11 && registrations <= 14, registrations + " registrations in 1000 s at lt 100");
		assert.ok(d.events.some((e) => e.kind === "error" && /4\.05/.test(e.detail)));
		assert.ok(d.rd.registered);
		w.close();
	});

	it("retries with back-off while the directory is away, registers once it appears", async () => {
		const w = new RdWorld();
		w.rdEndpoint.close(); // nobody on the directory's port
		const d = device(w, "10.0.1.5", { retryMs: 2000, maxRetryMs: 60000, timeoutMs: 10000 });
		d.rd.start();
		await w.net.runFor(300000);
		const errors = d.events.filter((e) => e.kind === "error");
		assert.ok(errors.length >= 4, errors.length + " failed attempts");
		// Back-off grows (randomized by ±25 %) and stays under maxRetryMs.
		const delays = errors.map((e) => e.retryInMs);
		assert.ok(delays[0]! >= 1500 && delays[0]! <= 2500, "first retry " + delays[0]);
		assert.ok(delays[3]! >= 12000 && delays[3]! <= 20000, "fourth retry " + delays[3]);
		for (const x of delays) assert.ok(x <= 75000, "retry " + x);
		w.rdEndpoint = w.endpoint(RD_HOST, { port: 5683, router: w.directory.router });
		await until(w, () => d.rd.registered, 200000, "registered once the directory answers");
		assert.ok(w.reg("dev-10.0.1.5") !== undefined);
		w.close();
	});

	it("§5.3.2: stop() removes the registration and resolves true; the directory is empty", async () => {
		const w = new RdWorld();
		const a = device(w, "10.0.1.6");
		const b = device(w, "10.0.1.7");
		a.rd.start();
		b.rd.start();
		await until(w, () => a.rd.registered && b.rd.registered, 30000, "both registered");
		assert.equal(w.directory.size, 2);
		const stopped = track(w.net, Promise.all([a.rd.stop(), b.rd.stop()]));
		await until(w, () => stopped.settled, 30000, "stopped");
		assert.deepEqual(stopped.value, [true, true]);
		assert.equal(w.directory.size, 0);
		assert.equal(a.rd.state, "stopped");
		assert.equal(a.events[a.events.length - 1]!.kind, "removed");
		// No renewals after stop.
		await w.net.runFor(200000);
		assert.equal(w.directory.size, 0);
		assert.throws(() => a.rd.start(), TypeError);
		w.close();
	});

	it("stop() during a registration in flight removes what that registration created", async () => {
		const w = new RdWorld({ delayMs: 50 });
		const d = device(w, "10.0.1.8", { directory: RD_URI + "/rd" });
		d.rd.start();
		const stopped = track(w.net, d.rd.stop());
		await until(w, () => stopped.settled, 30000, "stopped");
		assert.equal(stopped.value, true);
		assert.equal(w.directory.size, 0);
		assert.ok(w.events.some(([k]) => k === "registered") && w.events.some(([k]) => k === "removed"));
		w.close();
	});

	it("linksChanged() registers the new links again, in place", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.9");
		d.rd.start();
		await until(w, () => d.rd.registered, 30000, "registered");
		d.router.add("/sensors/pressure", { rt: "pressure-hpa", ct: 0, get(_q, res) {
			res.send(0x45, "1013", 0);
		} });
		d.rd.linksChanged();
		await until(w, () => w.reg("dev-10.0.1.9")!.links.length === 3, 30000, "links replaced");
		assert.equal(d.rd.location, "/reg/1");
		assert.equal(w.directory.size, 1);
		assert.equal((await w.links("/rd-lookup/res", ["rt=pressure-hpa"])).length, 1);
		w.close();
	});

	it("§5.1 simple registration: registered through /.well-known/rd, refreshed by repeating it, not removable", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.10", { simple: true, lifetime: 80 });
		d.rd.start();
		await until(w, () => d.rd.registered, 60000, "registered");
		assert.equal(d.rd.location, "");
		const reg = w.reg("dev-10.0.1.10")!;
		assert.equal(reg.links.length, 2, "the directory read the device's /.well-known/core");
		await w.net.runFor(600000);
		assert.ok(w.reg("dev-10.0.1.10") !== undefined, "refreshed");
		assert.ok(!w.events.some(([k]) => k === "expired"));
		const stopped = track(w.net, d.rd.stop());
		await until(w, () => stopped.settled, 10000, "stopped");
		assert.equal(stopped.value, true);
		assert.match(d.events[d.events.length - 1]!.detail, /nothing to remove/);
		await w.net.runFor(81000);
		assert.equal(w.reg("dev-10.0.1.10"), undefined, "expired after its lifetime");
		w.close();
	});

	it("a directory URI with a path skips discovery; a directory without rt=core.rd is an error with a retry", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.11", { directory: RD_URI + ":5683/rd" });
		d.rd.start();
		await until(w, () => d.rd.registered, 30000, "registered");
		assert.deepEqual(
			d.events.map((e) => e.kind),
			["registered"],
		);
		// A server without a directory: discovery finds no core.rd.
		const plain = new Router();
		plain.add("/x", {});
		w.endpoint("10.0.0.200", { port: 5683, router: plain });
		const lost = device(w, "10.0.1.12", { directory: "coap://10.0.0.200", retryMs: 1000 });
		lost.rd.start();
		await w.net.runFor(5000);
		assert.ok(lost.events.length >= 1);
		assert.equal(lost.events[0]!.kind, "error");
		assert.match(lost.events[0]!.detail, /no registration interface \(rt=core\.rd\)/);
		assert.equal(lost.rd.state, "waiting");
		w.close();
	});

	it("refused registrations report the directory's diagnostic and retry", async () => {
		const w = new RdWorld();
		const d = device(w, "10.0.1.13", { base: "relative/path", retryMs: 1000 });
		d.rd.start();
		await w.net.runFor(3000);
		const err = d.events.find((e) => e.kind === "error")!;
		assert.match(err.detail, /registration refused: 4\.00/);
		assert.equal(w.directory.size, 0);
		w.close();
	});

	it("stays registered over lossy, duplicating links for hours (several seeds): renewals retry, expiry is recovered", async () => {
		for (const seed of [3, 4, 5]) {
			const w = new RdWorld({ loss: 0.25, duplicate: 0.1, jitterMs: 20, seed });
			const devices = [device(w, "10.0.2.1", { lifetime: 120 }), device(w, "10.0.2.2", { lifetime: 300 }), device(w, "10.0.2.3", { lifetime: 60, simple: true })];
			for (const d of devices) d.rd.start();
			await until(w, () => devices.every((d) => d.rd.registered), 600000, "all registered (seed " + seed + ")");
			let present = 0;
			let checks = 0;
			for (let t = 0; t < 4 * 3600; t += 60) {
				await w.net.runFor(60000);
				for (const d of devices) {
					checks++;
					if (w.reg(d.rd.ep) !== undefined) present++;
				}
			}
			// Loss may let a registration lapse now and then; the client must bring it back.
			assert.ok(present / checks > 0.97, "seed " + seed + ": registered at " + present + " of " + checks + " checks");
			for (const d of devices) assert.ok(w.reg(d.rd.ep) !== undefined || d.rd.state !== "stopped", "seed " + seed);
			const stopped = track(w.net, Promise.all(devices.map((d) => d.rd.stop())));
			await until(w, () => stopped.settled, 200000, "stopped (seed " + seed + ")");
			assert.equal(w.reg(devices[0]!.rd.ep), undefined, "seed " + seed + ": removed");
			assert.equal(w.reg(devices[1]!.rd.ep), undefined, "seed " + seed + ": removed");
			w.close();
		}
	});

	it("local misuse throws at construction: bad ep, sector, lifetime, directory URI", () => {
		const w = new RdWorld();
		const endpoint = w.endpoint("10.0.1.99");
		const base = { endpoint, clock: w.net.clock, directory: RD_URI, ep: "ok" };
		assert.throws(() => new RdClient({ ...base, ep: "" }), RangeError);
		assert.throws(() => new RdClient({ ...base, ep: "x".repeat(64) }), RangeError);
		assert.throws(() => new RdClient({ ...base, sector: "a\nb" }), RangeError);
		assert.throws(() => new RdClient({ ...base, lifetime: 0 }), RangeError);
		assert.throws(() => new RdClient({ ...base, lifetime: 1.5 }), RangeError);
		assert.throws(() => new RdClient({ ...base, directory: "http://x" }), RangeError);
		assert.throws(() => new RdClient({ ...base, directory: "coap://rd.example" }), RangeError);
		assert.throws(() => new RdClient({ ...base, directory: RD_URI + "?x=1" }), RangeError);
		assert.throws(() => new RdClient({ ...base, simple: true, base: "coap://h" }), RangeError);
		assert.throws(() => new RdClient({ ...base, attributes: { lt: "5" } }), RangeError);
		assert.throws(() => new RdClient({ ...base, attributes: { "a b": "5" } }), RangeError);
		assert.throws(() => new RdClient({ ...base, endpoint: undefined as never }), TypeError);
		const withName = new RdClient({ ...base, directory: "coap://rd.example", address: RD_HOST });
		assert.equal(withName.directory, "coap://rd.example:5683");
		w.close();
	});
});
