"""The 3-D Secure challenge in a real browser, framed by a shop: axe-core and the CSP check on its pages.

The shop is a page Playwright serves (routed, never reaching Django) on the live server's origin, as the
development shop is: an https shop of another origin would post to the plain-http live server, which the
browser blocks as mixed content. It frames the acsURL and posts the CReq into the frame, as a 3DS
requestor does; its notificationURL, routed too, keeps what it received.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from playwright.sync_api import Page, Route, expect

from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.acs.services import areq_answer
from kartosfera.acs.tests.helpers import CHALLENGE_URL, DS, areq, with_threeds_pin
from kartosfera.notifications.backends import locmem
from kartosfera.processing.tests.helpers import active_card
from tests.browser.helpers import last_sms_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = """<!DOCTYPE html><html lang="pl"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def test_the_challenge_framed_by_a_shop(page: Page, live_server, check_page):
    locmem.outbox.clear()
    shop_url = f"{live_server.url}/test-shop"
    tc = active_card()
    with_threeds_pin(tc)  # the 3DS PIN 7391
    message = areq(tc, purchaseAmount="90000", notificationURL=f"{shop_url}/notify")
    ares = json.loads(areq_answer(actor=DS, areq=message, challenge_url=CHALLENGE_URL))
    creq = {
        "messageType": "CReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": ares["threeDSServerTransID"],
        "acsTransID": ares["acsTransID"],
        "challengeWindowSize": "05",
    }
    encoded = base64.urlsafe_b64encode(json.dumps(creq).encode()).decode().rstrip("=")
    checkout = PAGE.format(
        title="Sklep",
        body=f'<form method="post" action="{live_server.url}/acs/challenge" target="acs">'
        f'<input type="hidden" name="creq" value="{encoded}"><button>Zapłać</button></form>'
        '<iframe name="acs" title="3-D Secure" width="390" height="600"></iframe>',
    )
    received: dict[str, str] = {}

    def shop(route: Route) -> None:
        if route.request.method == "POST":
            received.update(dict(pair.split("=", 1) for pair in (route.request.post_data or "").split("&")))
            route.fulfill(content_type="text/html", body=PAGE.format(title="Dziękujemy", body="<p>OK</p>"))
        else:
            route.fulfill(content_type="text/html", body=checkout)

    page.route(f"{shop_url}/**", shop)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{shop_url}/checkout")
    check_page()
    page.get_by_role("button", name="Zapłać").click()
    frame = page.frame_locator("iframe[name=acs]")
    expect(frame.locator("#payment")).to_contain_text(tc.pan[-4:])
    expect(frame.locator("#payment")).to_contain_text("900,00")
    acs_frame = page.frame(name="acs")
    assert acs_frame is not None
    results = check_page.axe.run(acs_frame, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
    assert not results.response["violations"], results.generate_report()

    frame.locator("input[name=pin]").fill("7391")
    frame.locator("input[name=code]").fill(last_sms_code())
    frame.locator("#challenge-form button[type=submit]").click()
    # The end page posts the CRes to the shop's notificationURL by itself (static JS, no inline script).
    expect(frame.locator("h1")).to_have_text("Dziękujemy", timeout=10_000)
    cres = received["cres"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cres)
    assert json.loads(base64.urlsafe_b64decode(cres + "=" * (-len(cres) % 4)))["transStatus"] == "Y"
    assert AuthenticationRecord.objects.get(acs_trans_id=ares["acsTransID"]).status == RecordStatus.AUTHENTICATED
    assert not check_page.csp_violations()
