"""The SQL of the workers' queue, once for every backend (`?` placeholders, as in
sql_reads.py; the PostgreSQL writer runs them through `QmarkConnection`).

- TAKE_JOBS: jobs left to workers that a worker may run now, oldest first: pending,
  running (to join) and interrupted ones; a sequential comparison's next variant only
  once the one before it has ended. Params: (limit,).
- FINALIZE_COUNTS: what `page_rows.finalize_verdict` reads: the job's status, step and
  completed count, and its processing and pending pages. Params: (job, job, job).
- ENQUEUE: leave a job to workers; a stopped one waits for them as `pending`. Params: (job,).
"""

TAKE_JOBS = """
    SELECT j.id FROM jobs j LEFT JOIN comparisons c ON c.id = j.comparison_id
    WHERE j.run_by = 'workers' AND j.status IN ('pending', 'running', 'interrupted')
      AND NOT (coalesce(c.mode, '') = 'sequential' AND EXISTS (
          SELECT 1 FROM jobs e WHERE e.comparison_id = j.comparison_id
            AND (e.created_at, e.id) < (j.created_at, j.id)
            AND e.status IN ('pending', 'running', 'interrupted')))
    ORDER BY j.created_at, j.id LIMIT ?
"""

FINALIZE_COUNTS = (
    "SELECT status, step, completed, "
    "(SELECT count(*) FROM pages WHERE job_id = ? AND status = 'processing') AS processing, "
    "(SELECT count(*) FROM pages WHERE job_id = ? AND status = 'pending') AS pending "
    "FROM jobs WHERE id = ?"
)

ENQUEUE = (
    "UPDATE jobs SET run_by = 'workers', control = NULL, "
    "status = CASE WHEN status IN ('running', 'completed') THEN status ELSE 'pending' END WHERE id = ?"
)
