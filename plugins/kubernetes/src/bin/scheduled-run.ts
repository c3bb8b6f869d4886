#!/usr/bin/env node
import { main } from "../scheduled-run.js";

// Exit as soon as main returns: a shutdown (SIGTERM without a stop request) leaves watches and step
// Jobs in flight on purpose, and they must not keep the pod alive.
process.exit(await main(process.argv.slice(2)));
