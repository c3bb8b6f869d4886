/**
 * A small list-then-watch cache of one kind of object selected by labels (what client-go's informers
 * do): lists, then watches from the list's resourceVersion; reconnects when the stream ends, relists on
 * 410 Gone (the resourceVersion was compacted away), and tells waiters about every change.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import * as k8s from "@kubernetes/client-node";

export interface KubeObject {
  metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string | Date; deletionTimestamp?: string | Date };
  [key: string]: unknown;
}

type Listener = (name: string, object: KubeObject | undefined) => void;

export interface TrackerOptions {
  /** Collection path, e.g. /apis/batch/v1/namespaces/ns/jobs. */
  path: string;
  labelSelector: string;
  list: () => Promise<{ items: KubeObject[]; resourceVersion?: string }>;
  onError?: (error: unknown) => void;
}

export class ResourceTracker {
  readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<Listener>();
  private resourceVersion: string | undefined;
  private controller: AbortController | undefined;
  private stopped = false;
  private readyPromise: Promise<void> | undefined;
  /** How many times the cache was rebuilt from a list (1 + relists after 410 Gone). */
  lists = 0;
  reconnects = 0;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: TrackerOptions,
  ) {}

  /** Starts listing and watching; resolves once the first list is in the cache. */
  start(): Promise<void> {
    this.readyPromise ??= this.relist().then(() => void this.loop());
    return this.readyPromise;
  }

  /** Calls `listener(name, object)` on every change (object undefined = deleted); returns an unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private emit(name: string, object: KubeObject | undefined) {
    for (const listener of this.listeners) listener(name, object);
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.options.list();
    this.lists++;
    const seen = new Set<string>();
    for (const item of items) {
      const name = item.metadata?.name;
      if (!name) continue;
      seen.add(name);
      this.objects.set(name, item);
      this.emit(name, item);
    }
    // Objects deleted while we were not watching.
    for (const name of [...this.objects.keys()]) {
      if (!seen.has(name)) {
        this.objects.delete(name);
        this.emit(name, undefined);
      }
    }
    this.resourceVersion = resourceVersion;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      try {
        if (outcome === "gone") {
          await this.relist();
          failures = 0;
          continue;
        }
        if (outcome === "error") {
          failures++;
          await sleep(Math.min(100 * 2 ** failures, 5_000));
        }
        this.reconnects++;
      } catch (error) {
        this.options.onError?.(error);
        failures++;
        await sleep(Math.min(100 * 2 ** failures, 5_000));
      }
    }
  }

  /** One watch connection; resolves with why it ended. */
  private watchOnce(): Promise<"closed" | "gone" | "error"> {
    return new Promise((resolve) => {
      let outcome: "closed" | "gone" | "error" = "closed";
      const watch = new k8s.Watch(this.kubeConfig);
      const query: Record<string, string | boolean> = { labelSelector: this.options.labelSelector, allowWatchBookmarks: true };
      if (this.resourceVersion) query.resourceVersion = this.resourceVersion;
      watch
        .watch(
          this.options.path,
          query,
          (type: string, object: KubeObject & { code?: number }) => {
            if (type === "ERROR") {
              outcome = object?.code === 410 ? "gone" : "error";
              this.controller?.abort();
              return;
            }
            const version = object?.metadata?.resourceVersion;
            if (version) this.resourceVersion = version;
            if (type === "BOOKMARK") return;
            const name = object?.metadata?.name;
            if (!name) return;
            if (type === "DELETED") {
              this.objects.delete(name);
              this.emit(name, undefined);
            } else {
              this.objects.set(name, object);
              this.emit(name, object);
            }
          },
          (error: unknown) => {
            const status = (error as { statusCode?: number } | null)?.statusCode;
            if (status === 410) outcome = "gone";
            else if (error && !(error as Error).name?.includes("Abort") && outcome === "closed") outcome = "error";
            if (error && outcome === "error") this.options.onError?.(error);
            resolve(outcome);
          },
        )
        .then((controller) => {
          this.controller = controller;
          if (this.stopped) controller.abort();
        })
        .catch((error) => {
          this.options.onError?.(error);
          resolve("error");
        });
    });
  }
}
