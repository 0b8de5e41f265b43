// Deletes call records (and the recordings they point to) older than the configured retention. Runs at start-up and
// then daily; a recording that cannot be deleted keeps its row so it is retried, never orphaned silently.
import { unlink } from "node:fs/promises";
import type { Db } from "./db.ts";

export async function applyRetention(
  db: Db,
  retentionDays: number,
  opts: { now?: number; filesOf?: (callId: string) => string[] } = {},
): Promise<{ deleted: number; failed: number }> {
  const now = opts.now ?? Date.now();
  if (retentionDays <= 0) return { deleted: 0, failed: 0 };
  const cutoff = now - retentionDays * 86_400_000;
  const rows = db
    .prepare("SELECT id, recording_path FROM calls WHERE started_at < ? AND ended_at IS NOT NULL")
    .all(cutoff) as { id: string; recording_path: string | null }[];
  const del = db.prepare("DELETE FROM calls WHERE id = ?");
  let deleted = 0;
  let failed = 0;
  for (const r of rows) {
    const files = [...(r.recording_path ? [r.recording_path] : []), ...(opts.filesOf?.(r.id) ?? [])];
    const results = await Promise.all(
      files.map((f) =>
        unlink(f).then(
          () => true,
          (e: NodeJS.ErrnoException) => e.code === "ENOENT",
        ),
      ),
    );
    if (results.every(Boolean)) deleted += del.run(r.id).changes;
    else failed++;
  }
  return { deleted, failed };
}
