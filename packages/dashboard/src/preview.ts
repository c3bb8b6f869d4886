/**
 * Artifact previews for the step panel: the value is loaded through core (its materializer and its
 * integrity checks), then shown as a table (an array of records), pretty JSON (other plain data) or
 * its size (bytes, streams, class instances a materializer of the user's code restores). Large
 * artifacts are not loaded at all: their size and type come from the step record.
 */
import { formatBytes } from "./format.js";
import { html, type Html } from "./html.js";

/** Artifacts larger than this are described, not loaded. */
export const PREVIEW_LOAD_LIMIT = 4 * 1024 * 1024;
const MAX_JSON_CHARS = 20_000;
const MAX_ROWS = 50;
const MAX_COLUMNS = 12;

export interface OutputInfo {
  artifactId: string;
  materializer: string;
  contentHash: string;
  size?: number | undefined;
  type?: string | undefined;
}

export async function renderPreview(output: OutputInfo, load: () => Promise<unknown>): Promise<Html> {
  const facts = html`<p class="facts">${output.type ?? "value"} · ${formatBytes(output.size)} · materializer <code>${output.materializer}</code> · artifact <code>${output.artifactId}</code></p>`;
  if (output.size !== undefined && output.size > PREVIEW_LOAD_LIMIT) return html`${facts}<p class="note">Too large to preview here (over ${formatBytes(PREVIEW_LOAD_LIMIT)}).</p>`;
  let value: unknown;
  try {
    value = await load();
  } catch (error) {
    const message = String((error as Error)?.message ?? error).split("\n")[0];
    return html`${facts}<p class="note">Not previewed: ${message}</p>`;
  }
  return html`${facts}${previewValue(value)}`;
}

export function previewValue(value: unknown): Html {
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return html`<p class="note">binary data, ${formatBytes(value.byteLength)}</p>`;
  if (isRecordArray(value)) return recordTable(value);
  if (value !== null && typeof value === "object" && !isPlain(value)) {
    const name = (value as object).constructor?.name ?? "object";
    return html`<p class="note">a ${name} instance (restored by its materializer; no generic preview)</p>`;
  }
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  const clipped = text.length > MAX_JSON_CHARS;
  return html`<pre class="json">${clipped ? text.slice(0, MAX_JSON_CHARS) : text}</pre>${clipped ? html`<p class="note">Showing the first ${MAX_JSON_CHARS.toLocaleString("en")} of ${text.length.toLocaleString("en")} characters.</p>` : ""}`;
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

function isRecordArray(value: unknown): value is Record<string, unknown>[] {
  return Array.isArray(value) && value.length > 0 && value.every((row) => row !== null && typeof row === "object" && !Array.isArray(row) && isPlain(row));
}

function recordTable(rows: Record<string, unknown>[]): Html {
  const columns: string[] = [];
  for (const row of rows.slice(0, MAX_ROWS)) for (const key of Object.keys(row)) if (!columns.includes(key) && columns.length < MAX_COLUMNS) columns.push(key);
  const cell = (v: unknown) => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  return html`<div class="scroll"><table class="records"><thead><tr>${columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead><tbody>${rows
    .slice(0, MAX_ROWS)
    .map((row) => html`<tr>${columns.map((c) => html`<td>${cell(row[c])}</td>`)}</tr>`)}</tbody></table></div>${rows.length > MAX_ROWS ? html`<p class="note">Showing ${MAX_ROWS} of ${rows.length.toLocaleString("en")} rows.</p>` : ""}`;
}
