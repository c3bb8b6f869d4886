/** `/stacks`: stacks with their components and (redacted) configs; the active stack is marked. */
import { localArtifactStoreConfigSchema, redactSecrets, resolvePlugin } from "@orch/core/host";
import type { ComponentKind, ComponentRow, OrchIndex } from "@orch/store-sqlite";
import { html } from "../html.js";
import { page } from "./layout.js";

type Schema = Parameters<typeof redactSecrets>[1];

/**
 * A component's config as it may be shown: fields its flavor's schema marks secret and values under
 * credential-like keys become `********`. Without the plugin installed, keys alone decide.
 */
async function redactedConfig(component: ComponentRow, projectRoot: string): Promise<Record<string, unknown>> {
  let schema: Schema;
  const flavor = component.flavor.replace(/_/g, "-");
  try {
    if (component.kind === "artifact-store" && flavor === "local" && !component.package) schema = localArtifactStoreConfigSchema;
    else if (component.kind === "orchestrator" || component.kind === "artifact-store") {
      const plugin = await resolvePlugin(component.kind, flavor, { projectRoot, ...(component.package ? { package: component.package } : {}) });
      schema = plugin.configSchema as Schema;
    }
  } catch {
    schema = undefined;
  }
  return redactSecrets(component.config, schema);
}

export async function renderStacksPage(index: OrchIndex, projectRoot: string): Promise<string> {
  const stacks = index.listStacks();
  const active = index.activeStackName();
  const kinds: [ComponentKind, string, "orchestrator" | "artifactStore" | "containerRegistry"][] = [
    ["orchestrator", "Orchestrator", "orchestrator"],
    ["artifact-store", "Artifact store", "artifactStore"],
    ["container-registry", "Container registry", "containerRegistry"],
  ];
  const sections = [];
  for (const stack of stacks) {
    const rows = [];
    for (const [kind, label, field] of kinds) {
      const name = stack[field];
      if (!name) continue;
      const component = index.getComponent(kind, name);
      const config = component ? await redactedConfig(component, projectRoot) : undefined;
      rows.push(
        html`<tr><th scope="row">${label}</th><td>${name}</td><td>${component ? component.flavor.replace(/-/g, "_") : "missing"}${component?.package ? html` <small>(${component.package})</small>` : ""}</td><td>${config && Object.keys(config).length ? html`<pre class="json">${JSON.stringify(config, null, 2)}</pre>` : "defaults"}</td></tr>`,
      );
    }
    const isActive = stack.name === active;
    sections.push(
      html`<section class="stack${isActive ? " active" : ""}" data-stack="${stack.name}" aria-labelledby="st-${stack.name}"><h2 id="st-${stack.name}">${stack.name}${isActive ? html` <span class="badge active-mark">★ active</span>` : ""}</h2><table class="components"><thead><tr><th scope="col">Kind</th><th scope="col">Component</th><th scope="col">Flavor</th><th scope="col">Config</th></tr></thead><tbody>${rows}</tbody></table><p class="facts"><a href="/?stack=${encodeURIComponent(stack.name)}">runs on this stack</a></p></section>`,
    );
  }
  const body = html`<main id="main"><h1>Stacks</h1><p class="note">Switch with <code>orch stack set NAME</code>.</p>${sections}</main>`;
  return page("Stacks", "stacks", body);
}
