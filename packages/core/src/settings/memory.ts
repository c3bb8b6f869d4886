import { OrchError } from "../errors.js";

/** A memory quantity as the user wrote it, plus its exact size in bytes. */
export interface MemoryQuantity {
  /** Exact size in bytes (always an integer). */
  bytes: number;
  /** The unit as written; `"B"` when the value was a plain number. */
  unit: string;
  /** The number in front of the unit, e.g. `1.5` for `"1.5GiB"`. */
  amount: number;
}

// Exact factors as BigInt so "1.1GB" is 1_100_000_000 bytes and not a float approximation.
const UNIT_FACTORS: Readonly<Record<string, bigint>> = {
  B: 1n,
  KB: 10n ** 3n,
  MB: 10n ** 6n,
  GB: 10n ** 9n,
  TB: 10n ** 12n,
  PB: 10n ** 15n,
  KiB: 2n ** 10n,
  MiB: 2n ** 20n,
  GiB: 2n ** 30n,
  TiB: 2n ** 40n,
  PiB: 2n ** 50n,
};

// Kubernetes suffixes per unit, largest first within each family, so a fractional amount can be
// stepped down to the first unit where it is whole. Decimal kilo is lowercase "k" in Kubernetes.
const K8S_DECIMAL: ReadonlyArray<readonly [string, string]> = [
  ["PB", "P"], ["TB", "T"], ["GB", "G"], ["MB", "M"], ["KB", "k"], ["B", ""],
];
const K8S_BINARY: ReadonlyArray<readonly [string, string]> = [
  ["PiB", "Pi"], ["TiB", "Ti"], ["GiB", "Gi"], ["MiB", "Mi"], ["KiB", "Ki"], ["B", ""],
];

// One optional space between number and unit ("8 GB" reads naturally); units are matched exactly.
const MEMORY_PATTERN = /^(\d+)(?:\.(\d+))? ?([A-Za-z]*)$/;

const VALID_UNITS_HINT =
  'Use a number with one of B, KB, MB, GB, TB, PB (powers of 1000) or KiB, MiB, GiB, TiB, PiB ' +
  '(powers of 1024), e.g. memory: "512MiB" or "8GB".';

/**
 * Parse a memory string such as `"512MiB"`, `"8GB"`, `"1.5GiB"` or plain bytes `"1024"`.
 * KB…PB are powers of 10 and KiB…PiB powers of 2; unit names are case-sensitive.
 * @throws OrchError `E_MEMORY_INVALID` for unknown units, fractional bytes, zero or unsafe sizes.
 */
export function parseMemory(value: string): MemoryQuantity {
  const match = typeof value === "string" ? MEMORY_PATTERN.exec(value) : null;
  if (!match) {
    throw invalid(value, "expected a number followed by a unit");
  }
  const [, whole = "", fraction = "", writtenUnit = ""] = match;
  const unit = writtenUnit === "" ? "B" : writtenUnit;
  const factor = UNIT_FACTORS[unit];
  if (factor === undefined) {
    const suggestion = suggestUnit(writtenUnit);
    throw invalid(value, `unknown unit "${writtenUnit}"${suggestion ? ` (did you mean "${whole}${fraction ? `.${fraction}` : ""}${suggestion}"?)` : ""}`);
  }
  const scale = 10n ** BigInt(fraction.length);
  const scaledBytes = BigInt(whole + fraction) * factor;
  if (scaledBytes % scale !== 0n) {
    throw invalid(value, "not a whole number of bytes");
  }
  const bytes = scaledBytes / scale;
  if (bytes === 0n) {
    throw invalid(value, "must be greater than zero");
  }
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalid(value, "too large to count exactly in bytes");
  }
  return { bytes: Number(bytes), unit, amount: Number(fraction ? `${whole}.${fraction}` : whole) };
}

/** True when `parseMemory` would accept `value`. */
export function isValidMemory(value: string): boolean {
  try {
    parseMemory(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kubernetes resource quantity for a memory string, keeping the user's unit family:
 * `"8GB"` → `"8G"`, `"8GiB"` → `"8Gi"`, `"100KB"` → `"100k"`. Fractional amounts step down to the first
 * smaller unit where they are whole (`"1.5GiB"` → `"1536Mi"`), ending at plain bytes.
 */
export function toK8sQuantity(value: string): string {
  const { bytes, unit } = parseMemory(value);
  const family = unit.endsWith("iB") ? K8S_BINARY : K8S_DECIMAL;
  const exact = BigInt(bytes);
  // Start at the user's own unit: "1024MiB" stays "1024Mi" rather than being rewritten to "1Gi".
  const start = Math.max(0, family.findIndex(([u]) => u === unit));
  for (const [familyUnit, suffix] of family.slice(start)) {
    const factor = UNIT_FACTORS[familyUnit] ?? 1n;
    if (exact % factor === 0n) return `${exact / factor}${suffix}`;
  }
  return String(bytes);
}

/**
 * Memory in bytes as Docker's `HostConfig.Memory` expects (an integer): exact, e.g. `"8GB"` →
 * `8_000_000_000`, `"8GiB"` → `8_589_934_592`. (`parseMemory(value).bytes` is the same number.)
 */
export function toDockerBytes(value: string): number {
  return parseMemory(value).bytes;
}

function invalid(value: unknown, reason: string): OrchError {
  const shown = typeof value === "string" ? `"${value}"` : String(value);
  return new OrchError("E_MEMORY_INVALID", {
    message: `Invalid memory ${shown}: ${reason}.`,
    hint: VALID_UNITS_HINT,
  });
}

// Map the near-misses people actually type (Kubernetes "8Gi", "8G", lowercase "8gb") to a real unit.
function suggestUnit(written: string): string | undefined {
  const lower = written.toLowerCase();
  for (const unit of Object.keys(UNIT_FACTORS)) {
    if (unit === "B") continue;
    const k8s = unit.slice(0, unit.length - 1).toLowerCase();
    if (lower === unit.toLowerCase() || lower === k8s) return unit;
  }
  return undefined;
}
