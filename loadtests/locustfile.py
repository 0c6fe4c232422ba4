"""Locust users for the public side of the product: what phones do."""

from __future__ import annotations

from locust import HttpUser, between, task


class PublicVisitor(HttpUser):
    wait_time = between(0.01, 0.1)

    @task(5)
    def home(self) -> None:
        self.client.get("/")

    @task(1)
    def health(self) -> None:
        self.client.get("/healthz")
