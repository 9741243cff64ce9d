"""The statement close's charges as posting kinds: interest and fees (docs/statements.md).

SQLite rebuilds the posting table to alter it, which drops the append-only triggers of
0007_ledger_append_only: the first operation leaves them out (and puts them back when this
migration is unapplied), the last one creates them again (as 0009 and 0011 do).
"""

import django.db.models.expressions
from django.db import migrations, models

from kartosfera.core.append_only import (
    RunSQLForVendor,
    sqlite_append_only_triggers,
    sqlite_append_only_triggers_drop,
)

SQLITE_TRIGGERS = sqlite_append_only_triggers("processing_posting")
SQLITE_NO_TRIGGERS = sqlite_append_only_triggers_drop("processing_posting")


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0006_bank_required'),
        ('cards', '0010_nbp_reference_rate'),
        ('processing', '0011_repayments'),
    ]

    operations = [
        RunSQLForVendor("sqlite", SQLITE_NO_TRIGGERS, SQLITE_TRIGGERS),
        migrations.RemoveConstraint(
            model_name='posting',
            name='posting_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='posting',
            name='posting_source_consistent',
        ),
        migrations.AlterField(
            model_name='posting',
            name='kind',
            field=models.CharField(choices=[('clearing', 'Payment settled'), ('force_post', 'Payment settled without authorization'), ('refund', 'Refund'), ('chargeback', 'Returned after a complaint'), ('clearing_reversal', 'Charge corrected'), ('bank_credit', 'Credit booked by the bank'), ('bank_debit', 'Debit booked by the bank'), ('repayment', 'Repayment'), ('interest', 'Interest'), ('fee', 'Fee')], max_length=24, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['clearing', 'force_post', 'refund', 'chargeback', 'clearing_reversal', 'bank_credit', 'bank_debit', 'repayment', 'interest', 'fee'])), name='posting_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('bank_reference', ''), ('card__isnull', False), ('kind__in', ('clearing', 'force_post', 'refund', 'chargeback', 'clearing_reversal')), ('record_id__isnull', False)), models.Q(('card__isnull', True), ('kind__in', ('bank_credit', 'bank_debit', 'repayment', 'interest', 'fee')), ('record_id__isnull', True), models.Q(('bank_reference', ''), _negated=True)), _connector='OR'), name='posting_source_consistent'),
        ),
        RunSQLForVendor("sqlite", SQLITE_TRIGGERS, SQLITE_NO_TRIGGERS),
    ]
