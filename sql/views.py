"""The reporting views, in SQL that PostgreSQL and SQLite both accept.

Money columns are TEXT on SQLite (exact decimals), so comparisons and sums CAST them to NUMERIC.
"""

USER_OVERVIEW = """
CREATE VIEW user_overview AS
SELECT
    u.id AS user_id,
    u.telegram_id,
    u.username,
    u.status,
    u.mode,
    (SELECT COUNT(*) FROM user_pairs p WHERE p.user_id = u.id) AS pairs,
    (SELECT COUNT(*) FROM user_pairs p WHERE p.user_id = u.id AND p.status = 'active') AS active_pairs,
    (SELECT COUNT(*) FROM positions po WHERE po.user_id = u.id) AS open_positions,
    (SELECT COUNT(*) FROM trades t WHERE t.user_id = u.id AND t.status = 'closed') AS closed_trades,
    (SELECT COUNT(*) FROM trades t
        WHERE t.user_id = u.id AND t.status = 'closed' AND CAST(t.realized_pnl AS NUMERIC) > 0) AS winning_trades,
    (SELECT SUM(CAST(t.realized_pnl AS NUMERIC)) FROM trades t
        WHERE t.user_id = u.id AND t.status = 'closed') AS total_realized_pnl,
    s.balance,
    s.equity,
    s.unrealized_pnl,
    COALESCE(s.breaker_status, 'running') AS breaker_status,
    u.created_at
FROM users u
LEFT JOIN user_states s ON s.user_id = u.id
"""

RECENT_TRADES_BY_USER = """
CREATE VIEW recent_trades_by_user AS
SELECT * FROM (
    SELECT
        t.id AS trade_id,
        t.user_id,
        u.telegram_id,
        t.symbol,
        t.side,
        t.status,
        t.amount,
        t.entry_price,
        t.exit_price,
        t.fees,
        t.realized_pnl,
        t.close_reason,
        t.opened_at,
        t.closed_at,
        ROW_NUMBER() OVER (
            PARTITION BY t.user_id ORDER BY COALESCE(t.closed_at, t.opened_at) DESC, t.id DESC
        ) AS recency
    FROM trades t
    JOIN users u ON u.id = t.user_id
) ranked
WHERE recency <= 50
"""

AI_PROVIDER_STATS_BY_USER = """
CREATE VIEW ai_provider_stats_by_user AS
SELECT
    td.user_id,
    a.provider,
    COUNT(*) AS answers,
    SUM(CASE WHEN a.action IS NULL THEN 1 ELSE 0 END) AS abstentions,
    SUM(CASE WHEN a.action = 'BUY' THEN 1 ELSE 0 END) AS buys,
    SUM(CASE WHEN a.action = 'SELL' THEN 1 ELSE 0 END) AS sells,
    SUM(CASE WHEN a.action = 'HOLD' THEN 1 ELSE 0 END) AS holds,
    SUM(CASE WHEN a.action = 'CLOSE' THEN 1 ELSE 0 END) AS closes,
    AVG(a.latency_ms) AS avg_latency_ms,
    AVG(CAST(a.confidence AS NUMERIC)) AS avg_confidence,
    SUM(COALESCE(a.prompt_tokens, 0) + COALESCE(a.completion_tokens, 0)) AS tokens,
    MAX(a.created_at) AS last_answer_at
FROM trade_decisions td
JOIN ai_decisions a ON a.consultation_key = td.consultation_key
GROUP BY td.user_id, a.provider
"""

VIEWS = {
    "user_overview": USER_OVERVIEW,
    "recent_trades_by_user": RECENT_TRADES_BY_USER,
    "ai_provider_stats_by_user": AI_PROVIDER_STATS_BY_USER,
}
