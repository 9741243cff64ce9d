from django.db import migrations


def rename_scope(apps, schema_editor):
    # The card processor's scope is named after its API (/api/processor/v1/): "authorization" → "processor".
    ApiKey = apps.get_model("api", "ApiKey")
    for key in ApiKey.objects.all():
        if "authorization" in key.scopes:
            key.scopes = sorted({"processor" if s == "authorization" else s for s in key.scopes})
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("api", "0001_api_keys_and_idempotency_records")]

    operations = [migrations.RunPython(rename_scope, migrations.RunPython.noop)]
