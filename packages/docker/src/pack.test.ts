import { appendFileSync, mkdtempSync, realpathSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { extract } from "tar-stream";
import { collectBuildContext } from "./context.js";
import { packContext } from "./pack.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function project(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "orch-docker-pack-")));
  dirs.push(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "p", type: "module" }));
  writeFileSync(join(dir, "main.js"), "console.log(1)");
  writeFileSync(join(dir, "train.log"), "line 1\n");
  return dir;
}

/** Reads the whole tar stream back: entry name → content; rejects on a stream error (what crashed builds). */
function unpack(stream: NodeJS.ReadableStream): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const files = new Map<string, string>();
    const reader = extract();
    reader.on("entry", (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on("data", (c: unknown) => void chunks.push(c as Buffer));
      body.on("end", () => {
        files.set(header.name, Buffer.concat(chunks).toString());
        next();
      });
    });
    reader.on("finish", () => resolve(files));
    reader.on("error", reject);
    stream.on("error", reject);
    stream.pipe(reader as unknown as NodeJS.WritableStream);
  });
}

describe("packContext", () => {
  it("packs a file that grew after the context was collected (a log written inside the project), with a warning", async () => {
    const dir = project();
    const context = await collectBuildContext({ projectRoot: dir });
    appendFileSync(join(dir, "train.log"), "line 2, written while the image was being built\n".repeat(100));
    const warnings: string[] = [];
    const files = await unpack(packContext("FROM scratch\n", context, (w) => warnings.push(w)) as unknown as NodeJS.ReadableStream);
    expect(files.get(`app${dir}/train.log`)).toMatch(/^line 1\nline 2, written/);
    expect(files.get(`app${dir}/main.js`)).toBe("console.log(1)");
    expect(warnings).toEqual([expect.stringContaining(`${dir}/train.log changed while the build context was packed`)]);
  });

  it("keeps packing while a file grows during the pack, every entry whole", async () => {
    const dir = project();
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `f${i}.txt`), "x".repeat(10_000));
    const context = await collectBuildContext({ projectRoot: dir });
    const writer = setInterval(() => appendFileSync(join(dir, "train.log"), "more\n".repeat(1000)), 1);
    try {
      const files = await unpack(packContext("FROM scratch\n", context) as unknown as NodeJS.ReadableStream);
      expect(files.get(`app${dir}/f199.txt`)).toHaveLength(10_000);
      expect(files.get(`app${dir}/train.log`)).toMatch(/^line 1\n/);
    } finally {
      clearInterval(writer);
    }
  });

  it("leaves out a file deleted before it was packed, with a warning, instead of failing", async () => {
    const dir = project();
    const context = await collectBuildContext({ projectRoot: dir });
    unlinkSync(join(dir, "train.log"));
    const warnings: string[] = [];
    const files = await unpack(packContext("FROM scratch\n", context, (w) => warnings.push(w)) as unknown as NodeJS.ReadableStream);
    expect(files.has(`app${dir}/train.log`)).toBe(false);
    expect(files.get(`app${dir}/main.js`)).toBe("console.log(1)");
    expect(warnings.join("\n")).toMatch(/train\.log could not be read .*ENOENT.*left out/);
  });
});
