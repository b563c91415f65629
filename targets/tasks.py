"""Thin tasks: they take ids, call a service and are safe to run twice
(acks_late: a task whose worker was lost is delivered again)."""

from celery import shared_task

from targets.report import report_reminders_send, report_run_build


@shared_task(name="targets.report_build", acks_late=True)
def report_build(run_id: int, language: str | None = None) -> str | None:
    """Build the annual report of ReportRun `run_id` (in `language`, Vietnamese
    by default). A run already done or failed is left alone."""
    run = report_run_build(run_id=run_id, language=language)
    return run.status if run is not None else None


@shared_task(name="targets.report_reminders_task", acks_late=True)
def report_reminders_task() -> int:
    """Periodic (daily): on 1/11, and on 1/12 for units without a built report,
    e-mail the officers that the annual report is due before 10/12."""
    return report_reminders_send()
