// Settings shared by every flavor: validated once here and converted to the units/dialects backends need.
export { type MemoryQuantity, isValidMemory, memoryBytes, parseMemory, toDockerBytes, toK8sQuantity } from "./memory.js";
export { type NormalizedResources, type ResourceSettings, ResourceSettingsSchema, normalizeResources } from "./resources.js";
export { type RetryPolicy, type RetryPolicyInput, RetryPolicySchema, retryDelayMs } from "./retry.js";
export { type CronExpression, type CronField, type CronFieldName, type CronItem, parseCronExpression } from "./cron-parser.js";
export { intervalToCron, isValidCron, nextCronTimes, parseCron, toAwsCron, toKfpCron, toKubernetesCron, toQuartzCron } from "./cron.js";
export { type Schedule, type ScheduleInput, ScheduleSchema, scheduleKind, assertScheduleHasFuture, scheduleIsOver } from "./schedule.js";
export { isValidTimezone } from "./timezone.js";
export { REDACTED, looksSecret, redactSecrets, schemaSecretFlag, secret } from "./secret.js";
