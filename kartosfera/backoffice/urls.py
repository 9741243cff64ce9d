from __future__ import annotations

from django.urls import path

from kartosfera.backoffice import account_views, review_views, statement_views, views
from kartosfera.users import session_timeout

app_name = "backoffice"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("login/passkey/", views.login_passkey, name="login_passkey"),
    path("logout/", views.logout, name="logout"),
    path("password/", account_views.password_change, name="password"),
    path("passkeys/confirm/", account_views.passkey_confirm, name="passkey_confirm"),
    path("passkeys/add/", account_views.passkey_add, name="passkey_add"),
    path("passkeys/only/", account_views.passkey_only, name="passkey_only"),
    path("passkeys/<uuid:public_id>/remove/", account_views.passkey_remove_view, name="passkey_remove"),
    path("enrol/", account_views.enrol, name="enrol"),
    path("enrol/<str:token>/", account_views.enrol_start, name="enrol_start"),
    path("staff/", account_views.staff_accounts, name="staff_accounts"),
    path("staff/<int:member_id>/<slug:operation>/", account_views.staff_account_action, name="staff_account_action"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<int:customer_id>/trail/", views.customer_trail, name="customer_trail"),
    path("customers/<int:customer_id>/verify/", views.customer_verify, name="verify"),
    path("customers/<int:customer_id>/actions/<slug:action_name>/", views.customer_action, name="customer_action"),
    path("customers/<int:customer_id>/cards/<int:card_id>/history/", views.card_history, name="card_history"),
    path("customers/<int:customer_id>/3d-secure/", views.customer_authentications, name="authentications"),
    path(
        "customers/<int:customer_id>/3d-secure/<uuid:acs_trans_id>/",
        views.customer_authentication,
        name="authentication",
    ),
    path(
        "customers/<int:customer_id>/cards/<int:card_id>/actions/<slug:action_name>/",
        views.card_action,
        name="card_action",
    ),
    path("customers/<int:customer_id>/statements/", statement_views.customer_statements, name="statements"),
    path(
        "customers/<int:customer_id>/statements/<int:statement_id>/",
        statement_views.customer_statement,
        name="statement",
    ),
    path(
        "customers/<int:customer_id>/statements/<int:statement_id>/pdf/",
        statement_views.statement_pdf,
        name="statement_pdf",
    ),
    path(
        "customers/<int:customer_id>/statements/<int:statement_id>/csv/",
        statement_views.statement_csv,
        name="statement_csv",
    ),
    path(
        "customers/<int:customer_id>/statements/<int:statement_id>/correct/",
        statement_views.statement_correct_view,
        name="statement_correct",
    ),
    path("activity/", views.activity, name="activity"),
    path("jobs/", views.job_runs, name="job_runs"),
    path("reviews/", review_views.review_queue, name="review_queue"),
    path("reviews/<int:authorization_id>/review/", review_views.authorization_review_view, name="authorization_review"),
    path("session/", session_timeout.session_status, name="session_status"),
    path("session/extend/", session_timeout.session_extend, name="session_extend"),
]
