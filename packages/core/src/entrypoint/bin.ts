#!/usr/bin/env node
import { main } from "./entrypoint.js";

// Exit as soon as the result is recorded: a step function that ignored its timeout or stop signal
// must not keep the process (and its container or pod) alive.
process.exit(await main(process.argv.slice(2)));
