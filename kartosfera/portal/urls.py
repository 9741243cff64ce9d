from __future__ import annotations

from django.urls import path

from kartosfera.portal import controls_views, views
from kartosfera.statements import views as statement_views
from kartosfera.tokens import views as token_views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("cards/", views.card_list, name="card_list"),
    path("cards/<int:card_id>/", views.card_detail, name="card_detail"),
    path("cards/<int:card_id>/history/", views.card_authorization_history, name="card_history"),
    path("cards/<int:card_id>/spending/", views.card_spending, name="card_spending"),
    path("cards/<int:card_id>/activate/", views.card_activate, name="card_activate"),
    path("cards/<int:card_id>/block/", views.card_block, name="card_block"),
    path("cards/<int:card_id>/unblock/", views.card_unblock, name="card_unblock"),
    path("cards/<int:card_id>/cancel/", views.card_cancel_view, name="card_cancel"),
    path("cards/<int:card_id>/contactless/", views.card_contactless, name="card_contactless"),
    path("cards/<int:card_id>/limits/", views.card_limits, name="card_limits"),
    path("cards/<int:card_id>/pin/", views.card_pin, name="card_pin"),
    path("cards/<int:card_id>/controls/", controls_views.card_controls, name="card_controls"),
    path("cards/<int:card_id>/what-if/", views.card_what_if, name="card_what_if"),
    path("cards/<int:card_id>/limits/temporary/", controls_views.card_temporary_raise, name="card_temporary_raise"),
    path(
        "cards/<int:card_id>/limits/temporary/end/",
        controls_views.card_temporary_raise_end_view,
        name="card_temporary_raise_end",
    ),
    path("cards/<int:card_id>/mobile-payments/", views.card_mobile_payments, name="card_mobile_payments"),
    path("cards/<int:card_id>/mobile-payments/off/", views.card_mobile_payments_off, name="card_mobile_payments_off"),
    # The card's tokens in phone wallets (kartosfera/tokens/views.py): in the portal's namespace, under the card.
    path("cards/<int:card_id>/tokens/", token_views.card_tokens, name="card_tokens"),
    path("cards/<int:card_id>/tokens/<int:token_id>/suspend/", token_views.token_suspend_view, name="token_suspend"),
    path("cards/<int:card_id>/tokens/<int:token_id>/resume/", token_views.token_resume_view, name="token_resume"),
    path("cards/<int:card_id>/tokens/<int:token_id>/delete/", token_views.token_delete_view, name="token_delete"),
    # A credit card's statements (kartosfera/statements/views.py): in the portal's namespace, under the card.
    path("cards/<int:card_id>/statements/", statement_views.statement_list, name="statement_list"),
    path("cards/<int:card_id>/statements/<int:statement_id>/", statement_views.statement_detail, name="statement"),
    path("cards/<int:card_id>/statements/<int:statement_id>/pdf/", statement_views.statement_pdf, name="statement_pdf"),
    path("cards/<int:card_id>/statements/<int:statement_id>/csv/", statement_views.statement_csv, name="statement_csv"),
]
