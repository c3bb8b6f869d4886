/**
 * A tagged template for HTML that escapes every interpolated value unless it is already `Html`
 * (the output of another `html` call or of `raw`). Pages are built from these, so user-controlled
 * text — step names, log lines, error messages, artifact values — can never become markup.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) text += render(values[i]!) + strings[i + 1]!;
  return new Html(text);
}

/** Trusted markup (built by this package, never from user data). */
export const raw = (text: string) => new Html(text);

/** A URL path segment from a run or step id (ids are validated names, encoded all the same). */
export const seg = (value: string) => encodeURIComponent(value);
