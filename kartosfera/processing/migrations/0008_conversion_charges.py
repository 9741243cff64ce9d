"""CBPR2: the ECB reference rates, each converted payment's charge over them, and the monthly message."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0002_failed_sms_text_wiped'),
        ('cards', '0005_card_staff_cancel_reasons'),
        ('processing', '0007_ledger_append_only'),
    ]

    operations = [
        migrations.CreateModel(
            name='ConversionCharge',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_currency', models.CharField(max_length=3, verbose_name='payment currency')),
                ('to_currency', models.CharField(choices=[('PLN', 'Polish złoty'), ('EUR', 'Euro')], max_length=3, verbose_name='account currency')),
                ('applied_rate', models.DecimalField(decimal_places=12, max_digits=24, verbose_name='rate applied')),
                ('reference_rate', models.DecimalField(decimal_places=12, max_digits=24, verbose_name='ECB reference rate')),
                ('reference_date', models.DateField(verbose_name='ECB reference date')),
                ('markup_percent', models.DecimalField(decimal_places=2, max_digits=28, verbose_name='mark-up over the ECB rate (%)')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
            ],
            options={
                'verbose_name': 'conversion charge',
                'verbose_name_plural': 'conversion charges',
            },
        ),
        migrations.CreateModel(
            name='ConversionNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3, verbose_name='payment currency')),
                ('month', models.DateField(verbose_name='month')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
            ],
            options={
                'verbose_name': 'conversion charge message',
                'verbose_name_plural': 'conversion charge messages',
            },
        ),
        migrations.CreateModel(
            name='EcbReferenceRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3, verbose_name='currency')),
                ('rate', models.DecimalField(decimal_places=9, max_digits=18, verbose_name='units per euro')),
                ('rate_date', models.DateField(verbose_name='reference date')),
                ('available_from', models.DateTimeField(verbose_name='available from')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created at')),
            ],
            options={
                'verbose_name': 'ECB reference rate',
                'verbose_name_plural': 'ECB reference rates',
                'ordering': ['currency', '-rate_date'],
            },
        ),
        migrations.AddField(
            model_name='conversioncharge',
            name='authorization',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='conversion_charge', to='processing.authorization'),
        ),
        migrations.AddField(
            model_name='conversionnotice',
            name='authorization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='conversion_notices', to='processing.authorization'),
        ),
        migrations.AddField(
            model_name='conversionnotice',
            name='card',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='conversion_notices', to='cards.card'),
        ),
        migrations.AddField(
            model_name='conversionnotice',
            name='sms',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='notifications.outboundsms'),
        ),
        migrations.AddIndex(
            model_name='ecbreferencerate',
            index=models.Index(fields=['currency', '-available_from'], name='ecb_rate_currency_available'),
        ),
        migrations.AddConstraint(
            model_name='ecbreferencerate',
            constraint=models.UniqueConstraint(fields=('currency', 'rate_date'), name='ecb_rate_unique_per_day'),
        ),
        migrations.AddConstraint(
            model_name='ecbreferencerate',
            constraint=models.CheckConstraint(condition=models.Q(('rate__gt', 0)), name='ecb_rate_positive'),
        ),
        migrations.AddConstraint(
            model_name='ecbreferencerate',
            constraint=models.CheckConstraint(condition=models.Q(('currency', 'EUR'), _negated=True), name='ecb_rate_not_euro'),
        ),
        migrations.AddConstraint(
            model_name='conversioncharge',
            constraint=models.CheckConstraint(condition=models.Q(('applied_rate__gt', 0), ('reference_rate__gt', 0)), name='conversion_charge_rates_positive'),
        ),
        migrations.AddConstraint(
            model_name='conversionnotice',
            constraint=models.UniqueConstraint(fields=('card', 'currency', 'month'), name='conversion_notice_once_a_month'),
        ),
    ]
