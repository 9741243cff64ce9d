"""The demo's three cooperative banks of the group: their identifiers, helplines, branches and logos.

All of it is fictional: the towns do not exist, the settlement numbers, NIPs and REGONs are made up but
pass their check digits (a test checks each through kartosfera/banks/validators.py), the websites are
under the reserved .example domain, and the phone numbers use the area code 99, which Poland does not use.
Each bank is looked up by its code before it is created, so loading twice changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from kartosfera.banks.models import Bank, Branch
from kartosfera.banks.services import BANK_FIELDS, bank_create, bank_update, branch_create
from kartosfera.core.audit import Actor, audit_record

DEMO_ACTOR = Actor.system("demo")
LOGO_DIR = Path(__file__).resolve().parent / "logos"
SVG = "image/svg+xml"

# The bank most demo customers belong to, and the two others.
DEMOWO = "BSDEMO"
WZOROWO = "BSWZOROWO"
PROBKOWICE = "BSPROBKOWICE"


@dataclass(frozen=True)
class BranchSpec:
    name: str
    street: str
    postal_code: str
    city: str
    phone: str
    opening_hours: str


@dataclass(frozen=True)
class BankSpec:
    code: str
    name: str
    short_name: str
    settlement_number: str
    registered_address: str
    krs: str
    nip: str
    regon: str
    website: str
    sms_sender: str
    brand_colour: str
    # Blank: the group's helplines answer for the bank (settings HELPLINE_PHONE, CARD_BLOCKING_PHONE).
    helpline_phone: str = ""
    card_blocking_phone: str = ""
    branches: tuple[BranchSpec, ...] = field(default=())

    @property
    def logo_path(self) -> Path:
        return LOGO_DIR / f"{self.code}.svg"

    def values(self) -> dict[str, str]:
        """The bank's fields as bank_create and bank_update take them."""
        return {name: getattr(self, name) for name in BANK_FIELDS}


WEEKDAYS = "pon.-pt. 8:00-16:00"

BANKS: tuple[BankSpec, ...] = (
    BankSpec(
        code=DEMOWO,
        name="Bank Spółdzielczy w Demowie",
        short_name="BS Demowo",
        settlement_number="89990003",
        registered_address="ul. Przykładowa 1, 99-100 Demowo",
        krs="0000999001",
        nip="9990001019",
        regon="999000101",
        website="https://bs-demowo.example/",
        sms_sender="BS Demowo",
        brand_colour="#1B5E20",
        helpline_phone="+48 99 100 10 00",
        card_blocking_phone="+48 99 100 10 01",
        branches=(
            BranchSpec("Centrala", "ul. Przykładowa 1", "99-100", "Demowo", "+48 99 100 10 10",
                       "pon.-pt. 8:00-17:00"),
            BranchSpec("Oddział w Testowie", "ul. Lipowa 3", "99-110", "Testowo", "+48 99 100 20 10", WEEKDAYS),
            BranchSpec("Punkt Obsługi Klienta Demowo-Osiedle", "al. Słoneczna 27", "99-101", "Demowo",
                       "+48 99 100 30 10", "pon.-pt. 10:00-18:00, sob. 9:00-13:00"),
        ),
    ),
    BankSpec(
        code=WZOROWO,
        name="Bank Spółdzielczy we Wzorowie",
        short_name="BS Wzorowo",
        settlement_number="89980004",
        registered_address="Rynek 5, 99-200 Wzorowo",
        krs="0000999002",
        nip="9990001025",
        regon="999000207",
        website="https://bs-wzorowo.example/",
        sms_sender="BS Wzorowo",
        brand_colour="#0D47A1",
        helpline_phone="+48 99 200 20 00",
        card_blocking_phone="+48 99 200 20 01",
        branches=(
            BranchSpec("Centrala", "Rynek 5", "99-200", "Wzorowo", "+48 99 200 20 10", WEEKDAYS),
            BranchSpec("Oddział w Makietach", "ul. Kolejowa 8", "99-220", "Makiety", "+48 99 200 30 10",
                       "pon., śr., pt. 8:00-15:00"),
        ),
    ),
    # No helplines of its own: its customers call the group's contact centre.
    BankSpec(
        code=PROBKOWICE,
        name="Bank Spółdzielczy w Próbkowicach",
        short_name="BS Próbkowice",
        settlement_number="89970005",
        registered_address="ul. Kościelna 12, 99-300 Próbkowice",
        krs="0000999003",
        nip="9990001031",
        regon="999000302",
        website="https://bs-probkowice.example/",
        sms_sender="BSProbkowic",
        brand_colour="#8E1B3A",
        branches=(
            BranchSpec("Centrala", "ul. Kościelna 12", "99-300", "Próbkowice", "+48 99 300 30 10", WEEKDAYS),
            BranchSpec("Filia w Szkicowie", "ul. Polna 2", "99-320", "Szkicowo", "+48 99 300 40 10",
                       "wt., czw. 9:00-14:00"),
        ),
    ),
)  # fmt: skip

BANK_SPECS = {spec.code: spec for spec in BANKS}


def _set_logo(bank: Bank, path: Path) -> bool:
    """Store the SVG at ``path`` as the bank's logo unless it is already the logo; True if it changed.

    Written directly (with its audit row) because this branch has no logo service yet. When
    kartosfera/banks/logos.py with ``bank_logo_set`` exists, replace the body below the digest
    check with one call to it (it validates the image and writes the same audit action).
    """
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if bank.logo_digest == digest:
        return False
    before = {"content_type": bank.logo_content_type, "digest": bank.logo_digest}
    Bank.objects.filter(pk=bank.pk).update(logo=content, logo_content_type=SVG, logo_digest=digest)
    bank.logo, bank.logo_content_type, bank.logo_digest = content, SVG, digest
    audit_record(
        actor=DEMO_ACTOR,
        action="banks.bank.logo_changed",
        obj=bank,
        before=before,
        after={"content_type": SVG, "digest": digest},
    )
    return True


@dataclass
class BankLoadCounts:
    banks: int = 0
    branches: int = 0
    logos: int = 0


def demo_bank_load_one(spec: BankSpec, counts: BankLoadCounts) -> Bank:
    """Create (or bring up to date) one demo bank with its branches and logo, through the services."""
    bank = Bank.objects.filter(code=spec.code).first()
    if bank is None:
        bank = bank_create(actor=DEMO_ACTOR, code=spec.code, **spec.values())
        counts.banks += 1
    else:
        # A bank from an older demo (e.g. without its identifiers) is completed, not duplicated; an
        # up-to-date one is left alone, so that loading again writes nothing.
        stale = {name: value for name, value in spec.values().items() if (getattr(bank, name) or "") != value}
        if stale:
            bank = bank_update(actor=DEMO_ACTOR, bank=bank, **stale)
    known = set(Branch.objects.filter(bank=bank).values_list("name", flat=True))
    for branch in spec.branches:
        if branch.name not in known:
            branch_create(
                actor=DEMO_ACTOR,
                bank=bank,
                name=branch.name,
                street=branch.street,
                postal_code=branch.postal_code,
                city=branch.city,
                phone=branch.phone,
                opening_hours=branch.opening_hours,
            )
            counts.branches += 1
    if _set_logo(bank, spec.logo_path):
        counts.logos += 1
    return bank


def demo_bank(code: str = DEMOWO) -> Bank:
    """The demo bank ``code`` (by default the one most demo customers belong to), loaded if missing."""
    bank = Bank.objects.filter(code=code).first()
    return bank if bank is not None else demo_bank_load_one(BANK_SPECS[code], BankLoadCounts())
