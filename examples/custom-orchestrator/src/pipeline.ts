/**
 * The sample project's pipeline: word statistics over a few documents. Each `count_words` call is
 * its own step, so on the subprocess orchestrator every document is counted in its own process.
 */
import { getStepContext, pipeline, step, z } from "@orch/core";

const DOCUMENTS: Record<string, string> = {
  zen: "Beautiful is better than ugly. Explicit is better than implicit. Simple is better than complex.",
  unix: "Write programs that do one thing and do it well. Write programs to work together.",
  agile: "Individuals and interactions over processes and tools. Working software over comprehensive documentation.",
};

/** Records which process ran the step, so you can see each step had its own. */
const notePid = () => getStepContext().addMetadata({ pid: process.pid });

export const loadDocument = step({ name: "load_document" }, (name: string) => {
  notePid();
  const text = DOCUMENTS[name];
  if (text === undefined) throw new Error(`Unknown document "${name}"; known: ${Object.keys(DOCUMENTS).join(", ")}`);
  getStepContext().logger.info(`loaded ${name} (${text.length} characters)`);
  return text;
});

export const countWords = step({ name: "count_words" }, (text: string) => {
  notePid();
  const counts: Record<string, number> = {};
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) counts[word] = (counts[word] ?? 0) + 1;
  return counts;
});

export const mergeCounts = step({ name: "merge_counts" }, (...parts: Record<string, number>[]) => {
  notePid();
  const total: Record<string, number> = {};
  for (const part of parts) for (const [word, count] of Object.entries(part)) total[word] = (total[word] ?? 0) + count;
  return total;
});

export const topWords = step({ name: "top_words" }, (counts: Record<string, number>, limit: number) => {
  notePid();
  return Object.entries(counts)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, limit)
    .map(([word, count]) => `${word}:${count}`);
});

export const wordStats = pipeline(
  { name: "word_stats", params: z.object({ documents: z.array(z.string()).default(["zen", "unix", "agile"]), limit: z.number().int().min(1).default(3) }) },
  (p) => {
    const counts = p.documents.map((name) => countWords(loadDocument(name)));
    topWords(mergeCounts(...counts), p.limit);
  },
);
