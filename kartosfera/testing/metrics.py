"""Reading the metrics as Prometheus does: a scrape of /internal/metrics, parsed by prometheus_client."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

METRICS_URL = "/internal/metrics"
TEST_METRICS_TOKEN = "test-metrics-token-0123456789abcdefghijklmnop"  # noqa: S105 (the tests' own)


@dataclass(frozen=True)
class Scrape:
    """One scrape's samples: (name, sorted labels) → value; the text as served."""

    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    text: str

    def value(self, name: str, **labels: str) -> float:
        """The sample's value (0 when absent: a counter nobody moved yet is not shown)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def label_values(self) -> set[str]:
        return {value for _name, labels in self.samples for _key, value in labels}


def parse(text: str) -> Scrape:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return Scrape(samples=samples, text=text)


def scrape(client: Client | None = None, *, token: str = TEST_METRICS_TOKEN) -> Scrape:
    """Scrape the endpoint with the token (the caller's settings must have it as METRICS_TOKEN)."""
    response = (client or Client()).get(METRICS_URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.status_code
    return parse(response.content.decode())
