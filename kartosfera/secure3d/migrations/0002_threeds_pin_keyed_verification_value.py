"""The 3DS PIN is kept as a keyed verification value instead of an Argon2 hash (docs/decisions/0008).

An Argon2 hash cannot be turned into the keyed value without the PIN, and the
PIN is never kept: a 3DS PIN set before this migration is cleared (the holder
sets it again). No release carried the Argon2 form (0.1.0 was never tagged).
"""

from django.db import migrations, models


def clear_hashed_pins(apps, schema_editor):
    ThreeDSProfile = apps.get_model("secure3d", "ThreeDSProfile")
    ThreeDSProfile.objects.exclude(pin_hash="").update(pin_hash="", pin_set_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("secure3d", "0001_threeds_profile_and_trusted_merchants"),
    ]

    operations = [
        migrations.RunPython(clear_hashed_pins, migrations.RunPython.noop),
        migrations.RemoveField(model_name="threedsprofile", name="pin_hash"),
        migrations.AddField(
            model_name="threedsprofile",
            name="pin_verification_value",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
    ]
