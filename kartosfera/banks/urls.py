from __future__ import annotations

from django.urls import path, register_converter

from kartosfera.banks import views


class Sha256Converter:
    """A SHA-256 in hex, as banks.logos stores it."""

    regex = "[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(Sha256Converter, "sha256")

app_name = "banks"
urlpatterns = [
    path("colours.css", views.colours, name="colours"),
    path("<str:code>/logo/<sha256:digest>/", views.logo, name="logo"),
]
