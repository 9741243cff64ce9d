"""/internal/metrics: Prometheus' scrape with the token, the 404 for anybody else, and what it counts."""

from __future__ import annotations

import ipaddress
import re

import pytest
from django.test import Client

from kartosfera.core.checks import check_metrics_on
from kartosfera.core.tests.test_settings import PRODUCTION, _start
from kartosfera.notifications.tasks import sms_deliver_task
from kartosfera.testing.metrics import METRICS_URL, TEST_METRICS_TOKEN, scrape

pytestmark = pytest.mark.django_db
BEARER = {"Authorization": f"Bearer {TEST_METRICS_TOKEN}"}
REQUESTS = "kartosfera_http_request_duration_seconds_count"


def test_prometheus_scrapes_with_the_token(metrics_token):
    response = Client().get(METRICS_URL, headers=BEARER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response  # no session, no CSRF: the lean stack (core/wsgi.py)
    assert not hasattr(response.wsgi_request, "session")
    text = response.content.decode()
    for name in (
        "kartosfera_http_request_duration_seconds",
        "kartosfera_authorizations_total",
        "kartosfera_authorization_decision_seconds",
        "kartosfera_logins_total",
        "kartosfera_lockouts_total",
        "kartosfera_sms_queued_messages",
        "kartosfera_sms_delivery_failures_total",
        "kartosfera_tasks_finished_total",
    ):
        assert f"# TYPE {name} " in text, name


def _page(response, path: str) -> tuple[int, str]:
    # The 404 page names its own address (the language switch's "next") and a fresh CSRF token.
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    return response.status_code, text.replace(path, "PATH")


def _unknown_address_answer(client: Client) -> tuple[int, str]:
    return _page(client.get("/internal/nothing-here", headers=BEARER), "/internal/nothing-here")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TEST_METRICS_TOKEN}x"},
        {"Authorization": f"Basic {TEST_METRICS_TOKEN}"},
        {"Authorization": TEST_METRICS_TOKEN},
    ],
)
def test_without_the_token_it_is_the_404_of_an_unknown_address(metrics_token, headers):
    client = Client()
    response = client.get(METRICS_URL, headers=headers)
    assert _page(response, METRICS_URL) == _unknown_address_answer(client)
    assert b"kartosfera_http" not in response.content


def test_without_a_configured_token_the_endpoint_is_off(settings):
    settings.METRICS_TOKEN = ""
    client = Client()
    for headers in ({}, {"Authorization": "Bearer "}, BEARER):
        response = client.get(METRICS_URL, headers=headers)
        assert _page(response, METRICS_URL) == _unknown_address_answer(client)


def test_only_a_get_reads_it(metrics_token):
    response = Client().post(METRICS_URL, headers=BEARER)
    assert response.status_code == 404


def test_allowed_networks_narrow_who_may_scrape(metrics_token, settings):
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.20.0.0/16"),)
    settings.TRUSTED_PROXY_IPS = frozenset({"192.0.2.10"})
    client = Client()
    assert client.get(METRICS_URL, headers=BEARER, REMOTE_ADDR="127.0.0.1").status_code == 404
    assert client.get(METRICS_URL, headers=BEARER, REMOTE_ADDR="10.20.3.4").status_code == 200
    # Through the trusted proxy, the client's address is its X-Real-IP ...
    via_proxy = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_REAL_IP": "10.20.3.4"}
    assert client.get(METRICS_URL, headers=BEARER, **via_proxy).status_code == 200
    outside = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_REAL_IP": "198.51.100.7"}
    assert client.get(METRICS_URL, headers=BEARER, **outside).status_code == 404
    # ... and from anybody else the header is not believed.
    forged = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_REAL_IP": "10.20.3.4"}
    assert client.get(METRICS_URL, headers=BEARER, **forged).status_code == 404
    # The network alone is not enough.
    assert client.get(METRICS_URL, REMOTE_ADDR="10.20.3.4").status_code == 404


def test_requests_are_timed_by_route_pattern_method_and_status_class(metrics_token):
    client = Client()
    before = scrape(client)
    reversal_route = "/api/processor/v1/authorizations/<authorization_id>/reversals"
    labels = {"view": reversal_route, "method": "POST", "status": "4xx"}
    client.post("/api/processor/v1/authorizations/auth-secret-4711/reversals", "{}", content_type="application/json")
    client.get("/login/")
    client.get("/no/such/page/8812")
    client.generic("BREW", "/login/")
    after = scrape(client)
    assert after.value(REQUESTS, **labels) == before.value(REQUESTS, **labels) + 1
    assert after.value(REQUESTS, view="/login/", method="GET", status="2xx") >= 1
    assert after.value(REQUESTS, view="unmatched", method="GET", status="4xx") >= 1
    assert after.value(REQUESTS, view="/login/", method="other", status="4xx") >= 1
    # The paths themselves (an id, an unknown address) never become a label (the text's figures may hold any digits).
    labels = " ".join(after.label_values())
    assert "auth-secret-4711" not in labels and "8812" not in labels and "BREW" not in labels


def test_task_runs_and_failures_are_counted(metrics_token, django_capture_on_commit_callbacks):
    from kartosfera.notifications.services import sms_send
    from kartosfera.notifications.texts import SmsText

    task = "kartosfera.notifications.tasks.sms_deliver_task"
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        message = SmsText(template="sca.code", text="Kartosfera code 482915")
        sms_send(to="+48600100200", message=message, purpose="sca.login")
    sms_deliver_task.enqueue(10**9)  # no such message: the run fails
    after = scrape()
    assert (
        after.value("kartosfera_tasks_enqueued_total", task=task)
        == before.value("kartosfera_tasks_enqueued_total", task=task) + 2
    )
    finished = "kartosfera_tasks_finished_total"
    assert (
        after.value(finished, task=task, status="successful")
        == before.value(finished, task=task, status="successful") + 1
    )
    assert after.value(finished, task=task, status="failed") == before.value(finished, task=task, status="failed") + 1
    assert (
        after.value("kartosfera_task_duration_seconds_count", task=task)
        == before.value("kartosfera_task_duration_seconds_count", task=task) + 2
    )


def test_the_deploy_check_warns_while_metrics_are_off(settings):
    settings.METRICS_TOKEN = ""
    assert [message.id for message in check_metrics_on()] == ["core.W001"]
    settings.METRICS_TOKEN = TEST_METRICS_TOKEN
    assert check_metrics_on() == []


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must have at least 32 characters"),
        ({"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8"}, "METRICS_ALLOWED_NETWORKS needs METRICS_TOKEN"),
        ({"METRICS_TOKEN": "t" * 40, "METRICS_ALLOWED_NETWORKS": "10.0.0.0/33"}, "must be networks"),
    ],
)
def test_production_refuses_a_weak_metrics_configuration(env, refusal):
    result = _start({**PRODUCTION, **env})
    assert result.returncode != 0
    assert refusal in result.stderr
