from django.db import migrations

from kartosfera.banks.legacy import default_bank


def provisioning_keys_at_the_default_bank(apps, schema_editor):
    """Keys of the bank's core system (provisioning only) become the default bank's keys.

    Before banks existed, a provisioning key was the one bank's core system: left a group key, it would
    have to name its bank with X-Bank-Code on every call and would stop working on upgrade. Keys with
    the processor scope are the card processor's, a system of the group: they stay group keys.
    """
    key_model = apps.get_model("api", "ApiKey")
    keys = [key for key in key_model.objects.filter(bank__isnull=True) if list(key.scopes or []) == ["provisioning"]]
    if not keys:
        return
    bank = default_bank(apps)
    key_model.objects.filter(pk__in=[key.pk for key in keys]).update(bank=bank)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0003_banks"),
    ]

    operations = [
        migrations.RunPython(provisioning_keys_at_the_default_bank, migrations.RunPython.noop),
    ]
