from django.db import migrations, models
from django.db.models import F


def bind_to_the_current_fingerprint(apps, schema_editor):
    # Every stored PIN verification value was made with the card's current fingerprint: keep binding it to that.
    Card = apps.get_model("cards", "Card")
    Card.objects.update(pin_binding=F("pan_fingerprint"))


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0011_finer_controls"),
    ]

    operations = [
        migrations.AddField(
            model_name="card",
            name="pin_binding",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(bind_to_the_current_fingerprint, migrations.RunPython.noop, elidable=False),
    ]
