import { main } from "../scheduled-step.js";

process.exit(await main(process.argv.slice(2)));
