/**
 * The DAGs folder: a local folder (written whole, then renamed) or a bucket through the store plugin
 * of its scheme — here a gs:// folder (Composer) on the gcs plugin's fake server.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseComponentConfig } from "@orch/core/plugin";
import plugin from "./index.js";
import { openDagsFolder } from "./dags-folder.js";
import { startFakeGcs } from "../../gcs/test/fake-gcs-server.js";

const packageRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dir = mkdtempSync(join(tmpdir(), "orch-airflow-dags-folder-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = (extra: Record<string, unknown>) => parseComponentConfig(plugin, { host: "http://127.0.0.1:8080", image: "i:1", ...extra }) as any;

describe("the DAGs folder", () => {
  it("writes a local folder (relative to the project) whole, leaving no temp file, and removes the file", async () => {
    const folder = openDagsFolder(config({ dagsFolder: "dags" }), dir);
    await folder.put("p.py", "# dag\n");
    expect(readFileSync(join(dir, "dags", "p.py"), "utf8")).toBe("# dag\n");
    expect(readdirSync(join(dir, "dags"))).toEqual(["p.py"]);
    await folder.remove("p.py");
    expect(existsSync(join(dir, "dags", "p.py"))).toBe(false);
    await folder.remove("p.py"); // already gone: fine
  });

  it("writes a gs:// folder (Composer) through the gcs store plugin", async () => {
    const fake = await startFakeGcs({ buckets: ["composer-env"] });
    try {
      const gs = config({ dagsFolder: "gs://composer-env/dags", dagsFolderOptions: { apiEndpoint: fake.url } });
      // A project without the gcs plugin is told which package to add.
      await expect(openDagsFolder(gs, dir).put("p.py", "# dag\n")).rejects.toThrow(/@orch\/plugin-gcs is not installed/);
      const folder = openDagsFolder(gs, packageRoot);
      expect(folder.location).toBe("gs://composer-env/dags");
      await folder.put("p.py", "# dag\n");
      expect(fake.objectNames("composer-env")).toEqual(["dags/p.py"]);
      await folder.remove("p.py");
      expect(fake.objectNames("composer-env")).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});
