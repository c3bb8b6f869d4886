/**
 * `orch run logs` for a sagemaker run: what the step's processing jobs printed, from CloudWatch Logs
 * (group /aws/sagemaker/ProcessingJobs, one stream per job instance, one job per attempt), streamed
 * while the step runs with `follow`; then the journal's lines no stream holds. A run SageMaker does
 * not know (or CloudWatch without the streams) still shows the journal.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { FINISHED_STEP_STATUSES, readRunRecord, readStepLog, readStepRecord, type ArtifactStore } from "@orch/core/plugin";
import { awsError, isNotFound, type AwsClients } from "./aws.js";
import { executionSteps, processingJobName, readExecutionRef } from "./executions.js";

export const LOG_GROUP = "/aws/sagemaker/ProcessingJobs";

export async function* stepLogs(clients: AwsClients, store: ArtifactStore, runId: string, stepId: string, options: { follow?: boolean; pollMs?: number } = {}): AsyncIterable<string> {
  const ref = await readExecutionRef(store, runId);
  const seen = new Set<string>();
  if (ref) {
    const stepName = ref.stepNames[stepId] ?? stepId;
    const { client, sdk } = await clients.logs();
    const printedJobs = new Set<string>();
    const tokens = new Map<string, string | undefined>();
    const finished = async () => FINISHED_STEP_STATUSES.has((await readStepRecord(store, runId, stepId))?.status ?? "pending") || (await readRunRecord(store, runId))?.status !== "running";
    for (;;) {
      const done = await finished();
      const step = (await executionSteps(clients, ref.executionArn)).find((s) => s.StepName === stepName);
      const job = processingJobName(step);
      // Every attempt's job shares the step's job-name prefix up to the attempt's random suffix.
      const prefix = job ? job.replace(/-[a-z0-9]+$/, "-") : undefined;
      if (prefix) {
        let streams: string[] = [];
        try {
          for await (const page of sdk.paginateDescribeLogStreams({ client }, { logGroupName: LOG_GROUP, logStreamNamePrefix: prefix })) {
            streams.push(...(page.logStreams ?? []).map((s) => s.logStreamName!).filter(Boolean));
          }
        } catch (error) {
          if (!isNotFound(error)) throw awsError(`DescribeLogStreams ${LOG_GROUP}`, error);
          streams = [];
        }
        for (const stream of streams.sort()) {
          const jobOfStream = stream.split("/")[0]!;
          if (!printedJobs.has(jobOfStream)) {
            printedJobs.add(jobOfStream);
            yield `[orch] ── processing job ${jobOfStream} ──`;
          }
          // GetLogEvents pages forward; the token stays the same once nothing is new.
          for (;;) {
            const token = tokens.get(stream);
            let page;
            try {
              page = await client.send(new sdk.GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
            } catch (error) {
              throw awsError(`GetLogEvents ${stream}`, error);
            }
            for (const event of page.events ?? []) {
              const line = event.message ?? "";
              seen.add(line);
              yield line;
            }
            const next = page.nextForwardToken;
            const same = next === token;
            tokens.set(stream, next);
            if (same || !(page.events ?? []).length) break;
          }
        }
      }
      if (!options.follow || done) break;
      await sleep(options.pollMs ?? 1000);
    }
  }
  // The journal's lines no log stream holds (all of them when CloudWatch has none).
  let first = true;
  for await (const line of readStepLog(store, runId, stepId, { skip: seen })) {
    if (first && seen.size) yield "[orch] ── step log (journal) ──";
    first = false;
    yield line;
  }
}
