// Entry run by bin/orch.js.
import { main } from "./main.js";

await main();
