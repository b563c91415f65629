import datetime as dt

from django.db import migrations, models


def set_spans_days(apps, schema_editor):
    # Multi-day dates (end - start > 1 day) get the flag the listing's "happening
    # now" query relies on (events.models.MULTI_DAY, events.selectors).
    Occurrence = apps.get_model("events", "Occurrence")
    Occurrence.objects.filter(end__gt=models.F("start") + dt.timedelta(days=1)).update(spans_days=True)


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0003_seed_reference_data"),
        ("venues", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="occurrence",
            name="spans_days",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.RunPython(set_spans_days, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="occurrence",
            index=models.Index(
                condition=models.Q(("spans_days", True)), fields=["start"], name="occurrence_spans_days_start"
            ),
        ),
    ]
