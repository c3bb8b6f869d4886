/**
 * Retries come from the SDK's own exponential retry policy: a loopback proxy in front of Azurite answers the
 * first requests with 503 ServerBusy (Azure's throttling answer), and the store's calls still land.
 */
import { createServer, request, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blobText, DEV_ACCOUNT, DEV_KEY, useAzurite } from "../test/azurite.js";
import { createAzureStore } from "./store.js";

const azurite = useAzurite();
let proxy: Server;
let proxyPort = 0;
/** How many of the next requests of each method get a 503, and what the proxy saw. */
const failNext: Record<string, number> = {};
const seen: string[] = [];

beforeAll(async () => {
  proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split("?")[0]}`);
    if ((failNext[req.method!] ?? 0) > 0) {
      failNext[req.method!]!--;
      req.resume();
      req.on("end", () => {
        res.writeHead(503, { "x-ms-error-code": "ServerBusy", "content-type": "application/xml" });
        res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>Ingress is over the account limit.</Message></Error>');
      });
      return;
    }
    const upstream = request({ host: "127.0.0.1", port: azurite.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyPort = (proxy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
});

describe("azure store retries", () => {
  it("retries 503 ServerBusy answers with backoff until the write and the read land", async () => {
    const container = await azurite.container("retry");
    const endpoint = `http://127.0.0.1:${proxyPort}/${DEV_ACCOUNT}`;
    const store = await createAzureStore({ path: `az://${container}/orch`, account: DEV_ACCOUNT, accountKey: DEV_KEY, endpoint }, { projectRoot: "." });
    seen.length = 0;
    failNext.PUT = 2;
    await store.write("runs/r/run.json", '{"ok":true}');
    expect(seen.filter((s) => s === `PUT /${DEV_ACCOUNT}/${container}/orch/runs/r/run.json`)).toHaveLength(3);
    expect(await blobText(azurite.service, container, "orch/runs/r/run.json")).toBe('{"ok":true}');

    failNext.GET = 2;
    expect(Buffer.from((await store.read("runs/r/run.json"))!).toString()).toBe('{"ok":true}');
    expect(failNext.GET).toBe(0);
  });
});
