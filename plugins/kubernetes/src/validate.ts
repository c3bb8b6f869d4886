/**
 * Checks every object before it is sent (and every compiled manifest) against the Kubernetes OpenAPI
 * schema (kubernetes-models), and rejects fields the schema does not know: @kubernetes/client-node drops
 * unknown fields silently while serializing, so a typo (`tolerations[0].efect`) would never reach the
 * API server to be refused. Names must be DNS-1123 and within length limits.
 */
import * as k8s from "@kubernetes/client-node";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Pod } from "kubernetes-models/v1/Pod";
import { Secret } from "kubernetes-models/v1/Secret";
import { OrchError } from "@orch/core/plugin";
import { MAX_CRONJOB_NAME, type K8sObject } from "./manifests.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const MODELS = {
  Job: { model: Job, root: "V1Job", maxName: 63 },
  CronJob: { model: CronJob, root: "V1CronJob", maxName: MAX_CRONJOB_NAME },
  Pod: { model: Pod, root: "V1Pod", maxName: 253 },
  Secret: { model: Secret, root: "V1Secret", maxName: 253 },
} as const;

type AttributeMap = { name: string; baseName: string; type: string }[];

/** Problems found in `object`, as `path: message` lines (empty when valid). */
export function manifestProblems(object: K8sObject): string[] {
  const entry = MODELS[object.kind as keyof typeof MODELS];
  if (!entry) return [`kind: unsupported kind ${object.kind}`];
  const problems: string[] = [];
  const name = object.metadata?.name ?? "";
  if (!DNS_LABEL.test(name)) problems.push(`metadata.name: "${name}" is not a DNS-1123 label (lower-case letters, digits, "-")`);
  if (name.length > entry.maxName) problems.push(`metadata.name: "${name}" is longer than ${entry.maxName} characters`);
  const walkLabels = (labels: unknown, path: string) => {
    for (const [key, value] of Object.entries((labels ?? {}) as Record<string, string>)) {
      const [prefix, base] = key.includes("/") ? key.split("/", 2) : [undefined, key];
      if (!base || base.length > 63 || !LABEL_NAME.test(base) || (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))) {
        problems.push(`${path}: invalid label key "${key}"`);
      }
      if (typeof value !== "string" || value.length > 63 || !LABEL_VALUE.test(value)) problems.push(`${path}.${key}: invalid label value "${value}"`);
    }
  };
  walkLabels(object.metadata?.labels, "metadata.labels");
  const spec = object.spec as Record<string, any> | undefined;
  walkLabels(spec?.template?.metadata?.labels, "spec.template.metadata.labels");
  walkLabels(spec?.jobTemplate?.metadata?.labels, "spec.jobTemplate.metadata.labels");
  walkLabels(spec?.jobTemplate?.spec?.template?.metadata?.labels, "spec.jobTemplate.spec.template.metadata.labels");
  try {
    new entry.model(object as never).validate();
  } catch (error) {
    problems.push(`schema: ${(error as Error).message}`);
  }
  unknownFields(object, entry.root, "", problems);
  return problems;
}

/** Throws an OrchError naming every problem of `object`; returns it unchanged when valid. */
export function assertValidManifest<T extends K8sObject>(object: T): T {
  const problems = manifestProblems(object);
  if (problems.length) {
    throw new OrchError("E_CONFIG_INVALID", {
      flavor: "kubernetes",
      message: `The ${object.kind} "${object.metadata?.name}" generated for this run is not valid Kubernetes:\n  ${problems.join("\n  ")}`,
      hint: "Check the kubernetes orchestrator's pod settings (podSettings, orchestratorPodSettings, settings.kubernetes) for misspelled or misplaced fields.",
    });
  }
  return object;
}

const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap } | undefined>;

/** Walks `value` along the client's own type map: a key the client does not know would be dropped on the wire. */
function unknownFields(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, index) => unknownFields(item, array[1]!, `${path}[${index}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === "object") for (const [key, item] of Object.entries(value)) unknownFields(item, map[1]!, `${path}.${key}`, problems);
    return;
  }
  const model = models[type];
  const attributes = model?.getAttributeTypeMap?.();
  if (!attributes || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, item] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    const here = path ? `${path}.${key}` : key;
    if (!attribute) {
      const near = attributes.map((a) => a.baseName).find((known) => closeEnough(known, key));
      problems.push(`${here}: unknown field "${key}" in ${type.replace(/^V1/, "")}${near ? ` (did you mean "${near}"?)` : ""}`);
      continue;
    }
    unknownFields(item, attribute.type, here, problems);
  }
}

function closeEnough(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  if (Math.abs(a.length - b.length) > 2) return false;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]! <= 2;
}
