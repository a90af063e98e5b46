-- Goals service (services/goals): the action-planning cycle.
--
-- goals_changes is both the store of every planning entity (departments, people, cycles,
-- strategy sessions, organisation and department goals, actions, commitment sessions,
-- tokens) and its audit trail: each accepted write appends one row holding who, when,
-- what (the action), the entity before and after, as JSON. Nothing is updated in place
-- (plain MergeTree, never merged away), so the current state of an entity is its row
-- with the highest version and its history is every row.
--
-- Optimistic concurrency: a write names the version it read; the goals service checks
-- it under a per-entity lock and appends version + 1, so one process never loses an
-- update. Two rows with the same (kind, id, version) can only come from two writer
-- processes racing; readers then take the earliest (at, change_id), and docs/goals.md
-- explains the deployment that avoids it.
--
-- lookup_key: a secondary key (the SHA-256 of a bearer token), '' for other kinds.
CREATE TABLE IF NOT EXISTS {{db}}.goals_changes
(
    kind        LowCardinality(String),
    id          String,
    version     UInt32,
    change_id   String,
    action      LowCardinality(String),
    actor_id    String,
    at          DateTime64(3, 'UTC'),
    comment     String,
    before      String,
    after       String,
    lookup_key  String
)
ENGINE = MergeTree
ORDER BY (kind, id, version);

-- Evaluation history of every bound success metric: one row per evaluation whose
-- outcome changed (status, value or data), queryable per goal and time range.
-- detail holds the whole evaluation as JSON (burn rates per window, reason, no-data cause).
CREATE TABLE IF NOT EXISTS {{db}}.goals_evaluations
(
    goal_id           String,
    goal_kind         LowCardinality(String),
    cycle_id          String,
    evaluated_at      DateTime64(3, 'UTC'),
    window_from       DateTime64(3, 'UTC'),
    window_to         DateTime64(3, 'UTC'),
    period_end        DateTime64(3, 'UTC'),
    status            LowCardinality(String),
    value             Nullable(Float64),
    numerator         Nullable(Float64),
    denominator       Nullable(Float64),
    comparator        LowCardinality(String),
    target            Float64,
    warning           Float64,
    attainment        Nullable(Float64),
    budget_remaining  Nullable(Float64),
    burn_rate         Nullable(Float64),
    final             UInt8,
    detail            String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (goal_id, evaluated_at);
