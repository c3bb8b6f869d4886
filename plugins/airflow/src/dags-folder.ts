/**
 * Where DAG files go: a local folder (mounted into the Airflow deployment) or an s3:// / gs:// DAGs
 * bucket (MWAA, Composer) written through the s3 / gcs store plugins, which the project installs.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { createArtifactStore, type ArtifactStore } from "@orch/core/plugin";
import type { AirflowOrchestratorConfig } from "./config.js";

export interface DagsFolder {
  /** Where the files go, for messages: the folder or the bucket URL. */
  readonly location: string;
  put(fileName: string, source: string): Promise<void>;
  remove(fileName: string): Promise<void>;
}

export function openDagsFolder(config: AirflowOrchestratorConfig, projectRoot: string): DagsFolder {
  const folder = config.dagsFolder;
  const remote = /^(s3|gs):\/\//.exec(folder);
  if (!remote) {
    const dir = isAbsolute(folder) ? folder : resolve(projectRoot, folder);
    return {
      location: dir,
      async put(fileName, source) {
        await mkdir(dir, { recursive: true });
        // Written whole, then renamed: the DAG processor never parses half a file.
        const temp = join(dir, `.${fileName}.${process.pid}.tmp`);
        await writeFile(temp, source);
        await rename(temp, join(dir, fileName));
      },
      async remove(fileName) {
        await rm(join(dir, fileName), { force: true });
      },
    };
  }
  let store: Promise<ArtifactStore> | undefined;
  // The bucket is written through the store plugin of its scheme (a single-object put: atomic).
  const open = () => (store ??= createArtifactStore({ flavor: remote[1] === "s3" ? "s3" : "gcs", config: { ...config.dagsFolderOptions, path: folder } }, projectRoot).then((created) => created.store));
  return {
    location: folder,
    async put(fileName, source) {
      await (await open()).write(fileName, source);
    },
    async remove(fileName) {
      await (await open()).delete(fileName);
    },
  };
}
