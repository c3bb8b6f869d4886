#!/usr/bin/env node
import { main } from "../run-bin.js";

process.exit(await main(process.argv.slice(2)));
