import { Readable } from "node:stream";
import { createGcsStore, type GcsArtifactStore } from "../src/store.js";
import { configSchema } from "../src/index.js";
import type { FakeGcs } from "./fake-gcs-server.js";

let counter = 0;

/** A store on a fresh prefix of `bucket` in the fake server. */
export async function openStore(fake: FakeGcs, extra: Record<string, unknown> = {}, bucket = "orch-test"): Promise<GcsArtifactStore> {
  const config = configSchema.parse({ path: `gs://${bucket}/p${++counter}-${process.pid}`, apiEndpoint: fake.url, ...extra });
  return createGcsStore(config, { projectRoot: process.cwd() });
}

/** `size` bytes of a repeating pattern, generated as they are read (never held whole). */
export function patternStream(size: number, chunk = 1024 * 1024): Readable {
  const block = Buffer.alloc(chunk);
  for (let i = 0; i < chunk; i++) block[i] = (i * 31 + 7) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(chunk, size - sent);
      sent += n;
      this.push(Buffer.from(block.subarray(0, n)));
    },
  });
}
