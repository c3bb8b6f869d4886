import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { posix } from "node:path";
import { pack as createPack, type Pack } from "tar-stream";
import type { BuildContext, ContextEntry } from "./context.js";

/** Files up to this size are read whole before their tar header is written (a consistent snapshot). */
const SNAPSHOT_LIMIT = 64 * 2 ** 20;
const CHUNK = 2 ** 20;

/**
 * The build context as a tar stream: `Dockerfile`, `deps/<abs path>` (node_modules) and
 * `app/<abs path>` (everything else). Parent folders carry the host's modes so `COPY … /` keeps
 * e.g. /tmp world-writable.
 *
 * Project files may change while they are packed (a log written inside the project, an editor
 * saving): a tar header states the size before the data, and a size that no longer holds would end
 * the build with tar-stream's "Size mismatch". So each file is read first — whole, up to 64 MiB, and
 * packed as read; bigger ones exactly to the size stat gave just before — and a file that changed since
 * the context was hashed, or vanished, is reported through `onWarning` (packed as read, or left out).
 * Packing never throws out of the stream: a failure ends the stream with an error event.
 */
export function packContext(dockerfile: string, context: BuildContext, onWarning: (message: string) => void = () => {}): Pack {
  const pack = createPack();
  void (async () => {
    try {
      const add = (header: Parameters<typeof pack.entry>[0], body?: Buffer | string) =>
        new Promise<void>((resolve, reject) => (body === undefined ? pack.entry(header, (e) => (e ? reject(e) : resolve())) : pack.entry(header, body, (e) => (e ? reject(e) : resolve()))));
      await add({ name: "Dockerfile", mode: 0o644 }, dockerfile);
      for (const prefix of ["deps", "app"] as const) {
        const entries = context.entries.filter((e) => e.dependency === (prefix === "deps"));
        const dirs = new Set<string>();
        for (const entry of entries) for (let dir = posix.dirname(entry.path); dir !== "/" && !dirs.has(dir); dir = posix.dirname(dir)) dirs.add(dir);
        for (const dir of [...dirs].sort()) {
          const mode = await stat(dir).then((s) => s.mode & 0o7777, () => 0o755);
          await add({ name: `${prefix}${dir}/`, type: "directory", mode });
        }
        for (const entry of entries) {
          const name = `${prefix}${entry.path}`;
          if (entry.type === "symlink") {
            await add({ name, type: "symlink", linkname: entry.linkTarget!, mode: entry.mode });
            continue;
          }
          await packFile(pack, add, name, entry, onWarning);
        }
      }
      pack.finalize();
    } catch (error) {
      pack.destroy(error as Error);
    }
  })();
  return pack;
}

async function packFile(
  pack: Pack,
  add: (header: Parameters<Pack["entry"]>[0], body?: Buffer | string) => Promise<void>,
  name: string,
  entry: ContextEntry,
  onWarning: (message: string) => void,
): Promise<void> {
  let handle;
  try {
    handle = await open(entry.path, "r");
  } catch (error) {
    onWarning(`${entry.path} could not be read while the build context was packed (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); it is left out of the image`);
    return;
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= SNAPSHOT_LIMIT) {
      const data = await handle.readFile();
      if (entry.hash && sha256(data) !== entry.hash) onWarning(`${entry.path} changed while the build context was packed; the image has its content as read then`);
      await add({ name, type: "file", mode: entry.mode, size: data.length }, data);
      return;
    }
    // Too big to hold: stream exactly `size` bytes (a file that grows keeps its first `size` bytes).
    const hash = createHash("sha256");
    let changed = false;
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name, type: "file", mode: entry.mode, size }, (e) => (e ? reject(e) : resolve())) as unknown as NodeJS.WritableStream;
      void (async () => {
        let offset = 0;
        while (offset < size) {
          const buffer = Buffer.alloc(Math.min(CHUNK, size - offset));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
          if (bytesRead === 0) {
            // Truncated while packed: the header promised `size` bytes, so the rest is zero-filled.
            changed = true;
            buffer.fill(0);
          }
          const chunk = bytesRead === 0 ? buffer : buffer.subarray(0, bytesRead);
          hash.update(chunk);
          offset += chunk.length;
          if (!sink.write(chunk)) await new Promise<void>((r) => sink.once("drain", () => r()));
        }
        sink.end();
      })().catch(reject);
    });
    if (changed || (entry.hash && hash.digest("hex") !== entry.hash)) onWarning(`${entry.path} changed while the build context was packed; the image may hold a partial copy of it`);
  } finally {
    await handle.close();
  }
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
