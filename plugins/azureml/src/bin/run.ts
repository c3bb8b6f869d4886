#!/usr/bin/env node
import { main } from "../scheduled-run.js";

process.exit(await main(process.argv.slice(2)));
