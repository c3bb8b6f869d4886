#!/usr/bin/env node
import { main } from "../scheduled-run.js";

process.exitCode = await main(process.argv.slice(2));
