from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    """The second half of 0007_banks: constraints after the data moved (PostgreSQL refuses to alter a table
    with the data migration's deferred foreign-key checks still pending in the same transaction)."""

    dependencies = [
        ("cards", "0007_banks"),
    ]

    operations = [
        migrations.AlterField(
            model_name='card',
            name='bank',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='banks.bank', verbose_name='issuing bank'),
        ),
        migrations.AlterField(
            model_name='cardproduct',
            name='bank',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='card_products', to='banks.bank', verbose_name='issuing bank'),
        ),
        migrations.AlterField(
            model_name='card',
            name='reference',
            field=models.CharField(max_length=64, verbose_name='bank card reference'),
        ),
        migrations.AlterField(
            model_name='cardproduct',
            name='code',
            field=models.CharField(max_length=32, verbose_name='product code'),
        ),
        migrations.AddConstraint(
            model_name='card',
            constraint=models.UniqueConstraint(fields=('bank', 'reference'), name='card_reference_unique_per_bank'),
        ),
        migrations.AddConstraint(
            model_name='cardproduct',
            constraint=models.UniqueConstraint(fields=('bank', 'code'), name='product_code_unique_per_bank'),
        ),
    ]
