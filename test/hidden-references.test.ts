// Everything a reader needs is in this repository: READMEs, docs and comments must not point at
// documents a reader cannot see (another repository's notes, a design document outside the repository,
// a sibling checkout). The contracts live in docs/architecture.md.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../scripts/workspace-packages.mjs";

/** What a reference to an unseen document looks like; each pattern says why it is one. */
export const HIDDEN_REFERENCES: { pattern: RegExp; why: string }[] = [
  { pattern: /\.\.\/shared\b/, why: "a folder outside the repository" },
  { pattern: /\/work\/shared\b/, why: "a folder outside the repository" },
  { pattern: /\bDESIGN(\.md)?\s*§/i, why: "a section of a design document that is not in the repository" },
  { pattern: /\b(DESIGN|STYLE)\.md\b/, why: "a design or style document that is not in the repository" },
  { pattern: /\bdesign notes\b/i, why: "design notes a reader cannot see" },
  { pattern: /\bproduct team\b/i, why: "a team's documents a reader cannot see" },
];

// This file names the patterns; the lockfile is generated.
const EXCLUDED = new Set(["test/hidden-references.test.ts", "pnpm-lock.yaml"]);

export function findHiddenReferences(files: { path: string; text: string }[]): string[] {
  const found: string[] = [];
  for (const { path, text } of files) {
    text.split("\n").forEach((line, index) => {
      const hit = HIDDEN_REFERENCES.find(({ pattern }) => pattern.test(line));
      if (hit) found.push(`${path}:${index + 1}: ${line.trim()} (${hit.why})`);
    });
  }
  return found;
}

describe("references to documents a reader cannot see", () => {
  it("appear in no tracked file", () => {
    const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
    const files = tracked
      .filter((path) => !EXCLUDED.has(path) && !/\.(png|jpe?g|gif|ico|tgz|gz|zip|woff2?)$/i.test(path))
      .map((path) => {
        try {
          return { path, text: readFileSync(join(repoRoot, path), "utf8") };
        } catch {
          return { path, text: "" }; // deleted in the working tree
        }
      });
    expect(files.length).toBeGreaterThan(100);
    expect(findHiddenReferences(files)).toEqual([]);
  });

  it("are recognised in the forms they took before", () => {
    // Assembled from pieces, so that this file itself holds none of the references it looks for.
    const up = "..";
    const section = "§";
    const samples = [
      `// see ${up}/shared/DESIGN.md`,
      `See DESIGN ${section}4.2 for the journal layout.`,
      ["as the design notes", "of the product team say"].join(" "),
      "contracts in /work/shared/DESIGN.md",
    ];
    expect(findHiddenReferences(samples.map((text, i) => ({ path: `sample${i}`, text })))).toHaveLength(samples.length);
    expect(findHiddenReferences([{ path: "ok", text: "writeFileSync(`/shared/${me}`, me); // a container mount\nsee docs/architecture.md" }])).toEqual([]);
  });
});
