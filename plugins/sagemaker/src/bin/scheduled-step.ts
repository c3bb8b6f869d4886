#!/usr/bin/env node
import { main } from "../scheduled-step.js";

process.exitCode = await main(process.argv.slice(2));
