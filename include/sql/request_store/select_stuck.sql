-- Requests that made no progress since :before (a run that died without its callbacks, a killed worker).
SELECT request_id, report_id, status, dag_run_id, updated_at
FROM report_requests
WHERE status IN ('IN_PROGRESS', 'GENERATED', 'DISTRIBUTED')
  AND updated_at < :before
ORDER BY updated_at
