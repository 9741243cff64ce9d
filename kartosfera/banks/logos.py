"""A bank's logo: a PNG or an SVG, checked before it is stored and served from our own origin.

The portal shows each card's issuing bank by its logo (an ``<img>``). The image comes from the
bank's systems (the provisioning API, ``manage.py bank_logo_set``), so it is untrusted input that
our pages then serve to every cardholder: a PNG must really decode as a PNG of a modest size, and
an SVG (XML that a browser opened directly would run scripts from) must be plain drawing, with no
script, event handler, foreign content, external reference, DTD or entity. The view serving it
(banks/views.py) adds a sandboxing CSP and ``nosniff`` as a second line. docs/decisions/0014.

A logo that passes those checks is then scanned by ClamAV's daemon (kartosfera/core/antivirus.py,
ASVS 5.4.3) before it is stored: one it flags is refused and the refusal audited; one it cannot
scan (down, too slow, an error) is refused too, as not scanned. docs/decisions/0022.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import XMLParser
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from kartosfera.banks.models import Bank, BankLogo
from kartosfera.core.antivirus import ScannerUnavailable, antivirus_scan
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError, ValidationFailed

logger = logging.getLogger(__name__)

PNG = "image/png"
SVG = "image/svg+xml"
CONTENT_TYPES = (PNG, SVG)
# A logo is shown at most a few hundred pixels wide: anything bigger is a mistake or an attack on
# the pages' weight (every card tile carries it).
MAX_BYTES = 100 * 1024
MAX_PNG_SIDE = 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# Elements that run code or pull in other documents; "handler"/"listener" are SVG Tiny's and XML
# Events' script hooks.
FORBIDDEN_ELEMENTS = frozenset({"script", "foreignobject", "iframe", "embed", "object", "handler", "listener"})
ANIMATION_ELEMENTS = frozenset({"set", "animate", "animatetransform", "animatemotion"})
# url(...) that does not point inside the document (url(#gradient) is how SVG paints gradients).
EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
IMPORT = re.compile(r"@import", re.IGNORECASE)
# The logo is served as "image/svg+xml; charset=utf-8" (ASVS 4.1.1): its bytes must be UTF-8 and its XML
# declaration, if any, must not claim another encoding that the browser would then not use.
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})

FIELD = "logo"


@dataclass(frozen=True)
class CheckedLogo:
    """A logo that passed ``logo_check``: its bytes, its content type and their SHA-256 (hex)."""

    data: bytes
    content_type: str
    digest: str


class LogoMalwareFound(ValidationFailed):
    """The antivirus scanner recognised known malicious content in the logo."""

    code = "logo_malware_found"


class LogoNotScanned(DomainError):
    """The antivirus scanner could not scan the logo (down, too slow, an error): it is refused, not stored."""

    default_message = gettext_lazy(
        "The logo could not be checked for viruses (the antivirus scanner is not available), so it was not "
        "stored. Please try again later."
    )
    code = "antivirus_unavailable"


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed({FIELD: message}, message)


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def logo_check(*, data: bytes, content_type: str) -> CheckedLogo:
    """The logo if ``data`` is a PNG or SVG of the declared type within the limits; else ValidationFailed."""
    media_type = _media_type(content_type)
    if media_type not in CONTENT_TYPES:
        raise _refuse(_("A logo must be sent as image/png or image/svg+xml."))
    if not data:
        raise _refuse(_("The logo is empty."))
    if len(data) > MAX_BYTES:
        raise _refuse(
            _("The logo is %(size)d KB; at most %(max)d KB is accepted.")
            % {"size": -(-len(data) // 1024), "max": MAX_BYTES // 1024}
        )
    looks_like_png = data.startswith(PNG_SIGNATURE)
    if media_type == PNG:
        if not looks_like_png:
            raise _refuse(_("The logo was sent as image/png but is not a PNG image."))
        _check_png(data)
    else:
        if looks_like_png:
            raise _refuse(_("The logo was sent as image/svg+xml but is a PNG image: send it as image/png."))
        _check_svg(data)
    return CheckedLogo(data=data, content_type=media_type, digest=hashlib.sha256(data).hexdigest())


def _check_png(data: bytes) -> None:
    try:
        with warnings.catch_warnings():
            # Pillow warns (rather than refuses) below its hard limit; a warning here is a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
                if width > MAX_PNG_SIDE or height > MAX_PNG_SIDE:
                    raise _refuse(
                        _("The logo is %(width)dx%(height)d pixels; at most %(max)dx%(max)d is accepted.")
                        % {"width": width, "height": height, "max": MAX_PNG_SIDE}
                    )
                # Decoding every pixel finds a truncated or corrupt image that the header alone would not.
                image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        raise _refuse(_("The logo is not a valid PNG image.")) from None


def _local(name: str) -> str:
    """An element's or attribute's name without its namespace, in lower case ("{ns}href" -> "href")."""
    return name.rsplit("}", 1)[-1].lower()


class _TreeBuilder(ET.TreeBuilder):
    """Counts processing instructions, before the root too, where the tree keeps none."""

    def __init__(self) -> None:
        super().__init__()
        self.processing_instructions = 0

    def pi(self, target: str, text: str | None = None) -> ET.Element:
        self.processing_instructions += 1
        return super().pi(target, text)


def _check_svg(data: bytes) -> None:
    declared = XML_ENCODING.match(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(_("The SVG logo must be UTF-8 text.")) from None
    if declared and declared.group(1).decode("ascii", "replace").lower() not in UTF8_NAMES:
        raise _refuse(_("The SVG logo must be UTF-8 text."))
    builder = _TreeBuilder()
    parser = XMLParser(target=builder, forbid_dtd=True)
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException:
        raise _refuse(_("The SVG logo must not contain a DOCTYPE, entities or external references.")) from None
    except ET.ParseError:
        raise _refuse(_("The logo is not a valid SVG image (the XML cannot be read).")) from None
    if not isinstance(root.tag, str) or root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise _refuse(_("The logo is not an SVG image: its root must be an <svg> element in the SVG namespace."))
    if builder.processing_instructions:
        # <?xml-stylesheet href="…"?> would load a stylesheet from elsewhere.
        raise _refuse(_("The SVG logo must not contain processing instructions."))
    for element in root.iter():
        name = _local(element.tag)
        if name in FORBIDDEN_ELEMENTS:
            element_name = element.tag.rsplit("}", 1)[-1]
            raise _refuse(_("The SVG logo must not contain a <%(element)s> element.") % {"element": element_name})
        if name == "style" and _external_style(element.text or ""):
            raise _refuse(_("The SVG logo's styles must not load anything (url() or @import)."))
        if name in ANIMATION_ELEMENTS and "href" in _local(element.get("attributeName", "")):
            raise _refuse(_("The SVG logo must not animate a link."))
        for attribute, value in element.attrib.items():
            _check_attribute(_local(attribute), value)


def _external_style(css: str) -> bool:
    return bool(EXTERNAL_URL.search(css) or IMPORT.search(css))


def _check_attribute(name: str, value: str) -> None:
    if name.startswith("on"):
        raise _refuse(_("The SVG logo must not contain event handlers (attribute %(name)s).") % {"name": name})
    if name == "href" and not value.strip().startswith("#"):
        raise _refuse(_("The SVG logo must not refer to anything outside itself (a link or href)."))
    if _external_style(value):
        raise _refuse(_("The SVG logo's styles must not load anything (url() or @import)."))


def bank_logo_set(*, actor: Actor, bank: Bank, data: bytes, content_type: str) -> Bank:
    """Check, scan and store the bank's logo (PNG or SVG); audited. The same image again changes nothing.

    ValidationFailed for a logo that is not a PNG or SVG within the rules, LogoMalwareFound (audited) for one
    the antivirus scanner flags, LogoNotScanned when the scanner cannot scan it.
    """
    logo = logo_check(data=data, content_type=content_type)
    # The scan is a network call: it runs before the transaction, holding no lock.
    logo_scan(actor=actor, bank=bank, logo=logo)
    return _logo_store(actor=actor, bank=bank, logo=logo)


def logo_scan(*, actor: Actor, bank: Bank, logo: CheckedLogo) -> None:
    """Have the antivirus scanner scan the logo (when one is configured); refuse it unless the scanner says clean."""
    try:
        result = antivirus_scan(logo.data)
    except ScannerUnavailable as exc:
        logger.error("The logo of bank %s was refused unscanned: %s", bank.code, exc)
        raise LogoNotScanned() from None
    if result is None or result.clean:
        return
    logger.warning("The logo of bank %s was refused: the antivirus scanner found %s", bank.code, result.signature)
    _logo_refused_record(actor=actor, bank=bank, logo=logo, signature=result.signature)
    message = _("The logo was refused: the antivirus scanner found known malicious content in it.")
    raise LogoMalwareFound({FIELD: message}, message)


@transaction.atomic
def _logo_refused_record(*, actor: Actor, bank: Bank, logo: CheckedLogo, signature: str) -> None:
    # A transaction of its own: the refusal raised next must not take its audit row with it.
    audit_record(
        actor=actor,
        action="banks.bank.logo_refused",
        obj=bank,
        after={
            "signature": signature[:200],
            "content_type": logo.content_type,
            "digest": logo.digest,
            "size": len(logo.data),
        },
    )


@transaction.atomic
def _logo_store(*, actor: Actor, bank: Bank, logo: CheckedLogo) -> Bank:
    bank = Bank.objects.select_for_update().get(pk=bank.pk)
    if bank.logo_digest == logo.digest and bank.logo_content_type == logo.content_type:
        return bank
    before = {"content_type": bank.logo_content_type, "digest": bank.logo_digest}
    bank.logo = logo.data
    bank.logo_content_type = logo.content_type
    bank.logo_digest = logo.digest
    bank.save(update_fields=["logo", "logo_content_type", "logo_digest", "updated_at"])
    # Every logo the bank has had stays findable by its digest (a statement issued under it shows it).
    BankLogo.objects.get_or_create(
        bank=bank, digest=logo.digest, defaults={"content_type": logo.content_type, "data": logo.data}
    )
    audit_record(
        actor=actor,
        action="banks.bank.logo_changed",
        obj=bank,
        before=before,
        after={"content_type": logo.content_type, "digest": logo.digest, "size": len(logo.data)},
    )
    return bank
