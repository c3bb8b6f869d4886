import { OrchError } from "../errors.js";

/**
 * `{{env.NAME}}` as a component config value: the value is read from the environment variable NAME
 * when the stack is activated, so the secret is never stored in the index (`.orch/orch.db`) or shown
 * by `describe` — ZenML's `{{secret.key}}` references, with the environment as the secret store.
 */
const ENV_REFERENCE = /^\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

/** Whether a config value is an environment reference (left as is by redaction and registration). */
export function isEnvReference(value: unknown): value is string {
  return typeof value === "string" && ENV_REFERENCE.test(value);
}

/** A copy of `config` with every `{{env.NAME}}` string, at any depth, replaced by NAME's value. */
export function resolveEnvReferences<T>(config: T, flavor: string, env: NodeJS.ProcessEnv = process.env): T {
  const resolve = (value: unknown, path: string[]): unknown => {
    if (typeof value === "string") {
      const name = ENV_REFERENCE.exec(value)?.[1];
      if (name === undefined) return value;
      const resolved = env[name];
      if (resolved === undefined || resolved === "") {
        const key = path.join(".");
        throw new OrchError("E_CONFIG_INVALID", {
          flavor,
          key,
          message: `[orch] [${flavor}] ${key}: refers to the environment variable ${name} ({{env.${name}}}), which is not set.`,
          hint: `Set ${name} in the environment that runs orch (export ${name}=…), or register the value itself.`,
        });
      }
      return resolved;
    }
    if (Array.isArray(value)) return value.map((item, index) => resolve(item, [...path, String(index)]));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, [...path, key])]));
    }
    return value;
  };
  return resolve(config, []) as T;
}
