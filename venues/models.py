from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class AdminUnit(models.Model):
    """A unit of government (province, commune/ward) or a grouping used for reporting.

    Provinces and communes come from the `vietnam-provinces` package (the map since
    1 July 2025). A grouping unit (e.g. a former district) belongs to a province and
    lists the communes it groups; it exists for reporting and never owns a venue.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province / city")
        COMMUNE = "commune", _("Commune / ward")
        GROUP = "group", _("Reporting group")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    division_type = models.CharField(_("division type"), max_length=50, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    members = models.ManyToManyField(
        "self",
        verbose_name=_("grouped communes"),
        blank=True,
        symmetrical=False,
        related_name="groups",
        limit_choices_to={"level": "commune"},
        help_text=_("Only for reporting groups."),
    )

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["name"]
        indexes = [models.Index(fields=["level", "name"])]

    def __str__(self):
        return self.name

    def clean(self):
        if self.level == self.Level.PROVINCE and self.parent_id:
            raise ValidationError({"parent": _("A province has no parent.")})
        if self.level != self.Level.PROVINCE and not self.parent_id:
            raise ValidationError({"parent": _("Communes and groups belong to a province.")})

    @property
    def province(self):
        return self if self.level == self.Level.PROVINCE else self.parent


class Venue(models.Model):
    class Kind(models.TextChoices):
        LIBRARY = "library", _("Library")
        MUSEUM = "museum", _("Museum")
        CULTURE_CENTRE = "culture_centre", _("Culture centre / house")
        LEARNING_CENTRE = "learning_centre", _("Community learning centre")
        OTHER = "other", _("Other")

    # A venue's tier is its own attribute: the plans still speak of district
    # libraries although districts no longer exist on the map.
    class Tier(models.TextChoices):
        PROVINCIAL = "provincial", _("Provincial")
        DISTRICT = "district", _("District")
        COMMUNE = "commune", _("Commune")
        SCHOOL = "school", _("School")
        UNIVERSITY = "university", _("College / university")
        ARMED_FORCES = "armed_forces", _("Armed forces / police")
        PRIVATE = "private", _("Private")

    class Ownership(models.TextChoices):
        PUBLIC = "public", _("Public")
        PRIVATE = "private", _("Private")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices)
    ownership = models.CharField(
        _("ownership"), max_length=10, choices=Ownership.choices, default=Ownership.PUBLIC
    )
    admin_unit = models.ForeignKey(
        AdminUnit,
        verbose_name=_("administrative unit"),
        on_delete=models.PROTECT,
        related_name="venues",
        limit_choices_to={"level__in": ["province", "commune"]},
    )
    address = models.CharField(_("address"), max_length=300)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    opening_hours = models.TextField(_("opening hours"), blank=True)
    accessibility = models.TextField(_("accessibility notes"), blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    calendar = models.OneToOneField(
        "schedule.Calendar", on_delete=models.PROTECT, related_name="venue", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(latitude__isnull=True) & models.Q(longitude__isnull=True))
                | (models.Q(latitude__isnull=False) & models.Q(longitude__isnull=False)),
                name="venue_coordinates_both_or_none",
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("public:venue_detail", args=[self.slug])

    def save(self, *args, **kwargs):
        # Every venue publishes on its own django-scheduler calendar.
        if not self.calendar_id:
            from schedule.models import Calendar

            self.calendar = Calendar.objects.create(name=self.name[:200], slug=f"venue-{self.slug}"[:200])
        super().save(*args, **kwargs)

    @property
    def has_coordinates(self):
        return self.latitude is not None and self.longitude is not None

    @property
    def map_url(self):
        if self.has_coordinates:
            return f"https://www.openstreetmap.org/?mlat={self.latitude}&mlon={self.longitude}#map=17/{self.latitude}/{self.longitude}"
        from urllib.parse import quote

        return f"https://www.openstreetmap.org/search?query={quote(self.address)}"


class StaffRole(models.Model):
    """What a user may do, and where.

    Managers and door staff work at one venue; a department officer oversees
    every venue in an administrative unit (and its communes).
    """

    class Role(models.TextChoices):
        MANAGER = "manager", _("Venue manager")
        DOOR = "door", _("Door staff")
        OFFICER = "officer", _("Department officer")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    venue = models.ForeignKey(
        Venue, verbose_name=_("venue"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="staff_roles",
    )
    admin_unit = models.ForeignKey(
        AdminUnit,
        verbose_name=_("administrative unit"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="staff_roles",
    )

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role__in=["manager", "door"], venue__isnull=False, admin_unit__isnull=True)
                    | models.Q(role="officer", venue__isnull=True, admin_unit__isnull=False)
                ),
                name="staffrole_scope_matches_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "venue", "admin_unit"], name="staffrole_unique"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.venue or self.admin_unit}"

    def clean(self):
        if self.role == self.Role.OFFICER:
            if not self.admin_unit_id or self.venue_id:
                raise ValidationError(_("An officer is scoped to an administrative unit, not a venue."))
        elif not self.venue_id or self.admin_unit_id:
            raise ValidationError(_("Managers and door staff are scoped to one venue."))
