# Multi-stage build for ArtWall. UNTESTED: our build machines have no Docker engine.

# --- build ------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3-venv nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
    && CARGO_PROFILE_RELEASE_LTO=false cargo install cargo-leptos --locked --version 0.3.10
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
RUN cargo install wasm-bindgen-cli --version "$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"
COPY package.json package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY scripts/requirements.txt scripts/
RUN python3 -m venv /venv && /venv/bin/pip install -r scripts/requirements.txt
COPY . .
RUN bash scripts/build_release.sh \
    && /venv/bin/python scripts/make_standin_model.py --out /app/model \
    && cp /venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* /app/libonnxruntime.so

# --- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /app artwall
WORKDIR /app
COPY --from=build /app/target/release/artwall /app/artwall
# The hashed asset names, read from beside the binary.
COPY --from=build /app/target/release/hash.txt /app/hash.txt
COPY --from=build /app/target/site /app/site
COPY --from=build /app/migrations /app/migrations
COPY --from=build /app/Leptos.toml /app/Leptos.toml
COPY --from=build /app/libonnxruntime.so /app/lib/libonnxruntime.so
COPY --from=build /app/model /app/model
COPY --from=build /app/assets/style_embeddings.json /app/assets/style_embeddings.json
ENV LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    ORT_DYLIB_PATH=/app/lib/libonnxruntime.so \
    ARTWALL_MODEL_DIR=/app/model \
    ARTWALL_STYLE_EMBEDDINGS=/app/assets/style_embeddings.json \
    ARTWALL_MEDIA_DIR=/app/media \
    RUST_LOG=info
USER artwall
EXPOSE 3000
CMD ["/app/artwall", "serve"]
