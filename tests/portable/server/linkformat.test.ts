// server/linkformat.ts: RFC 6690 link serialization and the §4.1 query filter, over resources
// registered with the Router. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { linkFormat, linkOf, matchesFilter } from "../../../modules/coap/server/linkformat.js";
import { Router, type Handler } from "../../../modules/coap/server/router.js";

const noop: Handler = () => undefined;

function sample(): Router {
	const r = new Router();
	r.add("/sensors/temp", { get: noop, rt: "temperature-c", if: "sensor", ct: 0, obs: true, sz: 5 });
	r.add("/sensors/light", { get: noop, rt: ["light-lux", "core.s"], if: "sensor", ct: [0, 50], title: "Light" });
	r.add("/actuators/led", { put: noop, rt: "core.a", ct: 60 });
	r.add("/secret", { get: noop, rt: "temperature-k", hidden: true });
	return r;
}

describe("server/linkformat: serialization (RFC 6690 §2, §3)", () => {
	it("RFC 6690 §5 style: path, rt and if", () => {
		const r = new Router();
		r.add("/sensors/temp", { get: noop, rt: "temperature-c", if: "sensor" });
		r.add("/sensors/light", { get: noop, rt: "light-lux", if: "sensor" });
		assert.equal(linkFormat(r.resources, []),
			'</sensors/temp>;rt="temperature-c";if="sensor",</sensors/light>;rt="light-lux";if="sensor"');
	});

	it("all attributes: rt and if as quoted space-separated lists, ct, sz, obs, title", () => {
		const r = new Router();
		const res = r.add("/s/t", { get: noop, rt: ["a", "b"], if: ["core.s", "core.rp"], ct: 0, sz: 100, obs: true, title: "T \"q\" \\" });
		assert.equal(linkOf(res), '</s/t>;rt="a b";if="core.s core.rp";ct=0;sz=100;obs;title="T \\"q\\" \\\\"');
	});

	it("several content formats are one quoted, space-separated ct (RFC 7252 §7.2.1)", () => {
		const r = new Router();
		assert.equal(linkOf(r.add("/x", { get: noop, ct: [0, 50, 60] })), '</x>;ct="0 50 60"');
	});

	it("no attributes: just the target; sz=0 is written, no sz when absent", () => {
		const r = new Router();
		assert.equal(linkOf(r.add("/bare", { get: noop })), "</bare>");
		assert.equal(linkOf(r.add("/zero", { get: noop, sz: 0 })), "</zero>;sz=0");
		assert.equal(linkOf(r.add("/", { get: noop })), "</>");
	});

	it("hidden resources are left out of the document", () => {
		const doc = linkFormat(sample().resources, []);
		assert.equal(doc,
			'</sensors/temp>;rt="temperature-c";if="sensor";ct=0;sz=5;obs,' +
			'</sensors/light>;rt="light-lux core.s";if="sensor";ct="0 50";title="Light",' +
			'</actuators/led>;rt="core.a";ct=60');
		assert.ok(doc.indexOf("secret") < 0);
	});

	it("an empty registry gives an empty document", () => {
		assert.equal(linkFormat([], []), "");
	});
});

describe("server/linkformat: filtering (RFC 6690 §4.1)", () => {
	const all = sample().resources;
	const paths = (query: readonly string[]): string => linkFormat(all, query).split(",").map((l) => l.slice(1, l.indexOf(">"))).join(" ");

	it("rt=temp* is a prefix match on any of the resource types; hidden ones stay hidden", () => {
		assert.equal(paths(["rt=temp*"]), "/sensors/temp");
		assert.equal(paths(["rt=core.*"]), "/sensors/light /actuators/led");
		assert.equal(paths(["rt=core.s"]), "/sensors/light", "a value in a space-separated list");
		assert.equal(paths(["rt=temperature-k"]), "", "the hidden resource");
		assert.equal(paths(["rt=temperature"]), "", "without *, an exact match");
	});

	it("href=/sensors* matches the path", () => {
		assert.equal(paths(["href=/sensors*"]), "/sensors/temp /sensors/light");
		assert.equal(paths(["href=/actuators/led"]), "/actuators/led");
		assert.equal(paths(["href=/actuators"]), "");
	});

	it("ct=0, ct=50, ct=6*", () => {
		assert.equal(paths(["ct=0"]), "/sensors/temp /sensors/light");
		assert.equal(paths(["ct=50"]), "/sensors/light");
		assert.equal(paths(["ct=6*"]), "/actuators/led");
		assert.equal(paths(["ct=41"]), "");
	});

	it("if, sz, obs, title", () => {
		assert.equal(paths(["if=sensor"]), "/sensors/temp /sensors/light");
		assert.equal(paths(["sz=5"]), "/sensors/temp");
		assert.equal(paths(["obs"]), "/sensors/temp");
		assert.equal(paths(["title=Li*"]), "/sensors/light");
		assert.equal(paths(["title=Light"]), "/sensors/light");
		assert.equal(paths(["title=light"]), "");
	});

	it("an unknown attribute matches nothing", () => {
		assert.equal(linkFormat(all, ["foo=bar"]), "");
		assert.equal(linkFormat(all, ["foo"]), "");
		assert.equal(linkFormat(all, ["rtx=temp*"]), "");
	});

	it("several filters must all match", () => {
		assert.equal(paths(["if=sensor", "ct=50"]), "/sensors/light");
		assert.equal(paths(["rt=temp*", "ct=50"]), "");
	});

	it("matchesFilter on single resources", () => {
		const [temp, light, led] = all;
		assert.ok(matchesFilter(temp!, "rt", "temperature-c"));
		assert.ok(matchesFilter(temp!, "rt", "*"));
		assert.ok(!matchesFilter(led!, "if", "*"), "no if attribute at all");
		assert.ok(!matchesFilter(led!, "sz", "*"), "no sz attribute at all");
		assert.ok(!matchesFilter(light!, "obs", "*"));
		assert.ok(!matchesFilter(led!, "title", "*"));
		assert.ok(matchesFilter(light!, "href", "*"));
	});
});
