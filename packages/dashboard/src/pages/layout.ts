import { STATUS_ICON as ICONS } from "../format.js";
import { html, type Html } from "../html.js";

export type Section = "runs" | "pipelines" | "stacks";

/** The start of every page: head, header with the navigation. Sent first so the browser paints early. */
export function pageStart(title: string, section: Section | undefined): Html {
  const link = (href: string, name: Section, label: string) => html`<a href="${href}"${section === name ? html` aria-current="page"` : ""}>${label}</a>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>${title} · orch</title>
<link rel="stylesheet" href="/assets/style.css"><script src="/assets/app.js" defer></script></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">orch</a><nav aria-label="sections">${link("/", "runs", "Runs")}${link("/pipelines", "pipelines", "Pipelines")}${link("/stacks", "stacks", "Stacks")}</nav></header>
`;
}

export function pageEnd(): Html {
  return html`</body></html>\n`;
}

export function page(title: string, section: Section | undefined, body: Html): string {
  return `${pageStart(title, section)}${body}${pageEnd()}`;
}

export function statusBadge(status: string, label = status): Html {
  return html`<span class="badge s-${status}" data-status="${status}">${ICONS[status] ?? "·"} ${label}</span>`;
}
