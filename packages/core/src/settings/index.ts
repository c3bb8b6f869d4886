// Settings shared by every flavor: validated once here and converted to the units/dialects backends need.
export { type MemoryQuantity, isValidMemory, parseMemory, toDockerBytes, toK8sQuantity } from "./memory.js";
export { type NormalizedResources, type ResourceSettings, ResourceSettingsSchema, normalizeResources } from "./resources.js";
export { type RetryPolicy, type RetryPolicyInput, RetryPolicySchema, retryDelayMs } from "./retry.js";
export { intervalToCron, isValidCron, toAwsCron, toKfpCron, toKubernetesCron, toQuartzCron } from "./cron.js";
export { type Schedule, type ScheduleInput, ScheduleSchema, scheduleKind } from "./schedule.js";
export { isValidTimezone } from "./timezone.js";
export { type MachineType, type MachineTypeRequest, type MachineTypeRequestSource, chooseMachineType } from "./machine-type.js";
export { REDACTED, redactSecrets, secret } from "./secret.js";
