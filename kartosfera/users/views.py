from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from kartosfera.users.forms import LoginForm
from kartosfera.users.models import User
from kartosfera.users.services import user_authenticate, user_logout_record


def _safe_next(request: HttpRequest) -> str:
    """Where to go after signing in: ``next`` when it stays on this site (no open redirect)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method != "POST":
        return redirect(settings.LOGIN_REDIRECT_URL)
    next_url = _safe_next(request)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_authenticate(
            request=request,
            identifier=form.cleaned_data["identifier"],
            password=form.cleaned_data["password"],
        )
        if user is not None:
            # Django's login() cycles the session key, so a session id planted
            # before sign-in is worthless afterwards (session fixation).
            auth_login(request, user)
            return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
        form.add_error(None, LoginForm.INVALID_CREDENTIALS)
    return render(request, "users/login.html", {"form": form, "next": next_url})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    # POST only (with the CSRF check): a GET logout could be triggered by any
    # page that embeds an image pointing here.
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        user_logout_record(user=user)
        auth_logout(request)
        messages.success(request, _("You have been signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)
