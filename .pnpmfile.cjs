// pnpm hooks of the orch monorepo.
//
// beforePacking (pnpm pack / pnpm publish, pnpm >= 10.28): the published package.json must not carry
// the "@orch/source" export condition. Inside this repository that condition points workspace
// packages at each other's TypeScript sources (src/), which a package's `files` leave out of the
// tarball; in a user's project it would resolve to files that do not exist, and a project that sets the
// same condition (the plugin template's tsconfig does) would type-check orch's sources. Stripping it
// here keeps one exports map per package, whatever subpaths it gains (docs/architecture.md, "Packaging").
const SOURCE_CONDITION = "@orch/source";

function stripSourceCondition(exports) {
  if (Array.isArray(exports)) return exports.map(stripSourceCondition);
  if (exports === null || typeof exports !== "object") return exports;
  const result = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key === SOURCE_CONDITION) continue;
    result[key] = stripSourceCondition(value);
  }
  return result;
}

module.exports = {
  hooks: {
    beforePacking(pkg) {
      if (pkg.exports !== undefined) pkg.exports = stripSourceCondition(pkg.exports);
      return pkg;
    },
  },
};
