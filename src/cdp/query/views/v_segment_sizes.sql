CREATE OR REPLACE VIEW v_segment_sizes AS
-- One row per segment of the current segment_memberships snapshot. A row of that table is one membership
-- spell; its run_id is the run that last changed it (entered it, or set exited_at). members = spells still
-- open (exited_at null); entered / exited = spells the latest run opened / closed.
SELECT
    m.segment_id,
    count(*) FILTER (WHERE m.exited_at IS NULL) AS members,
    count(*) FILTER (WHERE m.exited_at IS NULL AND m.run_id = latest.run_id) AS entered,
    count(*) FILTER (WHERE m.exited_at IS NOT NULL AND m.run_id = latest.run_id) AS exited,
    latest.run_id AS latest_run_id
FROM segment_memberships AS m
CROSS JOIN (SELECT max(run_id) AS run_id FROM segment_memberships) AS latest
GROUP BY m.segment_id, latest.run_id
