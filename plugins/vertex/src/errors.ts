/**
 * Vertex AI API failures as OrchErrors with the code that says whose move it is: an endpoint that
 * cannot be reached or cannot serve now is `E_BACKEND_UNAVAILABLE` (try again later); a request Vertex
 * refuses for what it says (credentials, permissions, a missing project, an invalid job) is
 * `E_CONFIG_INVALID`. Both carry a hint with the fix.
 *
 * The SDK's REST transport fails in two shapes: a gax `GoogleError` (gRPC `code`, Google's `status`
 * name) and, for HTTP errors its auth client raises first, a `GaxiosError` (HTTP `status`, the
 * `{ error: { code, message, status } }` body in `response.data` or as the message).
 */
import { OrchError, isOrchError } from "@orch/core/plugin";
import type { VertexOrchestratorConfig } from "./config.js";

/** gRPC code → HTTP status (google.rpc.Code), for GoogleErrors that carry only the former. */
const GRPC_TO_HTTP: Record<number, number> = { 3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 13: 500, 14: 503, 4: 504, 16: 401, 12: 501 };

interface GoogleErrorBody {
  code?: number;
  message?: string;
  status?: string;
}

function errorBody(error: unknown): GoogleErrorBody | undefined {
  const e = error as { response?: { data?: unknown }; message?: unknown };
  const candidates = [e?.response?.data, e?.message];
  for (const candidate of candidates) {
    let value = candidate;
    if (typeof value === "string") {
      try {
        value = JSON.parse(value);
      } catch {
        continue;
      }
    }
    const inner = (value as { error?: GoogleErrorBody } | undefined)?.error;
    if (inner && typeof inner === "object") return inner;
  }
  return undefined;
}

/** The HTTP status of a failed call, if Vertex answered. */
export function httpStatus(error: unknown): number | undefined {
  const e = error as { status?: unknown; code?: unknown; response?: { status?: unknown } };
  if (typeof e?.response?.status === "number") return e.response.status;
  if (typeof e?.status === "number") return e.status;
  const body = errorBody(error);
  if (typeof body?.code === "number") return body.code;
  // A GoogleError: its code is a gRPC code (the REST transport maps the HTTP status to it).
  if (typeof e?.code === "number") return e.code >= 100 ? e.code : GRPC_TO_HTTP[e.code];
  return undefined;
}

/** Vertex's own message (the error body's `message`), else the error's. */
export function apiMessage(error: unknown): string {
  return errorBody(error)?.message ?? (error as { details?: string })?.details ?? (error as Error)?.message ?? String(error);
}

const UNAVAILABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_|ERR_TLS|CERT_|UNABLE_TO_VERIFY)/;

export function isUnavailable(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined) return UNAVAILABLE_STATUSES.has(status);
  const codes = [error, (error as { cause?: unknown })?.cause].map((e) => String((e as { code?: unknown })?.code ?? ""));
  return codes.some((code) => NETWORK_CODES.test(code)) || /fetch failed|socket hang up|ECONNREFUSED|ENOTFOUND|network timeout/i.test(String((error as Error)?.message));
}

function refusalHint(status: number | undefined, config: VertexOrchestratorConfig): string | undefined {
  switch (status) {
    case 401:
      return config.keyFile
        ? `Vertex AI refused the credentials of keyFile ${config.keyFile}: check that the key is valid and not disabled.`
        : "Vertex AI refused the Application Default Credentials: run gcloud auth application-default login, or set keyFile.";
    case 403:
      return `Give the caller roles/aiplatform.user in project ${config.project ?? "(the credentials' project)"}, and enable the Vertex AI API (gcloud services enable aiplatform.googleapis.com).`;
    case 404:
      return `Check the project and location (${config.project ?? "?"}, ${config.location}).`;
    case 400:
      return "Vertex AI rejected the request; the message names the field.";
    default:
      return undefined;
  }
}

/** `error` of the API call `action` ("creating PipelineJob orch-abc") as an OrchError; an OrchError passes through. */
export function vertexError(action: string, error: unknown, config: VertexOrchestratorConfig): OrchError {
  if (isOrchError(error)) return error;
  const status = httpStatus(error);
  const http = status ? ` (HTTP ${status})` : "";
  if (isUnavailable(error)) {
    return new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: "vertex",
      message: `Vertex AI ${action} failed: the API is ${status ? "unavailable" : "unreachable"}${http}: ${apiMessage(error)}`,
      hint: `Check the network path to ${config.apiEndpoint ?? `${config.location}-aiplatform.googleapis.com`} and try again.`,
      cause: error,
    });
  }
  return new OrchError("E_CONFIG_INVALID", {
    flavor: "vertex",
    message: `Vertex AI ${action} failed${http}: ${apiMessage(error)}`,
    hint: refusalHint(status, config) ?? "Check the vertex orchestrator's configuration (orch orchestrator describe).",
    cause: error,
  });
}
