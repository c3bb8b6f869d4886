/** Where a schedule's snapshot lives in the artifact store (its own file: the scheduled-run bin loads no SDK). */
export const scheduleSnapshotKey = (key: string) => `schedules/${key}/snapshot.json`;
