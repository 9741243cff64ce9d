"""The id of the PIN key that made each stored PIN verification value (docs/pin.md, "Changing the PIN key").

The migration cannot know the key (it is not in the database, and the migration may run elsewhere), so the
values already stored keep a null id, which means "made under the one key there was before ids": the oldest
(last) key of CARD_PIN_KEY. The first right PIN rewrites each under the newest key with its id;
`manage.py pin_key_usage` counts the rest under the oldest key.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0012_card_pin_binding"),
    ]

    operations = [
        migrations.AddField(
            model_name="card",
            name="pin_key_id",
            field=models.CharField(blank=True, editable=False, max_length=8, null=True),
        ),
    ]
