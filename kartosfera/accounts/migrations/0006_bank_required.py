from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    """The second half of 0005_banks: constraints after the data moved (PostgreSQL refuses to alter a table
    with the data migration's deferred foreign-key checks still pending in the same transaction)."""

    dependencies = [
        ("accounts", "0005_banks"),
    ]

    operations = [
        migrations.AlterField(
            model_name='account',
            name='bank',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='accounts', to='banks.bank', verbose_name='bank'),
        ),
        migrations.AlterField(
            model_name='account',
            name='reference',
            field=models.CharField(max_length=64, verbose_name='bank account reference'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.UniqueConstraint(fields=('bank', 'reference'), name='account_reference_unique_per_bank'),
        ),
    ]
