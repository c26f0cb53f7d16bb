-- Every size a painting is stored at, as `srcset` values ("url 320w, url 640w, ..."); the WebP
-- one only where WebP is smaller than JPEG. NULL for paintings imported before: a re-embed makes
-- their sizes from the HD image.
ALTER TABLE paintings ADD COLUMN image_srcset TEXT, ADD COLUMN image_srcset_webp TEXT;
