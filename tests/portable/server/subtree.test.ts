// Subtree resources (router.ts `subtree: true`): exact paths win over subtrees, the longest
// subtree wins, /.well-known/core stays generated, the handler sees the whole path; and
// changed(match) notifies only the observers whose registering request `match` accepts
// (RFC 7641 §4.2), over the virtual network. Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { CODE_GET } from "../../../modules/coap/constants.js";
import { Router } from "../../../modules/coap/server/router.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { CLIENT, SERVER, World, track, valueOf } from "../endpoint/harness.js";

function request(path: readonly string[]): MessageView {
	const w = new MessageWriter(new Uint8Array(256));
	w.header(0, CODE_GET, 1, null);
	for (const p of path) w.stringOption(11, p);
	const n = w.finish();
	const v = new MessageView();
	assert.equal(v.parse(w.buf.subarray(0, n)), 0);
	return v;
}

describe("server/router: subtree resources", () => {
	it("exact paths first, then the longest subtree that begins the path; none outside", () => {
		const r = new Router();
		r.add("/files", { subtree: true, get: () => undefined });
		r.add("/files/special", { get: () => undefined });
		r.add("/files/deep/er", { subtree: true, get: () => undefined });
		r.add("/other", { get: () => undefined });
		assert.equal(r.match(request(["files"]))?.path, "/files");
		assert.equal(r.match(request(["files", "a", "b"]))?.path, "/files");
		assert.equal(r.match(request(["files", "special"]))?.path, "/files/special");
		assert.equal(r.match(request(["files", "special", "x"]))?.path, "/files", "an exact resource is not a subtree");
		assert.equal(r.match(request(["files", "deep", "er", "x"]))?.path, "/files/deep/er");
		assert.equal(r.match(request(["files", "deep"]))?.path, "/files");
		assert.equal(r.match(request(["filesx"])), undefined);
		assert.equal(r.match(request(["other", "x"])), undefined, "not a subtree");
		assert.equal(r.match(request([])), undefined);
		const root = new Router();
		root.add("/", { subtree: true, get: () => undefined });
		assert.equal(root.match(request(["any", "thing"]))?.path, "/");
		assert.equal(root.match(request([]))?.path, "/");
	});

	it("over the network: the handler sees the whole path; /.well-known/core stays generated", async () => {
		const w = new World();
		const router = new Router();
		router.add("/", { subtree: true, obs: true, get: (req, res) => res.send(0x45, "path " + req.pathText) });
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const a = track(w.net, client.request({ address: SERVER, path: "/x/y" }));
		const wk = track(w.net, client.request({ address: SERVER, path: "/.well-known/core" }));
		await w.net.runUntilIdle();
		assert.equal(valueOf(a).text(), "path /x/y");
		assert.equal(valueOf(wk).text(), "</>;obs");
		w.close();
	});

	it("changed(match) notifies only the observers whose request it accepts", async () => {
		const w = new World();
		const router = new Router();
		const version: Record<string, number> = { "/a": 1, "/b": 1 };
		const tree = router.add("/", { subtree: true, obs: true, get: (req, res) => res.send(0x45, req.pathText + " v" + version[req.pathText]) });
		w.endpoint(SERVER, { router });
		const client = w.endpoint(CLIENT, { port: 0 });
		const got: string[] = [];
		client.observe({ address: SERVER, path: "/a" }, (n) => got.push(n.text()));
		client.observe({ address: SERVER, path: "/b" }, (n) => got.push(n.text()));
		await w.net.runFor(100);
		assert.deepEqual(got.slice().sort(), ["/a v1", "/b v1"]);
		version["/b"] = 2;
		const asked: string[] = [];
		tree.changed((req) => {
			asked.push(req.pathText);
			return req.pathText === "/b";
		});
		await w.net.runFor(100);
		assert.deepEqual(asked.slice().sort(), ["/a", "/b"], "asked once per observer");
		assert.deepEqual(got.slice(2), ["/b v2"]);
		router.changed(tree); // no match: everyone
		await w.net.runFor(100);
		assert.deepEqual(got.slice(3).sort(), ["/a v1", "/b v2"]);
		w.close();
	});
});
