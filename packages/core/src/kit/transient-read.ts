import { isOrchError } from "../errors.js";

/**
 * Consecutive unreadable reads of a journal record a follower sits out before it gives up: a record
 * read while its writer replaces it (a store whose puts are not atomic for readers, such as a local S3
 * stand-in) is cut short, and a remote store can drop one request.
 */
export const MAX_TORN_READS = 10;

/** Whether reading a record failed in a way the next read may not (cut short, or the store did not answer). */
export function isTransientReadError(error: unknown): boolean {
  return error instanceof SyntaxError || (isOrchError(error) && error.code === "E_BACKEND_UNAVAILABLE");
}
