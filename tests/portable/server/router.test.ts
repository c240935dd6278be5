// server/router.ts: registration, path normalisation and matching of Uri-Path options against
// pre-encoded segments, with requests built by MessageWriter and indexed by MessageView.
// Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { CODE_DELETE, CODE_FETCH, CODE_GET, CODE_IPATCH, CODE_PATCH, CODE_POST, CODE_PUT } from "../../../modules/coap/constants.js";
import { pathEquals, Resource, Router, type Handler } from "../../../modules/coap/server/router.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";

const noop: Handler = () => undefined;

/** A CON GET with the given Uri-Path values (and optionally Uri-Host and Uri-Query), parsed. */
function request(path: readonly string[], extra?: { host?: string; query?: readonly string[] }): MessageView {
	const w = new MessageWriter(new Uint8Array(512));
	w.header(0, CODE_GET, 0x1234, null);
	if (extra?.host !== undefined) w.stringOption(3, extra.host); // Uri-Host
	for (const p of path) w.stringOption(11, p); // Uri-Path
	for (const q of extra?.query ?? []) w.stringOption(15, q); // Uri-Query
	const n = w.finish();
	assert.ok(n > 0);
	const v = new MessageView();
	assert.equal(v.parse(w.buf.subarray(0, n)), 0);
	return v;
}

function sample(): Router {
	const r = new Router();
	r.add("/", { get: noop });
	r.add("/sensors", { get: noop });
	r.add("/sensors/temp", { get: noop });
	r.add("/sensors/température", { get: noop });
	r.add("/a b/%", { get: noop });
	return r;
}

describe("server/router", () => {
	it("matches Uri-Path options segment by segment", () => {
		const r = sample();
		assert.equal(r.match(request(["sensors", "temp"]))?.path, "/sensors/temp");
		assert.equal(r.match(request(["sensors"]))?.path, "/sensors");
		assert.equal(r.match(request(["sensors", "température"]))?.path, "/sensors/température", "non-ASCII, as UTF-8 bytes");
		assert.equal(r.match(request(["a b", "%"]))?.path, "/a b/%", "segments are not percent-decoded twice");
	});

	it("no match: longer, shorter, different case, different split", () => {
		const r = sample();
		assert.equal(r.match(request(["sensors", "temp", "x"])), undefined);
		assert.equal(r.match(request(["sensors", "tem"])), undefined);
		assert.equal(r.match(request(["sensors", "temps"])), undefined);
		assert.equal(r.match(request(["Sensors", "temp"])), undefined);
		assert.equal(r.match(request(["sensors/temp"])), undefined, "one segment holding a slash");
		assert.equal(r.match(request(["sensors", "", "temp"])), undefined);
		assert.equal(r.match(request(["sensors", "temp", ""])), undefined, "a trailing empty segment");
	});

	it("root: no Uri-Path, or a single empty Uri-Path (RFC 7252 §6.4 \"/\")", () => {
		const r = sample();
		assert.equal(r.match(request([]))?.path, "/");
		assert.equal(r.match(request([""]))?.path, "/");
		assert.equal(r.match(request(["", ""])), undefined, "two empty segments are \"//\", not the root");
		const noRoot = new Router();
		noRoot.add("/x", { get: noop });
		assert.equal(noRoot.match(request([])), undefined);
		assert.equal(noRoot.match(request([""])), undefined);
	});

	it("Uri-Host and Uri-Query do not take part in matching", () => {
		const r = sample();
		assert.equal(r.match(request(["sensors", "temp"], { host: "example.com", query: ["a=1", "b"] }))?.path, "/sensors/temp");
		assert.equal(r.match(request([], { query: ["rt=x"] }))?.path, "/");
	});

	it("pathEquals compares against pre-encoded segments", () => {
		const res = new Resource("/a/bc", {});
		assert.equal(res.segments.length, 2);
		assert.ok(pathEquals(request(["a", "bc"]), res.segments));
		assert.ok(!pathEquals(request(["a", "bd"]), res.segments));
		assert.ok(!pathEquals(request(["a"]), res.segments));
		assert.ok(pathEquals(request([]), []));
	});

	it("paths are normalised: leading, trailing and doubled slashes", () => {
		const r = new Router();
		assert.equal(r.add("sensors/temp", { get: noop }).path, "/sensors/temp");
		assert.equal(r.add("/x//y/", { get: noop }).path, "/x/y");
		assert.equal(r.add("", { get: noop }).path, "/");
		assert.equal(r.match(request(["x", "y"]))?.path, "/x/y");
	});

	it("a duplicate registration throws TypeError", () => {
		const r = new Router();
		r.add("/sensors/temp", { get: noop });
		assert.throws(() => r.add("/sensors/temp", { put: noop }), TypeError);
		assert.throws(() => r.add("sensors/temp/", { put: noop }), TypeError);
		r.add("/", { get: noop });
		assert.throws(() => r.add("/", { get: noop }), TypeError);
		assert.equal(r.resources.length, 2);
	});

	it("handlers by method code; missing methods and out-of-range codes are undefined", () => {
		const get: Handler = () => undefined;
		const post: Handler = () => undefined;
		const put: Handler = () => undefined;
		const del: Handler = () => undefined;
		const fetch: Handler = () => undefined;
		const patch: Handler = () => undefined;
		const ipatch: Handler = () => undefined;
		const res = new Router().add("/r", { get, post, put, delete: del, fetch, patch, ipatch });
		assert.equal(res.handler(CODE_GET), get);
		assert.equal(res.handler(CODE_POST), post);
		assert.equal(res.handler(CODE_PUT), put);
		assert.equal(res.handler(CODE_DELETE), del);
		assert.equal(res.handler(CODE_FETCH), fetch);
		assert.equal(res.handler(CODE_PATCH), patch);
		assert.equal(res.handler(CODE_IPATCH), ipatch);
		assert.equal(res.handler(0), undefined);
		assert.equal(res.handler(8), undefined);
		assert.equal(res.handler(0x45), undefined);
		const only = new Router().add("/g", { get });
		assert.equal(only.handler(CODE_PUT), undefined);
	});

	it("attributes are normalised to lists and frozen", () => {
		const res = new Router().add("/r", { rt: "t", if: ["a", "b"], ct: 50, accepts: [0, 60], sz: 10, obs: true, title: "x", hidden: true });
		assert.deepEqual(res.rt, ["t"]);
		assert.deepEqual(res.if, ["a", "b"]);
		assert.deepEqual(res.ct, [50]);
		assert.deepEqual(res.accepts, [0, 60]);
		assert.equal(res.sz, 10);
		assert.ok(res.obs && res.hidden);
		assert.ok(Object.isFrozen(res.rt) && Object.isFrozen(res.ct) && Object.isFrozen(res.segments));
		const bare = new Router().add("/b", {});
		assert.deepEqual(bare.rt, []);
		assert.deepEqual(bare.ct, []);
		assert.equal(bare.accepts, undefined);
		assert.equal(bare.sz, -1);
		assert.ok(!bare.obs && !bare.hidden);
	});
});
