"""Reads about venues and who may act on them.

Every staff page and API endpoint asks these functions, so the rules of who
sees what live in one place.
"""

from django.db.models import Q, QuerySet

from venues.models import AdminUnit, StaffRole, Venue

# What a role allows at a venue. Officers read; managers run the venue; door
# staff scan and count.
VIEW = "view"
MANAGE = "manage"
DOOR = "door"

_CAPABILITIES = {
    StaffRole.Role.MANAGER: {VIEW, MANAGE, DOOR},
    StaffRole.Role.DOOR: {VIEW, DOOR},
    StaffRole.Role.OFFICER: {VIEW},
}


def venues_in_unit_q(unit: AdminUnit, prefix: str = "") -> Q:
    """A filter for venues located in `unit` (a province includes its communes)."""
    if unit.level == AdminUnit.Level.PROVINCE:
        return Q(**{f"{prefix}admin_unit": unit}) | Q(**{f"{prefix}admin_unit__parent": unit})
    if unit.level == AdminUnit.Level.GROUP:
        return Q(**{f"{prefix}admin_unit__groups": unit})
    return Q(**{f"{prefix}admin_unit": unit})


def venues_for_user(user, capability: str = VIEW) -> QuerySet[Venue]:
    """Venues on which `user` has `capability` (view, manage or door)."""
    if not user.is_authenticated or not user.is_active:
        return Venue.objects.none()
    if user.is_superuser:
        return Venue.objects.all()
    roles = roles_with(capability)
    condition = Q(pk__in=[])
    for staff_role in StaffRole.objects.filter(user=user, role__in=roles).select_related("admin_unit"):
        if staff_role.venue_id:
            condition |= Q(pk=staff_role.venue_id)
        else:
            condition |= venues_in_unit_q(staff_role.admin_unit)
    return Venue.objects.filter(condition).distinct()


def roles_with(capability: str) -> list[str]:
    """The roles that give `capability`."""
    return [r for r, caps in _CAPABILITIES.items() if capability in caps]


def venues_by_slug_for_user(user, capability: str) -> dict[str, Venue] | None:
    """The venues of `user`'s own venue roles with `capability`, by slug, read in one
    query (for hot paths such as the door API); None means every venue (superuser).
    Only for capabilities that unit-wide (officer) roles do not give."""
    if capability in _CAPABILITIES[StaffRole.Role.OFFICER]:
        raise ValueError(f"{capability!r} is also given by unit-wide roles; use venues_for_user.")
    if not user.is_authenticated or not user.is_active:
        return {}
    if user.is_superuser:
        return None
    return {
        role.venue.slug: role.venue
        for role in StaffRole.objects.filter(
            user=user, role__in=roles_with(capability), venue__isnull=False
        ).select_related("venue")
    }


def user_can(user, capability: str, venue: Venue) -> bool:
    return venues_for_user(user, capability).filter(pk=venue.pk).exists()


def units_for_user(user) -> QuerySet[AdminUnit]:
    """Administrative units an officer oversees."""
    if user.is_superuser:
        return AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE)
    return AdminUnit.objects.filter(
        staff_roles__user=user, staff_roles__role=StaffRole.Role.OFFICER
    ).distinct()


def is_staff_member(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.staff_roles.exists())
