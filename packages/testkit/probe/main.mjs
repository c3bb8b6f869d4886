// The SDK probe's program: imports only the plugin entry (argv[2], a file URL) and reports what its
// default export looks like. create() is never called here.
const entry = process.argv[2];
const module = await import(entry);
let plugin = module.default;
if (plugin && typeof plugin === "object" && "default" in plugin && !("kind" in plugin)) plugin = plugin.default;
process.stdout.write(`${JSON.stringify({ kind: plugin?.kind ?? null, flavor: plugin?.flavor ?? null })}\n`);
