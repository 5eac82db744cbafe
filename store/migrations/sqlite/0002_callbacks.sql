-- Pending callbacks, written synchronously (committed before the call
-- returns) so a request survives a restart. The tables of 0001 had no
-- producer in any kcc release (nothing ever wrote them) and their shape
-- cannot hold what a reloaded callback needs, so they are replaced.

DROP TABLE callback_attempts;
DROP TABLE callbacks;

-- One callback per contact: id is the contact id. number is the raw number
-- to dial (cleared when the callback is finished); number_key its keyed
-- pseudonym, for the per-number daily limit and repeat callers. skills and
-- vars are JSON. Times are Unix microseconds; next_attempt_us and
-- finished_us are NULL until set.
CREATE TABLE callbacks (
    id              TEXT PRIMARY KEY,
    number          TEXT    NOT NULL,
    number_key      TEXT    NOT NULL,
    queue           TEXT    NOT NULL,
    topic           TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    priority        INTEGER NOT NULL,
    skills          TEXT    NOT NULL,
    care            INTEGER NOT NULL,
    vars            TEXT    NOT NULL,
    since_us        INTEGER NOT NULL,
    requested_us    INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_us INTEGER,
    state           TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    finished_us     INTEGER
);
CREATE INDEX callbacks_state_since ON callbacks (state, since_us);
CREATE INDEX callbacks_number_key ON callbacks (number_key, requested_us);
CREATE INDEX callbacks_finished ON callbacks (finished_us);

CREATE TABLE callback_attempts (
    callback_id TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    at_us       INTEGER NOT NULL,
    agent       TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    PRIMARY KEY (callback_id, n)
);
