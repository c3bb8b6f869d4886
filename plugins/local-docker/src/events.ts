/** What the orchestrator reports while it prepares the step image (build, reuse, pull, push). */
export interface ImageEvent {
  phase: "context" | "reuse" | "pull" | "build" | "push" | "done" | "mount";
  message: string;
  image?: string;
}

const imageListeners = new Set<(event: ImageEvent) => void>();

/** Follows image preparation of every local_docker run in this process (live views, tests); returns an unsubscribe function. */
export function onImageEvent(listener: (event: ImageEvent) => void): () => void {
  imageListeners.add(listener);
  return () => imageListeners.delete(listener);
}

/** @internal the runtime reports through this. */
export function emitImageEvent(event: ImageEvent): void {
  for (const listener of imageListeners) {
    try {
      listener(event);
    } catch {
      // a listener's failure never affects the run
    }
  }
}
