-- Every IVR flow version kcc deployed, with the file's text, so the
-- flow_version of a call record can always be read back.
CREATE TABLE flow_versions (
    id          TEXT PRIMARY KEY,
    flow        TEXT   NOT NULL,
    file        TEXT   NOT NULL,
    hash        TEXT   NOT NULL,
    deployed_us BIGINT NOT NULL,
    source      TEXT   NOT NULL
);
CREATE INDEX flow_versions_flow ON flow_versions (flow, deployed_us);
