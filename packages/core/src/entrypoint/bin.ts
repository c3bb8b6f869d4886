#!/usr/bin/env node
import { main } from "./entrypoint.js";

process.exitCode = await main(process.argv.slice(2));
