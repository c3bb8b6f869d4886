/**
 * The Python check of a generated DAG file: it must compile (`py_compile`, which parses with `ast`) and
 * import under the Airflow stand-ins in test/python (operators that check their keyword arguments
 * against the real signatures), which dump its structure as JSON.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const STUB_DIR = fileURLToPath(new URL("./python/", import.meta.url));
const DUMPER = join(STUB_DIR, "dump_dag.py");

/** Why the Python checks cannot run here, or undefined when python3 is available. */
export const pythonMissing = (() => {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "python3 is not installed: the generated DAG files cannot be parsed and imported";
  }
})();
if (pythonMissing) console.warn(`[orch] airflow tests: ${pythonMissing}; those tests are skipped`);

export interface DumpedTask {
  task_id: string;
  operator: "KubernetesPodOperator" | "DockerOperator";
  kwargs: Record<string, any>;
  upstream: string[];
  downstream: string[];
  rendered?: Record<string, any>;
  render_error?: string;
}
export interface DumpedDag {
  dag_id: string;
  module: string;
  kwargs: Record<string, any>;
  tasks: DumpedTask[];
}
export interface Dump {
  airflow_version: 2 | 3;
  dags: DumpedDag[];
}

/** Parses and imports a DAG file's source under the stand-ins for `version`; throws with Python's message when it fails. */
export function checkDag(source: string, version: 2 | 3, render?: { runId: string; tryNumber?: number }): DumpedDag {
  const dir = mkdtempSync(join(tmpdir(), "orch-dag-"));
  try {
    const file = join(dir, "dag.py");
    writeFileSync(file, source);
    return dumpDagFile(file, version, render);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function dumpDagFile(file: string, version: 2 | 3, render?: { runId: string; tryNumber?: number }): DumpedDag {
  const compiled = spawnSync("python3", ["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1]); import py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[1] + 'c', doraise=True)", file], { encoding: "utf8" });
  if (compiled.status !== 0) throw new Error(`the DAG file does not parse:\n${compiled.stderr}`);
  const args = [DUMPER, file, ...(render ? ["--run-id", render.runId, "--try", String(render.tryNumber ?? 1)] : [])];
  const result = spawnSync("python3", args, { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ORCH_AIRFLOW_STUB_VERSION: String(version), PYTHONDONTWRITEBYTECODE: "1" }, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`the DAG file does not import under the Airflow ${version} stand-ins:\n${result.stderr}`);
  const dump = JSON.parse(result.stdout) as Dump;
  if (dump.dags.length !== 1) throw new Error(`expected one DAG in the file, found ${dump.dags.length}`);
  return dump.dags[0]!;
}
