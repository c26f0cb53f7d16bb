-- ArtWall schema, first version. Money is integer cents; enumerations are CHECK constraints so
-- that a bad value never reaches a row, whatever code wrote it.

CREATE EXTENSION IF NOT EXISTS vector;

-- ---------------------------------------------------------------------------------------------
-- Catalogue
-- ---------------------------------------------------------------------------------------------
CREATE TABLE paintings (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stable identity of the source record (e.g. "aic:866"); re-imports are keyed on it.
    source_key     TEXT NOT NULL UNIQUE CHECK (length(source_key) BETWEEN 1 AND 300),
    title          TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    title_en       TEXT CHECK (length(title_en) <= 500),
    artist         TEXT NOT NULL CHECK (length(artist) BETWEEN 1 AND 300),
    artist_en      TEXT CHECK (length(artist_en) <= 300),
    year           INT CHECK (year BETWEEN -3000 AND 2100),
    style          TEXT CHECK (length(style) <= 100),
    image_url      TEXT NOT NULL,          -- feed thumbnail, about 600 px on the long side
    image_hd_url   TEXT NOT NULL,          -- detail page image
    thumb_width    INT NOT NULL CHECK (thumb_width > 0),
    thumb_height   INT NOT NULL CHECK (thumb_height > 0),
    hd_width       INT NOT NULL CHECK (hd_width > 0),
    hd_height      INT NOT NULL CHECK (hd_height > 0),
    aspect_ratio   REAL NOT NULL CHECK (aspect_ratio > 0),   -- width / height
    source         TEXT CHECK (length(source) <= 200),
    source_url     TEXT CHECK (length(source_url) <= 2000),
    license        TEXT CHECK (length(license) <= 300),
    tags           TEXT[] NOT NULL DEFAULT '{}',
    embedding      vector(512) NOT NULL,
    embedding_model TEXT NOT NULL,         -- model id that produced `embedding`
    published      BOOLEAN NOT NULL DEFAULT true,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- HNSW rather than the seed's IVFFlat (lists = 100): IVFFlat's centroids are trained on the rows
-- present at CREATE INDEX time, so an index built on an empty or small table (as here, before
-- the first import) clusters badly and must be rebuilt as the catalogue grows; at equal recall
-- HNSW also gives about 4x the queries per second. HNSW needs no training data, and pgvector 0.8
-- adds iterative HNSW scans, which the never-repeating feed relies on.
CREATE INDEX paintings_embedding_hnsw ON paintings USING hnsw (embedding vector_cosine_ops);
CREATE INDEX paintings_published_created ON paintings (created_at DESC) WHERE published;

-- ---------------------------------------------------------------------------------------------
-- Visitors' taste and activity. A visitor is the random id in their cookie; no account needed.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE user_preferences (
    visitor_id        UUID PRIMARY KEY,
    taste             vector(512),                -- NULL until onboarding or a first signal
    last_style_codes  TEXT[] NOT NULL DEFAULT '{}',
    interaction_count INT NOT NULL DEFAULT 0 CHECK (interaction_count >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Append-only event log; the taste worker consumes rows where processed = false.
CREATE TABLE activities (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visitor_id   UUID NOT NULL,
    painting_id  BIGINT REFERENCES paintings (id) ON DELETE SET NULL,
    event_type   TEXT NOT NULL CHECK (event_type IN (
                     'impression', 'view', 'click', 'save', 'unsave', 'hide', 'share',
                     'purchase', 'session_start', 'session_end', 'style_select', 'search', 'room_photo')),
    position     INT CHECK (position >= 0),
    source       TEXT CHECK (source IN ('feed', 'detail', 'search', 'saved', 'onboarding', 'checkout', 'room')),
    metadata     JSONB NOT NULL DEFAULT '{}'::jsonb,
    processed    BOOLEAN NOT NULL DEFAULT false,
    processed_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The worker's queue: small, because processed rows leave it.
CREATE INDEX activities_unprocessed ON activities (visitor_id, id) WHERE NOT processed;
CREATE INDEX activities_created ON activities (created_at);
CREATE INDEX activities_painting ON activities (painting_id, event_type);

CREATE TABLE shown_paintings (
    visitor_id  UUID NOT NULL,
    painting_id BIGINT NOT NULL REFERENCES paintings (id) ON DELETE CASCADE,
    shown_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (visitor_id, painting_id)
);

CREATE TABLE saved_paintings (
    visitor_id  UUID NOT NULL,
    painting_id BIGINT NOT NULL REFERENCES paintings (id) ON DELETE CASCADE,
    saved_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (visitor_id, painting_id)
);
CREATE INDEX saved_paintings_painting ON saved_paintings (painting_id);

-- "Never show this again".
CREATE TABLE hidden_paintings (
    visitor_id  UUID NOT NULL,
    painting_id BIGINT NOT NULL REFERENCES paintings (id) ON DELETE CASCADE,
    hidden_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (visitor_id, painting_id)
);
CREATE INDEX hidden_paintings_painting ON hidden_paintings (painting_id);

-- ---------------------------------------------------------------------------------------------
-- Admins
-- ---------------------------------------------------------------------------------------------
CREATE TABLE admin_users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    password_hash TEXT NOT NULL,        -- argon2id PHC string
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored, so a
-- database leak does not leak live sessions.
CREATE TABLE admin_sessions (
    token_hash  BYTEA PRIMARY KEY,
    admin_id    BIGINT NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);

CREATE TABLE batch_jobs (
    id          UUID PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'reembed')),
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'interrupted', 'cancelled')),
    total       INT NOT NULL DEFAULT 0 CHECK (total >= 0),
    processed   INT NOT NULL DEFAULT 0 CHECK (processed >= 0),
    failed      INT NOT NULL DEFAULT 0 CHECK (failed >= 0),
    payload     JSONB NOT NULL DEFAULT '{}'::jsonb,
    errors      JSONB NOT NULL DEFAULT '[]'::jsonb,
    created_by  BIGINT REFERENCES admin_users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX batch_jobs_status ON batch_jobs (status, created_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Commerce
-- ---------------------------------------------------------------------------------------------
CREATE TABLE orders (
    id                    TEXT PRIMARY KEY CHECK (id ~ '^order_[A-Za-z0-9]+$'),
    visitor_id            UUID NOT NULL,
    painting_id           BIGINT NOT NULL REFERENCES paintings (id),
    size                  TEXT NOT NULL CHECK (size IN ('40x50', '50x60', '60x80', '80x100')),
    material              TEXT NOT NULL CHECK (material IN ('paper', 'canvas', 'textured')),
    frame                 TEXT NOT NULL CHECK (frame IN ('none', 'black', 'white', 'wood', 'gold')),
    amount_cents          INT NOT NULL CHECK (amount_cents > 0),
    currency              TEXT NOT NULL DEFAULT 'cny' CHECK (currency = lower(currency) AND length(currency) = 3),
    status                TEXT NOT NULL DEFAULT 'pending' CHECK (status IN (
                              'pending', 'paid', 'processing', 'shipped', 'delivered', 'completed',
                              'expired', 'failed', 'refunded')),
    stripe_session_id     TEXT UNIQUE,
    stripe_payment_intent TEXT,
    shipping_name         TEXT CHECK (length(shipping_name) <= 200),
    shipping_phone        TEXT CHECK (length(shipping_phone) <= 40),
    shipping_address      JSONB,
    tracking_number       TEXT CHECK (length(tracking_number) <= 100),
    refunded_cents        INT NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
    failure_reason        TEXT,
    needs_attention       BOOLEAN NOT NULL DEFAULT false,   -- e.g. paid after expiry, amount mismatch
    expires_at            TIMESTAMPTZ NOT NULL,
    paid_at               TIMESTAMPTZ,
    shipped_at            TIMESTAMPTZ,
    delivered_at          TIMESTAMPTZ,
    completed_at          TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX orders_visitor ON orders (visitor_id, created_at DESC);
CREATE INDEX orders_status ON orders (status, created_at DESC);
CREATE INDEX orders_created ON orders (created_at);

-- The order timeline: one row per state transition or notable fact.
CREATE TABLE order_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    actor       TEXT NOT NULL CHECK (actor IN ('shopper', 'stripe', 'admin', 'system')),
    actor_id    TEXT,
    note        TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order ON order_events (order_id, id);

-- Webhook idempotency: inserted in the same transaction as the event's effect.
CREATE TABLE stripe_events (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
