import { stringify } from "yaml";
import type { KfpCompileResult } from "./types.js";

/**
 * The IR as the KFP SDK writes it and the KFP UI / API upload it: the PipelineSpec document, then the
 * PlatformSpec as a second document when there is one. Keys are sorted: same IR, same bytes.
 */
export function toKfpYaml(result: KfpCompileResult): string {
  // Keys are sorted already (sortKeys); no anchors: KFP tools expect plain documents (and the alias scan is slow).
  const options = { lineWidth: 0, aliasDuplicateObjects: false } as const;
  const header = `# PIPELINE DEFINITION\n# Name: ${result.pipelineSpec.pipelineInfo.name}\n`;
  const spec = header + stringify(result.pipelineSpec, options);
  return result.platformSpec ? `${spec}---\n${stringify(result.platformSpec, options)}` : spec;
}

