#!/usr/bin/env node
// Entry point of the `xscoap` command: runs the compiled CLI (npm install builds it).
import { main } from "../build/hosts/node/cli.js";

process.exitCode = await main(process.argv.slice(2));
