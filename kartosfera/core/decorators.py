"""The cardholder's views' shared guard and typed accessors, for every app that serves cardholder pages.

They live in core, not in the portal, so that the apps' views (users, sca, secure3d, tokens, devices, ...) need not
import the portal (docs/architecture.md). Core imports no app above it: the user model is
``settings.AUTH_USER_MODEL`` (through ``get_user_model``), and the user and customer models are imported for their
types only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec

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
