from django.db import migrations, models



class Migration(migrations.Migration):
    """The second half of 0002_banks: constraints after the data moved (PostgreSQL refuses to alter a table
    with the data migration's deferred foreign-key checks still pending in the same transaction)."""

    dependencies = [
        ("backoffice", "0002_banks"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='staffmember',
            constraint=models.CheckConstraint(condition=models.Q(('bank__isnull', False), ('role', 'agent'), _negated=True), name='staff_agent_is_group'),
        ),
        migrations.AddConstraint(
            model_name='staffmember',
            constraint=models.CheckConstraint(condition=models.Q(('bank__isnull', True), ('role', 'branch'), _negated=True), name='staff_branch_has_bank'),
        ),
    ]
