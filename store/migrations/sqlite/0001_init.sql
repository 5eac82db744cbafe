-- kcc history, first schema. Times are Unix microseconds (UTC) except
-- queue_log.time, which is Asterisk's table form. Ids of append-only tables
-- are chosen by kcc's writer (one sequence across these tables), so a batch
-- written twice stores nothing twice.

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    contact_id TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    time_us    INTEGER NOT NULL,
    data       TEXT    NOT NULL
);
CREATE INDEX events_contact ON events (contact_id, id);
CREATE INDEX events_time ON events (time_us);

CREATE TABLE contacts (
    contact_id        TEXT PRIMARY KEY,
    caller            TEXT    NOT NULL,
    arrival_us        INTEGER NOT NULL,
    ivr_end_us        INTEGER,
    queue_entry_us    INTEGER,
    answer_us         INTEGER,
    end_us            INTEGER,
    wrapup_end_us     INTEGER,
    offers            INTEGER NOT NULL,
    flow_version      TEXT    NOT NULL,
    ivr_path          TEXT    NOT NULL,
    topic             TEXT    NOT NULL,
    queue             TEXT    NOT NULL,
    agent             TEXT    NOT NULL,
    outcome           TEXT    NOT NULL,
    wait_ms           INTEGER NOT NULL,
    talk_ms           INTEGER NOT NULL,
    wrapup_ms         INTEGER NOT NULL,
    predicted_wait_ms INTEGER NOT NULL,
    caller_loss       REAL    NOT NULL,
    caller_jitter_us  INTEGER NOT NULL,
    agent_loss        REAL    NOT NULL,
    agent_jitter_us   INTEGER NOT NULL
);
CREATE INDEX contacts_arrival ON contacts (arrival_us);

CREATE TABLE agent_states (
    id      INTEGER PRIMARY KEY,
    agent   TEXT    NOT NULL,
    state   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    time_us INTEGER NOT NULL
);
CREATE INDEX agent_states_agent_time ON agent_states (agent, time_us);
CREATE INDEX agent_states_time ON agent_states (time_us);

-- Asterisk's realtime queue_log table (time, callid, queuename, agent,
-- event, data1..data5) plus kcc's columns: id, time_us for range queries and
-- data, the whole data string (data1..data5 cannot tell "x|" from "x").
CREATE TABLE queue_log (
    id        INTEGER PRIMARY KEY,
    time      TEXT    NOT NULL,
    time_us   INTEGER NOT NULL,
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
    id      INTEGER PRIMARY KEY,
    time_us INTEGER NOT NULL,
    who     TEXT    NOT NULL,
    what    TEXT    NOT NULL,
    details TEXT    NOT NULL
);
CREATE INDEX audit_time ON audit (time_us);

CREATE TABLE callbacks (
    id           TEXT PRIMARY KEY,
    contact_id   TEXT    NOT NULL,
    queue        TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    requested_us INTEGER NOT NULL,
    due_us       INTEGER,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    updated_us   INTEGER
);
CREATE INDEX callbacks_status_due ON callbacks (status, due_us);

CREATE TABLE callback_attempts (
    id          INTEGER PRIMARY KEY,
    callback_id TEXT    NOT NULL,
    time_us     INTEGER NOT NULL,
    agent       TEXT    NOT NULL,
    result      TEXT    NOT NULL
);
CREATE INDEX callback_attempts_callback ON callback_attempts (callback_id, time_us);
