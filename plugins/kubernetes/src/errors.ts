/**
 * Kubernetes API failures as OrchErrors with the code that says whose move it is: a cluster that cannot
 * be reached or cannot serve now is `E_BACKEND_UNAVAILABLE` (the CLI exits 1: try again later); a
 * request the server refuses for what it says (credentials, permissions, a missing namespace, an
 * invalid object) is `E_CONFIG_INVALID` (exit 2: fix the configuration). Both carry a hint with the fix.
 */
import { OrchError, isOrchError } from "@orch/core/plugin";
import type { KubernetesOrchestratorConfig } from "./config.js";

/** The HTTP status of a failed API call (`ApiException.code`, a watch's `statusCode`), if the server answered. */
export function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "number" ? code : (error as { statusCode?: number })?.statusCode;
}

/** The server's own message (a `Status` body's `message`), else the error's. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown })?.body;
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  if (body && typeof body === "object" && "message" in body) return String((body as { message: unknown }).message);
  return (error as Error)?.message ?? String(error);
}

/** The API server refuses pods until the namespace's service account exists (right after namespace creation). */
export function isMissingServiceAccount(error: unknown): boolean {
  return apiStatus(error) === 403 && /service ?account/i.test(apiMessage(error)) && /not found/i.test(apiMessage(error));
}

/**
 * Statuses that mean "not now" rather than "not like this": rate limiting (429), a server error (500:
 * etcd timeouts and the like) and the gateway answers of a server or load balancer that is down.
 */
const UNAVAILABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Transport failures: refused, reset, unresolvable, timed out, unroutable, or the TLS handshake failed. */
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_|ERR_TLS|DEPTH_ZERO|SELF_SIGNED|CERT_|UNABLE_TO_VERIFY)/;

/** No answer at all, or the server says it cannot serve now. */
export function isUnavailable(error: unknown): boolean {
  const status = apiStatus(error);
  if (status !== undefined) return UNAVAILABLE_STATUSES.has(status);
  const codes = [error, (error as { cause?: unknown })?.cause].map((e) => String((e as { code?: unknown })?.code ?? ""));
  return codes.some((code) => NETWORK_CODES.test(code)) || /fetch failed|socket hang up|ECONNREFUSED|network timeout/i.test(String((error as Error)?.message));
}

/** How to fix what the server refused, by status. */
function refusalHint(status: number | undefined, config: KubernetesOrchestratorConfig): string | undefined {
  const namespace = config.kubernetesNamespace;
  switch (status) {
    case 401:
      return `The cluster refused the credentials of the kubeconfig${config.kubernetesContext ? ` context ${config.kubernetesContext}` : ""}: log in again or renew them (kubectl auth whoami).`;
    case 403:
      return `Give the account permission to manage jobs, cronjobs, secrets and pods in namespace ${namespace} (see the plugin README, Auth).`;
    case 404:
      return `Check that namespace ${namespace} exists (kubectl get namespace ${namespace}), or set kubernetesNamespace.`;
    case 422:
      return "The API server rejected the object; check the pod settings named in the message.";
    default:
      return undefined;
  }
}

/**
 * `error` of the API call `action` ("creating Job orch-abc") as an OrchError: E_BACKEND_UNAVAILABLE when
 * the cluster is unreachable or cannot serve now, E_CONFIG_INVALID when it refused the request. An
 * OrchError passes through unchanged.
 */
export function kubernetesError(action: string, error: unknown, config: KubernetesOrchestratorConfig): OrchError {
  if (isOrchError(error)) return error;
  const status = apiStatus(error);
  const http = status ? ` (HTTP ${status})` : "";
  if (isUnavailable(error)) {
    return new OrchError("E_BACKEND_UNAVAILABLE", {
      flavor: "kubernetes",
      message: `Kubernetes ${action} failed: the API server is ${status ? "unavailable" : "unreachable"}${http}: ${apiMessage(error)}`,
      hint: `Check that the cluster is up and reachable with these credentials (kubectl${config.kubernetesContext ? ` --context ${config.kubernetesContext}` : ""} get pods -n ${config.kubernetesNamespace}), then try again.`,
      cause: error,
    });
  }
  const message = apiMessage(error);
  // @kubernetes/client-node refuses plain http:// with credentials unless TLS checks are off.
  const plainHttp = /HTTP protocol is not allowed/i.test(message);
  return new OrchError("E_CONFIG_INVALID", {
    flavor: "kubernetes",
    ...(plainHttp ? { key: config.kubeconfig ? "kubeconfig" : "kubernetesContext" } : {}),
    message: `Kubernetes ${action} failed${http}: ${message}`,
    hint: plainHttp
      ? "The kubeconfig's cluster server is http:// but TLS verification is on: use the https:// address of the API server (or, for a local test cluster only, set insecure-skip-tls-verify: true)."
      : (refusalHint(status, config) ?? "Check that the cluster is reachable with this kubeconfig (kubectl get pods)."),
    cause: error,
  });
}
