-- kcc history, first schema. Times are Unix microseconds (UTC) except
-- queue_log.time, which is Asterisk's table form (a timestamp
-- without time zone, holding UTC). Ids of append-only tables
-- are chosen by kcc's writer (one sequence across these tables), so a batch
-- written twice stores nothing twice.

CREATE TABLE events (
    id         BIGINT PRIMARY KEY,
    contact_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    time_us    BIGINT  NOT NULL,
    data       JSONB   NOT NULL
);
CREATE INDEX events_contact ON events (contact_id, id);
CREATE INDEX events_time ON events (time_us);

CREATE TABLE contacts (
    contact_id        TEXT PRIMARY KEY,
    caller            TEXT    NOT NULL,
    arrival_us        BIGINT  NOT NULL,
    ivr_end_us        BIGINT,
    queue_entry_us    BIGINT,
    answer_us         BIGINT,
    end_us            BIGINT,
    wrapup_end_us     BIGINT,
    offers            BIGINT  NOT NULL,
    flow_version      TEXT    NOT NULL,
    ivr_path          TEXT    NOT NULL,
    topic             TEXT    NOT NULL,
    queue             TEXT    NOT NULL,
    agent             TEXT    NOT NULL,
    outcome           TEXT    NOT NULL,
    wait_ms           BIGINT  NOT NULL,
    talk_ms           BIGINT  NOT NULL,
    wrapup_ms         BIGINT  NOT NULL,
    predicted_wait_ms BIGINT  NOT NULL,
    caller_loss       DOUBLE PRECISION NOT NULL,
    caller_jitter_us  BIGINT  NOT NULL,
    agent_loss        DOUBLE PRECISION NOT NULL,
    agent_jitter_us   BIGINT  NOT NULL
);
CREATE INDEX contacts_arrival ON contacts (arrival_us);

CREATE TABLE agent_states (
    id      BIGINT PRIMARY KEY,
    agent   TEXT    NOT NULL,
    state   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    time_us BIGINT  NOT NULL
);
CREATE INDEX agent_states_agent_time ON agent_states (agent, time_us);
CREATE INDEX agent_states_time ON agent_states (time_us);

-- Asterisk's realtime queue_log table (time, callid, queuename, agent,
-- event, data1..data5) plus kcc's columns: id, time_us for range queries and
-- data, the whole data string (data1..data5 cannot tell "x|" from "x").
CREATE TABLE queue_log (
    id        BIGINT PRIMARY KEY,
    time      TIMESTAMP NOT NULL, -- UTC, like queue_log_realtime_use_gmt=yes
    time_us   BIGINT  NOT NULL,
    callid    TEXT    NOT NULL,
    queuename TEXT    NOT NULL,
    agent     TEXT    NOT NULL,
    event     TEXT    NOT NULL,
    data      TEXT    NOT NULL,
    data1     TEXT    NOT NULL,
    data2     TEXT    NOT NULL,
    data3     TEXT    NOT NULL,
    data4     TEXT    NOT NULL,
    data5     TEXT    NOT NULL
);
CREATE INDEX queue_log_time ON queue_log (time_us);

CREATE TABLE audit (
    id      BIGINT PRIMARY KEY,
    time_us BIGINT  NOT NULL,
    who     TEXT    NOT NULL,
    what    TEXT    NOT NULL,
    details JSONB   NOT NULL
);
CREATE INDEX audit_time ON audit (time_us);

CREATE TABLE callbacks (
    id           TEXT PRIMARY KEY,
    contact_id   TEXT    NOT NULL,
    queue        TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    requested_us BIGINT  NOT NULL,
    due_us       BIGINT,
    status       TEXT    NOT NULL,
    attempts     BIGINT  NOT NULL,
    updated_us   BIGINT
);
CREATE INDEX callbacks_status_due ON callbacks (status, due_us);

CREATE TABLE callback_attempts (
    id          BIGINT PRIMARY KEY,
    callback_id TEXT    NOT NULL,
    time_us     BIGINT  NOT NULL,
    agent       TEXT    NOT NULL,
    result      TEXT    NOT NULL
);
CREATE INDEX callback_attempts_callback ON callback_attempts (callback_id, time_us);
