/**
 * A worker thread of `xscoap sim --workers W`: runs one Shard (shard.ts) and talks to the
 * fleet (fleet.ts) in messages:
 *
 *   in:  { type: "stop", timeoutMs }
 *   out: { type: "ready", devices }            bound and started
 *        { type: "failed", message, port, code }  start-up failed (everything closed)
 *        { type: "registration", index, location, registered, detail }
 *        { type: "values", batch }
 *        { type: "stopped", deregistered, failed }  then the thread ends by itself
 */
import { parentPort, workerData } from "node:worker_threads";
import { Shard, ShardStartError, type ShardConfig } from "./shard.js";

const port = parentPort!;
const shard = new Shard(workerData as ShardConfig, {
	registration: (index, location, registered, detail) => port.postMessage({ type: "registration", index, location, registered, detail }),
	values: (batch) => port.postMessage({ type: "values", batch }),
});

port.on("message", (m: { type: string; timeoutMs?: number }) => {
	if (m.type !== "stop") return;
	void shard.stop(m.timeoutMs ?? 3000).then((r) => {
		port.postMessage({ type: "stopped", deregistered: r.deregistered, failed: r.failed });
		port.close();
	});
});

shard.start().then(
	() => port.postMessage({ type: "ready", devices: shard.devices }),
	(e: unknown) => {
		const s = e instanceof ShardStartError ? e : undefined;
		port.postMessage({ type: "failed", message: (e as Error)?.message ?? String(e), port: s?.port ?? 0, code: s?.code ?? "" });
		port.close();
	},
);
