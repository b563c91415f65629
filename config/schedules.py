"""Every periodic task of the product, declared in one place.

`manage.py sync_periodic_tasks` writes them into django-celery-beat's tables
(idempotent), so `celery beat` with the database scheduler runs them and staff
can pause one from the admin.
"""

PERIODIC_TASKS = {
    "Materialise occurrences to the horizon": {
        "task": "events.occurrences_extend_horizon_task",
        "crontab": {"minute": "15", "hour": "2"},
    },
    "Erase personal data of past registrations": {
        "task": "attendance.registrations_erase_personal_data_task",
        "crontab": {"minute": "30", "hour": "3"},
    },
    "Record the SMS reminders that are due": {
        "task": "notifications.reminders_dispatch_task",
        "crontab": {"minute": "*"},
    },
    "Sweep the outbox (pending messages no worker took, lost workers)": {
        "task": "notifications.outbox_sweep_task",
        "crontab": {"minute": "*/2"},
    },
    # Daily in November and December: the reminder of 1/11 (and of 1/12 for units
    # without a built report) goes once per officer; a day the scheduler missed is
    # caught up the next day (targets.report.reminder_date).
    "Remind officers that the annual report is due before 10/12": {
        "task": "targets.report_reminders_task",
        "crontab": {"minute": "0", "hour": "8", "month_of_year": "11,12"},
    },
}
