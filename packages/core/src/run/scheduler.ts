import { setMaxListeners } from "node:events";
import pLimit from "p-limit";

export type LaunchOutcome = "succeeded" | "cached" | "failed" | "stopped";
export type NodeState = LaunchOutcome | "skipped";

export interface SchedulerOptions {
  /** At most this many launches run at once. */
  concurrency: number;
  /** Stop launching at the first failure (the rest ends `skipped`), or only skip what depends on it. */
  failFast: boolean;
  /** Aborting stops launching; what has not started ends `stopped`, running launches see the signal. */
  signal?: AbortSignal;
  launch(id: string, signal: AbortSignal): Promise<LaunchOutcome>;
  /** Told about every node that ends without being launched. */
  onNotLaunched?(id: string, state: "skipped" | "stopped", reason: string): void | Promise<void>;
}

interface NodeEntry {
  id: string;
  upstream: readonly string[];
  state: "waiting" | "queued" | "running" | NodeState;
  done: Promise<NodeState>;
  settle: (state: NodeState) => void;
  /** Upstream nodes that have not succeeded yet: the node starts at 0. A counter, so a fan-in of n parents costs O(n), not O(n²). */
  remaining: number;
  /** The first upstream node that failed, was skipped or stopped. */
  blockedBy?: NodeEntry;
}

const OK_STATES = new Set<NodeEntry["state"]>(["succeeded", "cached"]);
const BAD_STATES = new Set<NodeEntry["state"]>(["failed", "skipped", "stopped"]);

/**
 * The topological scheduler every in-process and in-cluster flavor shares. Nodes may be added while
 * it runs (dynamic pipelines); a node starts once all its upstream nodes succeeded.
 */
export function createScheduler(options: SchedulerOptions) {
  const limit = pLimit(Math.max(1, options.concurrency));
  const nodes = new Map<string, NodeEntry>();
  const dependents = new Map<string, string[]>();
  const stepController = new AbortController();
  // Every running step listens on this signal; with high parallelism that is more than Node's default 10.
  setMaxListeners(0, stepController.signal);
  let haltReason: string | undefined;
  let closed = false;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (resolveAll = resolve));

  const onAbort = () => {
    stepController.abort(options.signal?.reason);
    halt("the run was stopped");
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  function halt(reason: string) {
    haltReason ??= reason;
    // Nodes still waiting for their upstream will never start now.
    for (const node of nodes.values()) if (node.state === "waiting") void finishUnlaunched(node);
  }

  function stateWhenHalted(): "skipped" | "stopped" {
    return options.signal?.aborted ? "stopped" : "skipped";
  }

  async function finishUnlaunched(node: NodeEntry, state = stateWhenHalted(), reason = haltReason ?? "") {
    // Not final until its record is written, so done() never resolves before onNotLaunched has run.
    node.state = "queued";
    try {
      await options.onNotLaunched?.(node.id, state, reason);
    } catch {
      // Callers run this without awaiting it: a store that refuses the record must not crash the process.
    } finally {
      settle(node, state);
    }
  }

  function settle(node: NodeEntry, state: NodeState) {
    node.state = state;
    node.settle(state);
    for (const childId of dependents.get(node.id) ?? []) {
      const child = nodes.get(childId)!;
      if (OK_STATES.has(state)) child.remaining--;
      else child.blockedBy ??= node;
      consider(child);
    }
    checkAllDone();
  }

  function addDependent(parent: string, id: string) {
    const list = dependents.get(parent);
    if (list) list.push(id);
    else dependents.set(parent, [id]);
  }

  function checkAllDone() {
    if (!closed) return;
    for (const node of nodes.values()) if (!isFinal(node.state)) return;
    options.signal?.removeEventListener("abort", onAbort);
    resolveAll();
  }

  function consider(node: NodeEntry) {
    if (node.state !== "waiting") return;
    if (haltReason) return void finishUnlaunched(node);
    const blocked = node.blockedBy;
    if (blocked) return void finishUnlaunched(node, "skipped", `upstream step "${blocked.id}" ${blocked.state === "failed" ? "failed" : `was ${blocked.state}`}`);
    if (node.remaining > 0) return;
    node.state = "queued";
    void limit(async () => {
      // Each launch starts on a new event-loop turn. With a store that answers synchronously (the
      // local one, for small records) a whole run would otherwise be one chain of microtasks, and
      // timers (live view, lock renewal), signals (Ctrl-C) and batched index writes would wait for
      // its end.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Halted while waiting for a slot: never launch.
      if (haltReason) return finishUnlaunched(node);
      node.state = "running";
      let outcome: LaunchOutcome;
      try {
        outcome = await options.launch(node.id, stepController.signal);
      } catch {
        // executeRun records a rejected launch as a failed step itself (with the error); this is the
        // scheduler's own guard, so one bad launch never stalls the DAG.
        outcome = "failed";
      }
      if (outcome === "failed" && options.failFast) halt(`step "${node.id}" failed (fail-fast)`);
      settle(node, outcome);
    });
  }

  return {
    /** Adds a node; its upstream ids must have been added before (call order is topological). */
    add(id: string, upstream: readonly string[]): Promise<NodeState> {
      if (nodes.has(id)) throw new Error(`Scheduler: node "${id}" added twice`);
      if (closed) throw new Error(`Scheduler: node "${id}" added after close()`);
      const unknown = upstream.find((parent) => !nodes.has(parent));
      if (unknown) throw new Error(`Scheduler: node "${id}" depends on unknown node "${unknown}"`);
      for (const parent of upstream) addDependent(parent, id);
      let settleNode!: (state: NodeState) => void;
      const done = new Promise<NodeState>((resolve) => (settleNode = resolve));
      const parents = upstream.map((parent) => nodes.get(parent)!);
      const node: NodeEntry = { id, upstream, state: "waiting", done, settle: settleNode, remaining: parents.filter((p) => !OK_STATES.has(p.state)).length };
      const blocked = parents.find((p) => BAD_STATES.has(p.state));
      if (blocked) node.blockedBy = blocked;
      nodes.set(id, node);
      consider(node);
      return done;
    },
    /** Marks a node as already finished (a resumed run's completed step). */
    addCompleted(id: string, upstream: readonly string[], state: "succeeded" | "cached"): void {
      let settleNode!: (state: NodeState) => void;
      const done = new Promise<NodeState>((resolve) => (settleNode = resolve));
      for (const parent of upstream) addDependent(parent, id);
      const node: NodeEntry = { id, upstream, state, done, settle: settleNode, remaining: 0 };
      nodes.set(id, node);
      settleNode(state);
    },
    /** No more nodes will be added. */
    close(): void {
      closed = true;
      checkAllDone();
    },
    /** Resolves with every node's final state once closed and all nodes have ended. */
    async done(): Promise<Map<string, NodeState>> {
      await allDone;
      return new Map([...nodes].map(([id, node]) => [id, node.state as NodeState]));
    },
    get halted(): boolean {
      return haltReason !== undefined;
    },
  };
}

function isFinal(state: NodeEntry["state"]): state is NodeState {
  return state !== "waiting" && state !== "queued" && state !== "running";
}

export type Scheduler = ReturnType<typeof createScheduler>;
