CREATE OR REPLACE VIEW v_profiles AS
-- Profiles for analysts (SPEC 4): the materialized pseudonymized table, never `profiles`. Names, e-mails and
-- phones are salted SHA-256 hashes, the birth date is a year. Columns are listed, not `*`, so a column added
-- to the table reaches analysts only through a change here.
SELECT
    profile_id,
    first_name_hash,
    last_name_hash,
    email_hashes,
    phone_hashes,
    birth_year,
    gender,
    province,
    country,
    company,
    sources,
    first_seen,
    last_seen,
    record_count,
    event_count,
    order_count,
    total_spend,
    avg_order_value,
    recency_days,
    frequency_90d,
    monetary_90d,
    r_score,
    f_score,
    m_score,
    rfm_score,
    consent,
    updated_at,
    run_id
FROM profiles_pseudonymized
