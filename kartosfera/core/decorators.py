"""The cardholder's views' shared guard and typed accessors, for every app that serves cardholder pages.

They live in core, not in the portal, so that the apps' views (users, sca, secure3d, tokens, devices, ...) need not
import the portal (docs/architecture.md). Core imports no app above it: the user model is
``settings.AUTH_USER_MODEL`` (through ``get_user_model``), and the user and customer models are imported for their
types only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from kartosfera.customers.models import Customer
    from kartosfera.users.models import User

P = ParamSpec("P")


def cardholder_required(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Anonymous visitors go to the login page; signed-in users who are not cardholders get 403.

    Bank staff have no cards: the portal refuses them outright rather than
    showing an empty list, so a staff session can never wander into
    cardholder pages (least privilege).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        user = request.user
        if not isinstance(user, get_user_model()) or not user.is_cardholder or user.customer_id is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def cardholder_user(request: HttpRequest) -> User:
    """The signed-in cardholder of a view behind ``cardholder_required`` (which has vetted the user)."""
    user = request.user
    if not isinstance(user, get_user_model()) or user.customer is None:  # unreachable behind cardholder_required
        raise PermissionDenied
    return user


def cardholder_customer(request: HttpRequest) -> Customer:
    """The signed-in cardholder's customer record: every portal object is reached through it."""
    customer = cardholder_user(request).customer
    if customer is None:  # unreachable: cardholder_user checked it
        raise PermissionDenied
    return customer


def answers_no_sooner_than(
    setting: str,
) -> Callable[
    [Callable[Concatenate[HttpRequest, P], HttpResponse]], Callable[Concatenate[HttpRequest, P], HttpResponse]
]:
    """Pad a POST's answer to the number of seconds the ``setting`` names (0: no padding).

    Where one kind of input costs real work (a challenge stored, an SMS queued, audit rows) and another
    costs none, the answer's time would tell them apart although the pages are the same [ASVS 5.0
    6.3.8]: padding both to one floor hides the difference as long as the work stays under it.
    """

    def decorator(
        view: Callable[Concatenate[HttpRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @wraps(view)
        def padded(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            floor = float(getattr(settings, setting))
            if request.method != "POST" or floor <= 0:
                return view(request, *args, **kwargs)
            started = time.monotonic()
            response = view(request, *args, **kwargs)
            remaining = floor - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
            return response

        return padded

    return decorator
