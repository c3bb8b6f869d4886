/**
 * The line format of a run's step journal (`runs/<id>/steps.jsonl`, stores with atomic appends): one
 * step record per line, compact JSON starting with `{"runId":`, the last line of a step being its
 * record. Node built-ins only, so the CLI's quick paths (`@orch/core/host/light`) read it without
 * loading zod or the runner; `journal.ts` validates what this returns.
 */

/**
 * A record as one journal line, `first` as its first field: a reader finds where a record starts in a
 * line glued to one cut short by a crash (see parseJournalLine).
 */
export function journalLine<T extends object>(record: T, first: keyof T & string): string {
  return `${JSON.stringify({ [first]: record[first], ...record })}\n`;
}

/** A step record as a line of the step journal (runId first). */
export const stepJournalLine = (record: { runId: string; stepId: string }): string => journalLine(record, "runId");

/**
 * One journal line's value, or `undefined` for a line cut short by a crash mid-write (power loss, a
 * full disk). Such a line has no newline, so the next record is appended to it: that record, found by
 * the text it starts with (`{"<first>":`), is kept.
 */
export function parseJournalLine(line: string, first: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    const start = line.lastIndexOf(`{${JSON.stringify(first)}:`);
    if (start <= 0) return undefined;
    try {
      return JSON.parse(line.slice(start));
    } catch {
      return undefined;
    }
  }
}

export const parseStepJournalLine = (line: string): unknown => parseJournalLine(line, "runId");

/** The whole lines of `text` (up to its last newline: a line being appended right now is read next time). */
export function completeJournalLines(text: string): string[] {
  return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
}

/** Each step's record (its last line) in a journal's text, unvalidated; cut-short lines skipped. */
export function parseStepJournal(text: string): Map<string, { stepId: string } & Record<string, unknown>> {
  const records = new Map<string, { stepId: string } & Record<string, unknown>>();
  for (const line of completeJournalLines(text)) {
    const value = parseStepJournalLine(line) as ({ stepId?: unknown } & Record<string, unknown>) | undefined;
    if (value && typeof value.stepId === "string") records.set(value.stepId, value as { stepId: string } & Record<string, unknown>);
  }
  return records;
}
