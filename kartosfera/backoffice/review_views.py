"""The back office's queue of card payments the card core flagged for review (docs/backoffice.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kartosfera.backoffice import selectors
from kartosfera.backoffice.forms import AuthorizationReviewForm, ReviewQueueFilterForm
from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.services import authorization_review
from kartosfera.backoffice.views import FLASH_KEY, _flash, _safe_next, _scope, _staff, staff_required
from kartosfera.cards.pan import text_has_card_number
from kartosfera.core.errors import ValidationFailed
from kartosfera.processing import reviews
from kartosfera.processing.models import Authorization, AuthorizationReview
from kartosfera.processing.presenters import HistoryRow, history_row

REVIEW_PAGE_SIZE = 20


@dataclass(frozen=True)
class ReviewRow:
    """One flagged authorization in the review queue, with what the staff member may do with it."""

    history: HistoryRow
    authorization: Authorization
    review: AuthorizationReview | None
    reviewer: str
    # The "mark as reviewed" form, for a staff member allowed to review one not reviewed yet.
    form: AuthorizationReviewForm | None


def _review_form(authorization: Authorization, data: QueryDict | None = None) -> AuthorizationReviewForm:
    return AuthorizationReviewForm(data, prefix=f"review-{authorization.pk}")


def _render_review_queue(
    request: HttpRequest,
    query: QueryDict,
    *,
    bound: tuple[int, AuthorizationReviewForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    form = ReviewQueueFilterForm(query or None)
    queue = selectors.review_queue(scope=_scope(request), state=form.state_value()).select_related(
        "review__reviewed_by__staff_member"
    )
    page = Paginator(queue, REVIEW_PAGE_SIZE).get_page(query.get("page"))
    can_review = _staff(request).staff_member.can(StaffPermission.AUTHORIZATION_REVIEW)
    rows = []
    for authorization in page.object_list:
        review: AuthorizationReview | None = getattr(authorization, "review", None)
        reviewer = getattr(review.reviewed_by, "staff_member", None) if review is not None else None
        row_form = None
        if can_review and review is None:
            row_form = bound[1] if bound is not None and bound[0] == authorization.pk else _review_form(authorization)
        rows.append(
            ReviewRow(
                history=history_row(authorization),
                authorization=authorization,
                review=review,
                reviewer=reviewer.full_name if reviewer is not None else "",
                form=row_form,
            )
        )
    here = reverse("backoffice:review_queue") + (f"?{query.urlencode()}" if query else "")
    paging = query.copy()
    paging.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "here": here,
        "query": paging.urlencode(),
        "refused_form": bound[1] if bound is not None else None,
        "flash": request.session.pop(FLASH_KEY, None),
    }
    return render(request, "backoffice/review_queue.html", context, status=status)


@never_cache
@require_GET
@staff_required(StaffPermission.REVIEW_QUEUE_VIEW)
def review_queue(request: HttpRequest) -> HttpResponse:
    """The card payments the card core flagged for review, across customers, newest first."""
    return _render_review_queue(request, request.GET)


def _queue_query(next_url: str) -> QueryDict:
    """The queue's filter and page from the address the form came from (only the queue's own)."""
    path, _sep, query = next_url.partition("?")
    return QueryDict(query) if path == reverse("backoffice:review_queue") else QueryDict()


@never_cache
@require_POST
@staff_required(StaffPermission.AUTHORIZATION_REVIEW)
def authorization_review_view(request: HttpRequest, authorization_id: int) -> HttpResponse:
    """Mark one flagged card payment as reviewed, with an optional note; a second click changes nothing."""
    authorization = selectors.review_authorization_get(authorization_id=authorization_id, scope=_scope(request))
    if authorization is None:
        raise Http404
    next_url = _safe_next(request, request.POST.get("next", ""))
    form = _review_form(authorization, request.POST)
    if form.is_valid():
        try:
            outcome = authorization_review(
                staff=_staff(request), authorization=authorization, note=form.cleaned_data["note"]
            )
        except ValidationFailed as exc:
            for field, message in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, message)
        else:
            _flash(request, _review_message(authorization, outcome))
            return redirect(
                next_url if next_url.startswith(reverse("backoffice:review_queue")) else "backoffice:review_queue"
            )
    note_key = form.add_prefix("note")
    if text_has_card_number(request.POST.get(note_key, "")):
        # A card number typed into the note is never echoed back into the page.
        data = request.POST.copy()
        data[note_key] = ""
        form.data = data
    return _render_review_queue(request, _queue_query(next_url), bound=(authorization.pk, form), status=400)


def _review_message(authorization: Authorization, outcome: reviews.ReviewOutcome) -> str:
    if outcome.created:
        return _("The payment %(id)s is marked as reviewed.") % {"id": authorization.processor_id}
    member = getattr(outcome.review.reviewed_by, "staff_member", None)
    return _("The payment %(id)s was already reviewed by %(name)s on %(when)s; nothing was changed.") % {
        "id": authorization.processor_id,
        "name": member.full_name if member is not None else outcome.review.reviewed_by.get_username(),
        "when": date_format(timezone.localtime(outcome.review.reviewed_at), "SHORT_DATETIME_FORMAT"),
    }
