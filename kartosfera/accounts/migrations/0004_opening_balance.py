"""The balance an account was opened with: the start of its ledger (docs/decisions/0013).

An existing account's opening balance is what makes balance = opening balance + the sum
of its postings hold today.
"""

from django.db import migrations, models
from django.db.models import Sum


def opening_balances(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    Posting = apps.get_model("processing", "Posting")
    for account in Account.objects.all().iterator():
        posted = Posting.objects.filter(account_id=account.pk).aggregate(total=Sum("balance_change_minor"))["total"]
        Account.objects.filter(pk=account.pk).update(opening_balance_minor=account.balance_minor - (posted or 0))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_account_held'),
        ('processing', '0002_postings_ledger'),
    ]

    operations = [
        migrations.AddField(
            model_name='account',
            name='opening_balance_minor',
            field=models.BigIntegerField(default=0, editable=False, verbose_name='opening balance (minor units)'),
        ),
        migrations.RunPython(opening_balances, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('opening_balance_minor__gte', -1000000000000000), ('opening_balance_minor__lte', 1000000000000000)), name='account_opening_balance_within_max'),
        ),
    ]
