/*
 * A LogMachine for the Moddable SDK's xsbug-log (tools/xsbug-log), loaded through its
 * documented XSBUG_LOGMACHINE hook: the SDK's interactive debug machine (xsbug-debugmachine.js,
 * the `(xsdb)` prompt with `info instruments`, `break`, `bt`, ...) plus one line on stdout per
 * instruments sample the XS machine sends (once a second, and when it stops at a breakpoint):
 *
 *   #instruments {"Chunk used":31600,"Chunk available":32768,"Slot used":...,"Stack used":...}
 *
 * The simulator resets the stack peak and the garbage-collection count after every sample
 * (build/simulators/modules/screen.c), so the worst stack use of a run is the largest
 * "Stack used" of all samples: `info instruments` alone shows only the last second.
 * XSCOAP_BREAK_ON_START=1 makes the machine stop at main's first line (see onParsed).
 * Used by tools/firmware/run.mjs (npm run firmware).
 */
"use strict";
const path = require("node:path");
const sdk = process.env.MODDABLE;
if (!sdk) throw new Error("MODDABLE is not set");
const { LogMachine: DebugMachine } = require(path.join(sdk, "tools/xsbug-log/xsbug-debugmachine.js"));

class LogMachine extends DebugMachine {
	/*
	 * With XSCOAP_BREAK_ON_START=1: the breakpoints (and "break on start") go to the machine
	 * before <go/>, so it stops at main's first line every time. The SDK's machine sends <go/>
	 * first, which can let main run before the breakpoints arrive.
	 */
	onParsed() {
		if (this.once && process.env.XSCOAP_BREAK_ON_START === "1") {
			this.once = false;
			this.breakOnStart = true;
			this.doSetAllBreakpoint(this.breakpoints, true, this.exceptionsMode === "on");
			this.doGo();
			this.running = true;
			return;
		}
		super.onParsed();
	}


	onInstrumentValues(values) {
		super.onInstrumentValues(values);
		const sample = {};
		for (const i of this.instruments) sample[i.name] = Number(i.value);
		process.stdout.write("\n#instruments " + JSON.stringify({ machine: this.title ?? "", ...sample }) + "\n");
	}
}

exports.LogMachine = LogMachine;
