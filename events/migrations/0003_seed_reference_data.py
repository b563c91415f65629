from django.db import migrations

AUDIENCES = ["children", "students", "adults", "elderly", "disabilities", "minorities", "families"]

# The days the plans ask venues to mark (PRODUCT.md; Decision 1520/QĐ-TTg).
COMMEMORATIVE_DAYS = [
    ("lifelong-learning-week", "Tuần lễ hưởng ứng học tập suốt đời", "Lifelong Learning Week", 10, 1, 7),
    ("ethnic-cultures-day", "Ngày Văn hóa các dân tộc Việt Nam (19/4)", "Vietnam Ethnic Cultures Day (19/4)", 4, 19, 1),
    ("book-reading-day", "Ngày Sách và Văn hóa đọc Việt Nam (21/4)", "Vietnam Book and Reading Culture Day (21/4)", 4, 21, 1),
    ("world-book-day", "Ngày Sách và Bản quyền thế giới (23/4)", "World Book and Copyright Day (23/4)", 4, 23, 1),
    ("museum-day", "Ngày Quốc tế Bảo tàng (18/5)", "International Museum Day (18/5)", 5, 18, 1),
    ("heritage-day", "Ngày Di sản văn hóa Việt Nam (23/11)", "Vietnam Cultural Heritage Day (23/11)", 11, 23, 1),
]


def seed(apps, schema_editor):
    Audience = apps.get_model("events", "Audience")
    CommemorativeDay = apps.get_model("events", "CommemorativeDay")
    for code in AUDIENCES:
        Audience.objects.get_or_create(code=code)
    for slug, name_vi, name_en, month, day, length in COMMEMORATIVE_DAYS:
        CommemorativeDay.objects.update_or_create(
            slug=slug,
            defaults={"name_vi": name_vi, "name_en": name_en, "month": month, "day": day, "length_days": length},
        )


class Migration(migrations.Migration):
    dependencies = [("events", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
