# One image for every unit; docker-compose.yml picks the command.
FROM python:3.11-slim
RUN useradd --system --create-home safecode
WORKDIR /app
COPY pyproject.toml README.md requirements-runtime.lock ./
COPY safecode safecode
COPY codesvc codesvc
COPY registry_api registry_api
COPY public_site public_site
COPY ghs ghs
# Every distribution pinned and hash-checked (`make lock`); the project itself is built by the
# locked setuptools, with nothing fetched unchecked.
RUN pip install --no-cache-dir --require-hashes --only-binary :all: -r requirements-runtime.lock \
    && pip install --no-cache-dir --no-deps --no-build-isolation .
USER safecode
ENV HOST=0.0.0.0
EXPOSE 8000 8001
CMD ["safecode", "serve", "resolver"]
