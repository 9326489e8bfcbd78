CREATE OR REPLACE VIEW v_rfm AS
-- One row per customer with orders: the R, F and M quintile scores (1 lowest, 5 highest; R = 5 bought most
-- recently), fm_score = the mean of F and M rounded half up, and the RFM segment named by R and FM
-- (the grid is in docs/analysts.md, "RFM segments"). Profiles without orders have no scores and no row.
SELECT
    profile_id,
    r_score,
    f_score,
    m_score,
    fm_score,
    rfm_score,
    CASE
        WHEN r_score = 5 AND fm_score >= 4 THEN 'champions'
        WHEN r_score >= 3 AND fm_score >= 4 THEN 'loyal'
        WHEN r_score >= 4 AND fm_score >= 2 THEN 'potential loyalists'
        WHEN r_score = 5 THEN 'new'
        WHEN r_score = 4 THEN 'promising'
        WHEN r_score = 3 AND fm_score = 3 THEN 'needs attention'
        WHEN r_score = 3 THEN 'about to sleep'
        WHEN fm_score = 5 THEN 'can''t lose them'
        WHEN fm_score >= 3 THEN 'at risk'
        WHEN r_score = 2 THEN 'hibernating'
        ELSE 'lost'
    END AS rfm_segment,
    recency_days,
    frequency_90d,
    monetary_90d,
    order_count,
    total_spend,
    avg_order_value,
    province,
    country,
    run_id
FROM (
    SELECT
        *,
        CAST(floor((f_score + m_score + 1) / 2.0) AS integer) AS fm_score
    FROM profiles_pseudonymized
    WHERE r_score IS NOT NULL AND f_score IS NOT NULL AND m_score IS NOT NULL
) AS scored
