-- MCP servers reviewed by the platform team, and how far they are trusted.
CREATE TABLE mcp_trust_registry (
    server        TEXT PRIMARY KEY,
    trust         TEXT NOT NULL CHECK (trust IN ('trusted', 'restricted', 'blocked')),
    capabilities  TEXT NOT NULL DEFAULT '[]',
    added_by      TEXT NOT NULL,
    added_at      TEXT NOT NULL,
    notes         TEXT
);
