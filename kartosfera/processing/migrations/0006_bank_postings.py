"""The bank's own postings share the ledger with the card scheme's (docs/decisions/0013).

A posting is either the card scheme's (a card and the processor's record id) or the bank's
(the bank's reference, unique per account, and neither of those); the bank's credit
credits the account like a refund.
"""

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cards', '0006_card_psd2_counters'),
        ('processing', '0005_authorization_reviews'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='posting',
            name='posting_kind_valid',
        ),
        migrations.RemoveConstraint(
            model_name='posting',
            name='posting_balance_change_sign',
        ),
        migrations.AddField(
            model_name='posting',
            name='bank_reference',
            field=models.CharField(blank=True, max_length=64, verbose_name="bank's reference"),
        ),
        migrations.AddField(
            model_name='posting',
            name='description',
            field=models.CharField(blank=True, max_length=140, verbose_name='description'),
        ),
        migrations.AlterField(
            model_name='posting',
            name='card',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='cards.card'),
        ),
        migrations.AlterField(
            model_name='posting',
            name='kind',
            field=models.CharField(choices=[('clearing', 'Payment settled'), ('force_post', 'Payment settled without authorization'), ('refund', 'Refund'), ('bank_credit', 'Credit booked by the bank'), ('bank_debit', 'Debit booked by the bank')], max_length=16, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='posting',
            name='record_id',
            field=models.CharField(blank=True, max_length=64, null=True, unique=True, verbose_name='clearing record id'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['clearing', 'force_post', 'refund', 'bank_credit', 'bank_debit'])), name='posting_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('bank_reference', ''), ('card__isnull', False), ('kind__in', ('clearing', 'force_post', 'refund')), ('record_id__isnull', False)), models.Q(('card__isnull', True), ('kind__in', ('bank_credit', 'bank_debit')), ('record_id__isnull', True), models.Q(('bank_reference', ''), _negated=True)), _connector='OR'), name='posting_source_consistent'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.UniqueConstraint(condition=models.Q(('bank_reference', ''), _negated=True), fields=('account', 'bank_reference'), name='posting_bank_reference_unique'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('refund', 'bank_credit')), ('balance_change_minor', models.F('billing_amount_minor'))), models.Q(models.Q(('kind__in', ('refund', 'bank_credit')), _negated=True), ('balance_change_minor', django.db.models.expressions.CombinedExpression(models.F('billing_amount_minor'), '*', models.Value(-1)))), _connector='OR'), name='posting_balance_change_sign'),
        ),
    ]
