-- Photos visitors upload of their own rooms. The newest one is shown behind "see it on your
-- wall"; its embedding was blended into the visitor's taste when it arrived.
CREATE TABLE room_photos (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visitor_id UUID NOT NULL,
    media_key  TEXT NOT NULL,
    width      INT NOT NULL CHECK (width > 0),
    height     INT NOT NULL CHECK (height > 0),
    embedding  vector(512) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX room_photos_visitor ON room_photos (visitor_id, id DESC);
